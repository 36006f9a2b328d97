// Why a proposal, conf change or transfer was refused: operating errors returned as values (the
// caller retries, elsewhere if need be), never thrown.
import type { RaftNodeId } from "./raft-types.js";

/** Every reason the node refuses a local request. */
export type RaftErrorCode =
  /** Only the leader accepts proposals; `leader` names it when known. */
  | "NotLeader"
  /** The leader is handing over leadership and takes no new proposals until it is done. */
  | "TransferInProgress"
  /** A membership change is still unapplied: one server at a time. */
  | "ConfChangePending"
  /** The request makes no sense against the current membership (add an existing voter, ...). */
  | "InvalidArgument";

/** A refused request: a code to branch on, the known leader ("" if none) and a message for people. */
export interface RaftError {
  readonly code: RaftErrorCode;
  readonly leader: RaftNodeId;
  readonly message: string;
}

/** The outcome of a local request: the index it was appended at, or why it was refused. */
export type RaftResult =
  | { readonly ok: true; readonly index: number }
  | { readonly ok: false; readonly error: RaftError };

/** Builds a refusal. */
export function raftError(code: RaftErrorCode, leader: RaftNodeId, message: string): { readonly ok: false; readonly error: RaftError } {
  return { ok: false, error: { code, leader, message } };
}
