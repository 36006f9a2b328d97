// Bootstrapping a new cluster, as etcd does: the initial voters enter the log as committed
// membership entries of term 1, so a server that joins later learns them by replaying the log
// (or from a snapshot), like every later change.
import { encodeConfChange } from "./raft-conf-change.js";
import type { HardState, RaftEntry, RaftNodeId } from "./raft-types.js";

/** The entries and hard state every initial voter starts with (identical on each of them). */
export function bootstrapLog(voters: readonly RaftNodeId[]): { readonly entries: readonly RaftEntry[]; readonly hardState: HardState } {
  const entries = voters.map((nodeId, i): RaftEntry => ({ index: i + 1, term: 1, type: "confChange", data: encodeConfChange({ type: "addVoter", nodeId }) }));
  return { entries, hardState: { term: 1, vote: "", commit: entries.length } };
}
