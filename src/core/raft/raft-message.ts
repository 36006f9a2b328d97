// The messages Raft nodes exchange, after etcd's raftpb.Message: one flat shape whose fields mean
// what the type says (for an append, index/logTerm name the entry before `entries`; for a vote, the
// candidate's last entry). Local events (tick, campaign, propose) are methods, not messages.
import type { RaftEntry, RaftNodeId, RaftSnapshot } from "./raft-types.js";

/** Every message type on the wire. */
export type RaftMessageType =
  | "app"
  | "appResp"
  | "vote"
  | "voteResp"
  | "preVote"
  | "preVoteResp"
  | "heartbeat"
  | "heartbeatResp"
  | "snap"
  | "timeoutNow";

/** The message types, in wire order (the codec's type byte is the index here). */
export const RAFT_MESSAGE_TYPES: readonly RaftMessageType[] = [
  "app", "appResp", "vote", "voteResp", "preVote", "preVoteResp", "heartbeat", "heartbeatResp", "snap", "timeoutNow",
];

/** One Raft message between two members. */
export interface RaftMessage {
  readonly type: RaftMessageType;
  readonly from: RaftNodeId;
  readonly to: RaftNodeId;
  /** The sender's term (for a pre-vote: the term it would campaign in). */
  readonly term: number;
  /** app: term of the entry at `index`; vote: the candidate's last term; appResp reject: the hint's term. */
  readonly logTerm: number;
  /** app: the index before `entries`; vote: the candidate's last index; appResp: the match or the rejected index. */
  readonly index: number;
  readonly entries: readonly RaftEntry[];
  /** app/heartbeat: the leader's commit index (for a heartbeat, capped at the follower's match). */
  readonly commit: number;
  /** Responses: refused (vote not granted, append did not match). */
  readonly reject: boolean;
  /** appResp reject: the follower's guess of the last index that may match. */
  readonly rejectHint: number;
  /** vote: an election forced by a leadership transfer (ignores the leader lease). */
  readonly transfer: boolean;
  /** snap: the snapshot to install. */
  readonly snapshot?: RaftSnapshot;
}

/** A message with every optional field defaulted, so callers name only what matters. */
export function raftMessage(fields: Pick<RaftMessage, "type" | "from" | "to" | "term"> & Partial<RaftMessage>): RaftMessage {
  return { logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, transfer: false, ...fields };
}

function isIndex(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * Why `m` is malformed, or undefined when it is well formed: counters are non-negative safe
 * integers, entries are contiguous after `index` with non-decreasing terms no later than the
 * message's term, and a snapshot message carries a snapshot. Network input is checked here, so the
 * node never asserts on it.
 */
export function messageProblem(m: RaftMessage): string | undefined {
  if (!RAFT_MESSAGE_TYPES.includes(m.type)) return "unknown message type";
  if (m.from === "" || m.to === "") return "empty node id";
  if (!isIndex(m.term) || !isIndex(m.logTerm) || !isIndex(m.index) || !isIndex(m.commit) || !isIndex(m.rejectHint)) {
    return "term or index not a non-negative safe integer";
  }
  let prevTerm = m.logTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i] as RaftEntry;
    if (e.index !== m.index + 1 + i) return `entry ${i} has index ${e.index}, expected ${m.index + 1 + i}`;
    if (!isIndex(e.term) || e.term < prevTerm || e.term > m.term) return `entry ${e.index} has term ${e.term} out of order`;
    prevTerm = e.term;
  }
  if (m.entries.length > 0 && m.type !== "app") return `${m.type} carries entries`;
  if (m.type === "snap") {
    const meta = m.snapshot?.meta;
    if (meta === undefined || !isIndex(meta.index) || !isIndex(meta.term) || meta.index === 0 || meta.term > m.term) {
      return "snapshot message without a valid snapshot";
    }
  }
  return undefined;
}
