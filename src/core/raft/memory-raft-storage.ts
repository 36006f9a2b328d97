// An in-memory RaftStorage (etcd's MemoryStorage) for tests and the simulator, where it holds only
// what the node's Ready handed over and was synced: the durable state a crash keeps.
import { assert } from "../assert.js";
import { bootstrapLog } from "./raft-bootstrap.js";
import { entrySizeBytes } from "./raft-log.js";
import type { ConfState, HardState, RaftEntry, RaftSnapshot, RaftStorage } from "./raft-types.js";

/** The empty hard state of a fresh node. */
export const EMPTY_HARD_STATE: HardState = { term: 0, vote: "", commit: 0 };

/** Durable Raft state in memory: hard state, membership, the latest snapshot and the entries after it. */
export class MemoryRaftStorage implements RaftStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private confState: ConfState;
  /** The snapshot's index and term stand in for the entry before `entries[0]`. */
  private snap: RaftSnapshot;
  private ents: RaftEntry[] = [];

  /**
   * A fresh node. With initial voters it bootstraps a new cluster (their addVoter entries,
   * committed in term 1); without, it waits to be added to a running one.
   */
  constructor(initialVoters: readonly string[] = []) {
    this.confState = { voters: [...initialVoters], learners: [] };
    this.snap = { meta: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: new Uint8Array(0) };
    if (initialVoters.length > 0) {
      const { entries, hardState } = bootstrapLog(initialVoters);
      this.ents = [...entries];
      this.hardState = hardState;
    }
  }

  initialState(): { readonly hardState: HardState; readonly confState: ConfState } {
    return { hardState: this.hardState, confState: this.confState };
  }

  firstIndex(): number {
    return this.snap.meta.index + 1;
  }

  lastIndex(): number {
    return this.snap.meta.index + this.ents.length;
  }

  term(index: number): number | undefined {
    if (index === this.snap.meta.index) return this.snap.meta.term;
    return this.ents[index - this.snap.meta.index - 1]?.term;
  }

  entries(lo: number, hi: number, maxBytes: number): RaftEntry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, `entries [${lo}, ${hi}) outside the log`);
    const out: RaftEntry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const entry = this.ents[i - this.snap.meta.index - 1] as RaftEntry;
      bytes += entrySizeBytes(entry);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  snapshot(): RaftSnapshot | undefined {
    return this.snap.meta.index === 0 ? undefined : this.snap;
  }

  /** The hard state last set. */
  get durableHardState(): HardState {
    return this.hardState;
  }

  /** Persists the hard state. */
  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** Persists the membership (as of the applied index). */
  setConfState(confState: ConfState): void {
    this.confState = confState;
  }

  /** Appends entries; an entry at an index already held replaces it and cuts everything after. */
  append(entries: readonly RaftEntry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index <= this.lastIndex() + 1, `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    if (first.index <= this.snap.meta.index) {
      // Entries the snapshot already covers are dropped (a late append after a snapshot install).
      const skip = this.snap.meta.index + 1 - first.index;
      if (skip >= entries.length) return;
      this.append(entries.slice(skip));
      return;
    }
    this.ents.length = first.index - this.snap.meta.index - 1;
    this.ents.push(...entries);
  }

  /** Installs a received snapshot: the log restarts after it. */
  applySnapshot(snapshot: RaftSnapshot): void {
    if (snapshot.meta.index <= this.snap.meta.index) return;
    this.snap = snapshot;
    this.ents = [];
    this.confState = snapshot.meta.confState;
  }

  /**
   * Records the application's snapshot at applied `index` (with the membership as of it) and
   * compacts the log: the entries it covers are dropped, the ones after it kept.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): RaftSnapshot | undefined {
    if (index <= this.snap.meta.index) return undefined;
    const term = this.term(index);
    assert(term !== undefined && index <= this.hardState.commit, `snapshot at ${index} is past the durable commit`);
    const entsAfter = this.ents.slice(index - this.snap.meta.index);
    this.snap = { meta: { index, term, confState }, data };
    this.ents = entsAfter;
    return this.snap;
  }

  /** Every entry held, for checkers. */
  allEntries(): readonly RaftEntry[] {
    return this.ents;
  }
}
