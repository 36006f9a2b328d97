// The shapes shared by the Raft node (raft-node.ts) and the Raft log on disk (raft-disk-log.ts),
// after etcd's raft: entries, hard state, configuration, snapshots, and the read side of storage
// the node consults. Indexes and terms are plain numbers (asserted safe integers where they enter).

/** A Raft member's id: the broker's server id. */
export type RaftNodeId = string;

/** What an entry carries: an opaque command for the state machine, or a one-server membership change. */
export type RaftEntryType = "normal" | "confChange";

/** One entry of the replicated log. An empty `normal` entry is the no-op a new leader appends. */
export interface RaftEntry {
  readonly index: number;
  readonly term: number;
  readonly type: RaftEntryType;
  readonly data: Uint8Array;
}

/** What must be durable before any message that depends on it leaves: term, vote and commit. */
export interface HardState {
  readonly term: number;
  /** The candidate voted for in `term`, or "" for none. */
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- "" spells out "no vote"
  readonly vote: RaftNodeId | "";
  readonly commit: number;
}

/** The membership: voters decide elections and commits; learners (non-voters) only replicate. */
export interface ConfState {
  readonly voters: readonly RaftNodeId[];
  readonly learners: readonly RaftNodeId[];
}

/** Where a snapshot stands in the log and the membership as of its last entry. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

/** The state machine's image as of `meta.index`; entries up to it may be dropped from the log. */
export interface RaftSnapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

/**
 * The read side of a Raft log the node consults (etcd's Storage). It is in memory: a step never
 * reads the disk; the on-disk log (raft-disk-log.ts) implements it over what it has loaded.
 */
export interface RaftStorage {
  /** The hard state and membership recovered at start-up (a fresh node: term 0, no vote, commit 0). */
  initialState(): { readonly hardState: HardState; readonly confState: ConfState };
  /** The first index still held as an entry (the snapshot's index + 1). */
  firstIndex(): number;
  /** The last index held (the snapshot's index when no entry follows it). */
  lastIndex(): number;
  /** The term of `index`, including the snapshot's own index; undefined when compacted away or past the end. */
  term(index: number): number | undefined;
  /** Entries [lo, hi), at least one when lo < hi, at most `maxBytes` of data beyond the first. */
  entries(lo: number, hi: number, maxBytes: number): RaftEntry[];
  /** The latest snapshot, or undefined before the first. */
  snapshot(): RaftSnapshot | undefined;
}
