// The Raft log on disk (docs/raft-log.md): entries in segments, the hard state and the snapshot in
// their own files, every frame with a CRC-32C. It is the node's RaftStorage, read from memory (a
// step never reads the disk); every change updates that view at once and returns the DiskOps that
// make it durable, ending in fdatasync (and syncDir after creates, renames and removes), so the
// caller releases the messages that depend on it once the persist group has completed.
import { assert, assertInt } from "../assert.js";
import { crc32c, type Crc32c } from "../crc32c.js";
import { joinPath, type DiskOp, type DiskReader } from "../disk.js";
import { DiskError } from "../disk.js";
import type { Result } from "../errors.js";
import { atomicWriteOps } from "../log/checkpoint-file.js";
import type { LogEvent } from "../outputs.js";
import { encodeFrame } from "./raft-frame.js";
import { HARD_STATE_FILE, SNAPSHOT_FILE, recoverRaftLog, type RaftLogRefusal } from "./raft-log-recovery.js";
import { encodeEntry, encodeHardState, encodeSnapshot } from "./raft-record.js";
import { RaftSegment } from "./raft-segment.js";
import type { ConfState, HardState, RaftEntry, RaftSnapshot, RaftStorage } from "./raft-types.js";

/** Planted bugs (tests only): each breaks one durability rule the crash property checks. */
export interface RaftDiskLogPlantedBugs {
  /** The hard state is written but not fdatasynced before the caller releases what depends on it. */
  readonly noFsyncBeforeHardState?: boolean;
  /** A conflicting suffix is overwritten in place instead of being cut first. */
  readonly skipTruncateOnConflict?: boolean;
}

/** How the log is kept. */
export interface RaftDiskLogOptions {
  /** A segment this big takes no more entries: the next append starts a new one. */
  readonly segmentMaxBytes?: number;
  /** Past this size the hard state file is replaced by one holding only the latest hard state. */
  readonly hardStateRewriteBytes?: number;
  readonly crc?: Crc32c;
  readonly plantedBugs?: RaftDiskLogPlantedBugs;
}

/** The defaults: segments of 16 MiB, a hard state file of at most 64 KiB. */
export const DEFAULT_RAFT_SEGMENT_MAX_BYTES = 16 * 1024 * 1024;
const DEFAULT_HARD_STATE_REWRITE_BYTES = 64 * 1024;

/** What a successful open returns: the log, what it recovered, and the ops to apply before anything else. */
export interface OpenedRaftLog {
  readonly log: RaftDiskLog;
  readonly hardState: HardState;
  readonly snapshot: RaftSnapshot | undefined;
  /** Entries after the snapshot. */
  readonly entries: readonly RaftEntry[];
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
}

/** What one etcd Ready asks to persist, in the order that keeps a crash consistent. */
export interface RaftPersist {
  readonly snapshot?: RaftSnapshot;
  readonly entries?: readonly RaftEntry[];
  readonly hardState?: HardState;
}

const NO_CONF_STATE: ConfState = { voters: [], learners: [] };

/** The Raft log on disk, with its in-memory read side. Create it with RaftDiskLog.open. */
export class RaftDiskLog implements RaftStorage {
  private readonly crc: Crc32c;
  private readonly segmentMaxBytes: number;
  private readonly hardStateRewriteBytes: number;
  private readonly bugs: RaftDiskLogPlantedBugs;
  private hs: HardState;
  private snap: RaftSnapshot | undefined;
  /** Entries (compactedIndex, lastIndex]; compactedIndex's term is kept for term(). */
  private entryList: RaftEntry[];
  private compactedIndex: number;
  private compactedTerm: number;
  private segments: RaftSegment[];
  private hardStateBytes: number;

  private constructor(
    readonly dir: string,
    recovered: { hardState: HardState; snapshot: RaftSnapshot | undefined; entries: RaftEntry[]; segments: RaftSegment[]; hardStateBytes: number },
    options: RaftDiskLogOptions,
  ) {
    this.crc = options.crc ?? crc32c;
    this.segmentMaxBytes = assertInt(options.segmentMaxBytes ?? DEFAULT_RAFT_SEGMENT_MAX_BYTES, "segmentMaxBytes", 1);
    this.hardStateRewriteBytes = assertInt(options.hardStateRewriteBytes ?? DEFAULT_HARD_STATE_REWRITE_BYTES, "hardStateRewriteBytes", 1);
    this.bugs = options.plantedBugs ?? {};
    this.hs = recovered.hardState;
    this.snap = recovered.snapshot;
    this.entryList = recovered.entries;
    this.compactedIndex = recovered.snapshot?.meta.index ?? 0;
    this.compactedTerm = recovered.snapshot?.meta.term ?? 0;
    this.segments = recovered.segments;
    this.hardStateBytes = recovered.hardStateBytes;
  }

