// Majority arithmetic over the voters only (learners never count), after etcd's quorum package.
import type { RaftNodeId } from "./raft-types.js";

/** The outcome of an election so far. */
export type VoteResult = "won" | "lost" | "pending";

/** The largest index a majority of `voters` has matched (0 with no voters). */
export function committedIndex(voters: readonly RaftNodeId[], matchOf: (id: RaftNodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[Math.floor(voters.length / 2)] as number;
}

/** Whether `votes` (granted or refused, by voter) decide an election among `voters`. */
export function voteResult(voters: readonly RaftNodeId[], votes: ReadonlyMap<RaftNodeId, boolean>): VoteResult {
  const majority = Math.floor(voters.length / 2) + 1;
  let granted = 0;
  let refused = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) refused++;
  }
  if (granted >= majority) return "won";
  return voters.length - refused < majority ? "lost" : "pending";
}

/** True when the members for which `active` holds include a majority of `voters`. */
export function hasQuorum(voters: readonly RaftNodeId[], active: (id: RaftNodeId) => boolean): boolean {
  return voters.filter(active).length >= Math.floor(voters.length / 2) + 1;
}
