// The node's view of its log (etcd's raftLog): the durable entries in RaftStorage followed by the
// unstable ones (appended or received, not yet handed to the application to persist), plus the
// commit and applied indexes. Every method tolerates any index: a malformed one gives undefined or
// false, never an assert, since indexes come from the network.
import type { RaftEntry, RaftSnapshot, RaftStorage } from "./raft-types.js";

/** Entries not yet durable: an optional incoming snapshot and the entries from `offset` on. */
interface Unstable {
  snapshot: RaftSnapshot | undefined;
  entries: RaftEntry[];
  /** The index of entries[0] (the index after the durable log when there are none). */
  offset: number;
}

/** A rough byte size of an entry, for maxSizePerMsg batching. */
export function entrySizeBytes(entry: RaftEntry): number {
  return entry.data.length + 16;
}

/** The durable log plus its unstable tail, the commit and the applied index. */
export class RaftLog {
  private readonly unstable: Unstable;
  /** The highest index known committed. */
  committed: number;
  /** The highest index handed to the application to apply (and acknowledged by advance). */
  applied: number;

  constructor(private readonly storage: RaftStorage) {
    const first = storage.firstIndex();
    this.unstable = { snapshot: undefined, entries: [], offset: storage.lastIndex() + 1 };
    this.committed = first - 1;
    this.applied = first - 1;
  }

  /** The first index held as an entry. */
  firstIndex(): number {
    const snapshot = this.unstable.snapshot;
    return snapshot !== undefined ? snapshot.meta.index + 1 : this.storage.firstIndex();
  }

  /** The last index (of an entry, or of the snapshot when no entry follows). */
  lastIndex(): number {
    const u = this.unstable;
    if (u.entries.length > 0) return u.offset + u.entries.length - 1;
    if (u.snapshot !== undefined) return u.snapshot.meta.index;
    return this.storage.lastIndex();
  }

  /** The term of the last entry. */
  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term at `index`, or undefined when compacted away, past the end or not an index. */
  term(index: number): number | undefined {
    if (!Number.isSafeInteger(index) || index < 0) return undefined;
    const u = this.unstable;
    if (index >= u.offset) return u.entries[index - u.offset]?.term;
    if (u.snapshot !== undefined) return index === u.snapshot.meta.index ? u.snapshot.meta.term : undefined;
    if (index < this.storage.firstIndex() - 1 || index > this.storage.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  /** True when the entry at `index` has term `term`. */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: a log ending at (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi) capped at `maxBytes` (at least one), or undefined if lo was compacted away. */
  slice(lo: number, hi: number, maxBytes: number): RaftEntry[] | undefined {
    if (lo < this.firstIndex() || lo > hi || hi > this.lastIndex() + 1) return undefined;
    const u = this.unstable;
    const out: RaftEntry[] = lo < Math.min(hi, u.offset) ? this.storage.entries(lo, Math.min(hi, u.offset), maxBytes) : [];
    let bytes = out.reduce((sum, e) => sum + entrySizeBytes(e), 0);
    for (let i = Math.max(lo, u.offset); i < hi && (out.length === 0 || out.length === i - lo); i++) {
      const entry = u.entries[i - u.offset] as RaftEntry;
      bytes += entrySizeBytes(entry);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  /** The unstable entries, for the next Ready. */
  unstableEntries(): readonly RaftEntry[] {
    return this.unstable.entries;
  }

  /** The incoming snapshot not yet durable, for the next Ready. */
  unstableSnapshot(): RaftSnapshot | undefined {
    return this.unstable.snapshot;
  }

  /** The latest snapshot: the unstable one, else the durable one. */
  snapshot(): RaftSnapshot | undefined {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Appends entries (the first may overwrite the tail: conflicting entries are cut). Returns the new last index. */
  append(entries: readonly RaftEntry[]): number {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    const u = this.unstable;
    const after = first.index;
    if (after === u.offset + u.entries.length) {
      u.entries.push(...entries);
    } else if (after <= u.offset) {
      // Overwrites durable entries too: persisting these cuts the durable tail (RaftStorage append contract).
      u.offset = after;
      u.entries = [...entries];
    } else {
      u.entries = [...u.entries.slice(0, after - u.offset), ...entries];
    }
    return this.lastIndex();
  }

  /**
   * A leader's append after (prevIndex, prevTerm): the new last index if our log matches there
   * (conflicting entries are replaced), else undefined. Refuses (undefined, with `problem`) to
   * overwrite a committed entry, which only a malformed or forged message could ask.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly RaftEntry[]): { lastNew: number } | { problem: string } | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict === 0) return { lastNew };
    if (conflict <= this.committed) return { problem: `append conflicts with committed entry ${conflict}` };
    this.append(entries.slice(conflict - (prevIndex + 1)));
    return { lastNew };
  }

  /** The index of the first entry that is new or conflicts with ours, 0 when all are already held. */
  private findConflict(entries: readonly RaftEntry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (etcd's findConflictByTerm): where a
   * rejected append may match, so the leader skips a whole conflicting term per round trip.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined || t <= term) break;
    }
    return i;
  }

  /** Raises the commit index; false (and no change) past the last index. */
  commitTo(index: number): boolean {
    if (index <= this.committed) return true;
    if (index > this.lastIndex()) return false;
    this.committed = index;
    return true;
  }

  /** The entries to hand over for applying: (applied, committed], bounded by maxBytes. */
  nextCommittedEntries(maxBytes: number): RaftEntry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed + 1, maxBytes) ?? [];
  }

  /** The application persisted entries up to (index, term): drop them from the unstable tail. */
  stableTo(index: number, term: number): void {
    const u = this.unstable;
    if (index < u.offset || this.term(index) !== term) return;
    u.entries = u.entries.slice(index + 1 - u.offset);
    u.offset = index + 1;
  }

  /** The application persisted the snapshot at `index`. */
  stableSnapTo(index: number): void {
    if (this.unstable.snapshot?.meta.index === index) this.unstable.snapshot = undefined;
  }

  /** Replaces the log with a snapshot (the state machine will be restored from it). */
  restore(snapshot: RaftSnapshot): void {
    this.committed = snapshot.meta.index;
    this.unstable.snapshot = snapshot;
    this.unstable.entries = [];
    this.unstable.offset = snapshot.meta.index + 1;
  }
}