  /**
   * Opens (or creates) the log in `dir` at start-up, reading synchronously: the recovered state and
   * the ops that finish recovery (cut a torn tail, create what is missing), or a refusal naming the
   * file and the damage, having changed nothing (docs/raft-log.md, recovery).
   */
  static open(reader: DiskReader, dir: string, options: RaftDiskLogOptions = {}): Result<OpenedRaftLog, RaftLogRefusal> {
    let recovered;
    try {
      recovered = recoverRaftLog(reader, dir, options.crc ?? crc32c);
    } catch (e) {
      if (!(e instanceof DiskError)) throw e;
      const message = `cannot read the Raft log in ${dir}: ${e.message}`;
      return { ok: false, error: { code: "DiskFailed", message, file: e.path, position: 0, problem: e.code } };
    }
    if (!recovered.ok) return recovered;
    const r = recovered.value;
    const log = new RaftDiskLog(dir, r, options);
    return { ok: true, value: { log, hardState: r.hardState, snapshot: r.snapshot, entries: [...r.entries], ops: r.ops, events: r.events } };
  }

  // --- the read side (RaftStorage) ---

  /** The hard state and the membership as of the snapshot. */
  initialState(): { readonly hardState: HardState; readonly confState: ConfState } {
    return { hardState: this.hs, confState: this.snap?.meta.confState ?? NO_CONF_STATE };
  }

  /** The hard state as last set. */
  hardState(): HardState {
    return this.hs;
  }

  /** The first index held as an entry. */
  firstIndex(): number {
    return this.compactedIndex + 1;
  }

  /** The last index held (the compacted index when no entry follows it). */
  lastIndex(): number {
    return this.compactedIndex + this.entryList.length;
  }

  /** The term of `index`, including the compacted index's; undefined below it or past the end. */
  term(index: number): number | undefined {
    if (index === this.compactedIndex) return this.compactedTerm;
    if (index < this.compactedIndex || index > this.lastIndex()) return undefined;
    return (this.entryList[index - this.compactedIndex - 1] as RaftEntry).term;
  }

