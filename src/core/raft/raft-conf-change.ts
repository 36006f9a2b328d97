// Membership changes one server at a time (Raft thesis §4.1): each entry adds, promotes or removes
// one member, so any two successive configurations share a majority. Encoded in the entry's data.
import type { ConfState, RaftNodeId } from "./raft-types.js";

/** The kinds of one-server change. */
export type ConfChangeType = "addVoter" | "addLearner" | "promoteLearner" | "removeNode";

const CONF_CHANGE_TYPES: readonly ConfChangeType[] = ["addVoter", "addLearner", "promoteLearner", "removeNode"];

/** One membership change: what happens to which node. */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: RaftNodeId;
}

/** The longest node id accepted (bytes of UTF-8). */
export const MAX_NODE_ID_BYTES = 255;

/** Encodes a change as a conf-change entry's data: one type byte, then the node id in UTF-8. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const id = new TextEncoder().encode(change.nodeId);
  const out = new Uint8Array(1 + id.length);
  out[0] = CONF_CHANGE_TYPES.indexOf(change.type);
  out.set(id, 1);
  return out;
}

/** Decodes a conf-change entry's data; undefined when it is not one (never throws). */
export function decodeConfChange(data: Uint8Array): ConfChange | undefined {
  const type = CONF_CHANGE_TYPES[data[0] ?? 255];
  if (type === undefined || data.length < 2 || data.length > 1 + MAX_NODE_ID_BYTES) return undefined;
  const nodeId = new TextDecoder("utf-8", { fatal: false }).decode(data.subarray(1));
  return { type, nodeId };
}

/** Why `change` cannot apply to `conf`, or undefined when it can. */
export function confChangeProblem(conf: ConfState, change: ConfChange): string | undefined {
  const isVoter = conf.voters.includes(change.nodeId);
  const isLearner = conf.learners.includes(change.nodeId);
  switch (change.type) {
    case "addVoter":
      return isVoter || isLearner ? `${change.nodeId} is already a member (promote a learner instead)` : undefined;
    case "addLearner":
      return isVoter || isLearner ? `${change.nodeId} is already a member` : undefined;
    case "promoteLearner":
      return isLearner ? undefined : `${change.nodeId} is not a learner`;
    case "removeNode":
      if (!isVoter && !isLearner) return `${change.nodeId} is not a member`;
      return isVoter && conf.voters.length === 1 ? "cannot remove the last voter" : undefined;
  }
}

/**
 * The membership after `change`. Each change sets the node's role outright, so replaying a suffix
 * of changes over a later membership ends where the log ends (restarts re-apply committed entries).
 */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== change.nodeId);
  const learners = conf.learners.filter((id) => id !== change.nodeId);
  switch (change.type) {
    case "addVoter":
    case "promoteLearner":
      voters.push(change.nodeId);
      break;
    case "addLearner":
      learners.push(change.nodeId);
      break;
    case "removeNode":
      break;
  }
  return { voters, learners };
}