  /** Entries [lo, hi): at least one when lo < hi, then as many as fit in `maxBytes` of data (etcd's limitSize). */
  entries(lo: number, hi: number, maxBytes: number): RaftEntry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, `entries [${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex() + 1})`);
    const out: RaftEntry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entryList[i - this.compactedIndex - 1] as RaftEntry;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** The latest snapshot saved. */
  snapshot(): RaftSnapshot | undefined {
    return this.snap;
  }

  // --- changes: each returns the DiskOps that make it durable ---

  /** Persists what one Ready asks for, in crash-safe order: snapshot, then entries, then hard state. */
  persist(p: RaftPersist): DiskOp[] {
    const ops: DiskOp[] = [];
    if (p.snapshot !== undefined) ops.push(...this.saveSnapshot(p.snapshot));
    if (p.entries !== undefined && p.entries.length > 0) ops.push(...this.append(p.entries));
    if (p.hardState !== undefined) ops.push(...this.setHardState(p.hardState));
    return ops;
  }

  /**
   * Appends `entries` (consecutive indexes). When the first is at or below the last index, the
   * conflicting suffix from it is cut first, and the cut is durable before the new entries are
   * written: a crash never leaves old entries after new ones.
   */
  append(entries: readonly RaftEntry[]): DiskOp[] {
    if (entries.length === 0) return [];
    const from = (entries[0] as RaftEntry).index;
    assert(from > this.compactedIndex && from <= this.lastIndex() + 1, `append at ${from} outside (${this.compactedIndex}, ${this.lastIndex() + 1}]`);
    entries.forEach((e, i) => assert(e.index === from + i && Number.isSafeInteger(e.term) && e.term >= 0, "appended entries have consecutive indexes"));
    const ops = from <= this.lastIndex() ? this.truncateFrom(from) : [];
    ops.push(...this.writeEntries(entries));
    return ops;
  }

  /** Cuts the entries from `from` on: later segments go (newest first, so a crash leaves a prefix), the one holding `from` is cut and synced. */
  private truncateFrom(from: number): DiskOp[] {
    const ops: DiskOp[] = [];
    // A segment starting at `from` is kept (cut to nothing): the one before it may end below `from`.
    while (this.segments.length > 1 && this.active.baseIndex > from) {
      ops.push({ kind: "remove", path: this.active.path }, { kind: "syncDir", path: this.dir });
      this.segments.pop();
    }
    const length = this.active.cutFrom(from);
    if (this.bugs.skipTruncateOnConflict !== true) ops.push({ kind: "truncate", path: this.active.path, length }, { kind: "fdatasync", path: this.active.path });
    this.entryList.length = from - this.compactedIndex - 1;
    return ops;
  }

  /** Writes entries after the last one, in a new segment when the active one is full. */
  private writeEntries(entries: readonly RaftEntry[]): DiskOp[] {
    const ops: DiskOp[] = [];
    let created = false;
    if (this.active.sizeBytes >= this.segmentMaxBytes && this.active.positions.length > 0) {
      ops.push({ kind: "close", path: this.active.path });
      this.segments.push(new RaftSegment(this.dir, (entries[0] as RaftEntry).index, [], 0));
      ops.push({ kind: "create", path: this.active.path });
      created = true;
    }
    const segment = this.active;
    const frames = entries.map((e) => encodeFrame(encodeEntry(e), this.crc));
    const position = segment.sizeBytes;
    for (const f of frames) {
      segment.positions.push(segment.sizeBytes);
      segment.sizeBytes += f.length;
    }
    this.entryList.push(...entries);
    ops.push({ kind: "write", path: segment.path, position, chunks: frames }, { kind: "fdatasync", path: segment.path });
    if (created) ops.push({ kind: "syncDir", path: this.dir });
    return ops;
  }

  /** Records term, vote and commit; nothing when unchanged. */
  setHardState(hs: HardState): DiskOp[] {
    if (hs.term === this.hs.term && hs.vote === this.hs.vote && hs.commit === this.hs.commit) return [];
    assert(hs.term >= this.hs.term, `hard state term goes back from ${this.hs.term} to ${hs.term}`);
    assert(hs.commit <= this.lastIndex(), `commit ${hs.commit} past the last index ${this.lastIndex()}: append the entries first`);
    this.hs = hs;
    const path = joinPath(this.dir, HARD_STATE_FILE);
    const frame = encodeFrame(encodeHardState(hs), this.crc);
    if (this.hardStateBytes + frame.length > this.hardStateRewriteBytes) {
      this.hardStateBytes = frame.length;
      return [{ kind: "close", path }, ...atomicWriteOps(path, frame)];
    }
    const ops: DiskOp[] = [{ kind: "write", path, position: this.hardStateBytes, chunks: [frame] }];
    if (this.bugs.noFsyncBeforeHardState !== true) ops.push({ kind: "fdatasync", path });
    this.hardStateBytes += frame.length;
    return ops;
  }

  /**
   * Replaces the snapshot file atomically. When the log holds the snapshot's index with its term
   * (the node's own snapshot), the entries stay until compact(); otherwise (a leader's snapshot
   * installed on a follower) every entry goes, after the snapshot is durable, and the log
   * continues after it in a new segment. A snapshot not newer than the one held writes nothing.
   */
  saveSnapshot(snapshot: RaftSnapshot): DiskOp[] {
    const { index, term } = snapshot.meta;
    // Not newer than the one held (etcd's ErrSnapOutOfDate): nothing to do.
    if (index <= (this.snap?.meta.index ?? 0)) return [];
    const ops = atomicWriteOps(joinPath(this.dir, SNAPSHOT_FILE), encodeFrame(encodeSnapshot(snapshot), this.crc));
    const matches = this.term(index) === term;
    this.snap = snapshot;
    if (matches) return ops;
    for (const s of [...this.segments].reverse()) ops.push({ kind: "remove", path: s.path }, { kind: "syncDir", path: this.dir });
    this.segments = [new RaftSegment(this.dir, index + 1, [], 0)];
    ops.push({ kind: "create", path: this.active.path }, { kind: "syncDir", path: this.dir });
    this.entryList = [];
    this.compactedIndex = index;
    this.compactedTerm = term;
    return ops;
  }

  /**
   * Drops the entries up to `index` (at most the snapshot's) from memory, and from disk every
   * segment they fill entirely (oldest first, so a crash leaves a contiguous log); the active
   * segment always stays. Entries at or below the snapshot left in a kept segment are skipped at open.
   */
  compact(index: number): DiskOp[] {
    assert(index <= (this.snap?.meta.index ?? 0), `compact(${index}) beyond the snapshot: save a snapshot first`);
    if (index > this.compactedIndex) {
      this.compactedTerm = this.term(index) as number;
      this.entryList.splice(0, index - this.compactedIndex);
      this.compactedIndex = index;
    }
    // Segments below the snapshot that recovery left (it skips their entries) go here too.
    const ops: DiskOp[] = [];
    while (this.segments.length > 1 && (this.segments[0] as RaftSegment).lastIndex <= index) {
      ops.push({ kind: "remove", path: (this.segments[0] as RaftSegment).path });
      this.segments.shift();
    }
    if (ops.length > 0) ops.push({ kind: "syncDir", path: this.dir });
    return ops;
  }

  /** Segment files held, oldest first (for tests and metrics). */
  segmentPaths(): string[] {
    return this.segments.map((s) => s.path);
  }

  private get active(): RaftSegment {
    return this.segments[this.segments.length - 1] as RaftSegment;
  }
}
