// The classic Raft traps, each a short script over the in-process test network
// (sim/testing/raft-test-network.ts; randomized election timeouts are pinned at their maximum,
// 2 * 10 - 1 ticks, so expireLeases() never fires a campaign by itself).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RaftPlantedBugs } from "../../src/core/raft/raft-node.js";
import { RaftTestNetwork } from "../../sim/testing/raft-test-network.js";

function campaignUntilLeader(net: RaftTestNetwork, id: string): void {
  // A first pre-vote may only teach the candidate the current term; the second one counts.
  for (let i = 0; i < 3 && net.node(id).role !== "leader"; i++) net.campaign(id);
  assert.equal(net.node(id).role, "leader", `${id} did not win`);
}

/** Raft paper Figure 8, played out; returns what each node applied and n1's commit after step (c). */
function figure8(plantedBugs: RaftPlantedBugs): { n1CommitAfterC: number; applied: Record<string, string[]> } {
  // One entry per append, so acknowledgements of old and new entries arrive separately.
  const net = new RaftTestNetwork(["n1", "n2", "n3", "n4", "n5"], { maxSizePerMsgBytes: 1, plantedBugs });
  campaignUntilLeader(net, "n1");
  // (a) n1 (term 2) replicates x at index 7 to n2 only.
  net.dropIf = (m) => m.type === "app" && m.from === "n1" && m.to !== "n2";
  net.propose("n1", "x");
  net.stabilize();
  // (b) n1 crashes; n5 wins term 3 with n3 and n4, appends its no-op at 7, replicates nothing.
  net.crash("n1");
  net.expireLeases("n2", "n3", "n4", "n5");
  net.dropIf = (m) => m.type === "app" && m.from === "n5";
  campaignUntilLeader(net, "n5");
  assert.equal(net.node("n5").termAt(7), 3);
  // (c) n5 crashes; n1 restarts, wins term 4 and gets x to n3 too, but its own no-op (8) only to n2.
  net.crash("n5");
  net.restart("n1");
  net.expireLeases("n2", "n3", "n4");
  // n3 first rejects the append of 8 (it lacks 7), then gets 7; the append of 8 after that is lost.
  const n3HoldsX = (): boolean => net.node("n3").lastIndex >= 7;
  net.dropIf = (m) => m.type === "app" && m.from === "n1" && (m.to === "n4" || (m.to === "n3" && n3HoldsX() && m.entries.some((e) => e.index === 8)));
  campaignUntilLeader(net, "n1");
  assert.equal(net.node("n1").term, 4);
  const n1CommitAfterC = net.node("n1").commitIndex;
  // (d) n1 crashes; n5 restarts and wins term 5 with n3 and n4 (its last term 3 beats their 2),
  // n2 cut off (with the bug it would refuse, forever, to give up the entry it was told is committed).
  net.crash("n1");
  net.restart("n5");
  net.heal();
  net.isolate("n2");
  net.expireLeases("n3", "n4");
  campaignUntilLeader(net, "n5");
  net.tick("n5");
  net.stabilize();
  const applied = Object.fromEntries(["n1", "n3", "n4", "n5"].map((id) => [id, net.applied(id)]));
  return { n1CommitAfterC, applied };
}

test("Figure 8: an entry of an earlier term is never committed by counting replicas (Raft §5.4.2)", () => {
  const correct = figure8({});
  assert.equal(correct.n1CommitAfterC, 6, "x (index 7, term 2) sits on a majority but must not commit in term 4");
  for (const [id, applied] of Object.entries(correct.applied)) assert.deepEqual(applied, [], `${id} applied ${applied.join()}`);
  // The planted bug commits x by counting; n5 then overwrites it: a committed entry is lost.
  const buggy = figure8({ commitPreviousTermByCount: true });
  assert.equal(buggy.n1CommitAfterC, 7);
  assert.deepEqual(buggy.applied["n1"], ["x"]);
  for (const id of ["n3", "n4", "n5"]) assert.deepEqual(buggy.applied[id], [], `x was applied by n1 at 7, yet ${id} applied n5's no-op there`);
});

test("a partitioned old leader cannot commit, steps down by CheckQuorum, and loses its uncommitted entry", () => {
  const net = new RaftTestNetwork(["n1", "n2", "n3"]);
  campaignUntilLeader(net, "n1");
  const commit = net.node("n1").commitIndex;
  net.isolate("n1");
  assert.equal(net.propose("n1", "lost").ok, true);
  net.stabilize();
  assert.equal(net.node("n1").commitIndex, commit, "no majority, no commit");
  // The first check after the election counts everyone as active (etcd too); the second one sees the truth.
  net.tick("n1", 20);
  assert.equal(net.node("n1").role, "follower", "CheckQuorum: no majority heard within an election timeout");
  net.expireLeases("n2", "n3");
  campaignUntilLeader(net, "n2");
  net.propose("n2", "kept");
  net.stabilize();
  net.heal();
  net.tick("n2");
  net.stabilize();
  for (const id of ["n1", "n2", "n3"]) assert.deepEqual(net.applied(id), ["kept"], id);
  assert.equal(net.node("n1").lead, "n2");
});

function rejoin(plantedBugs: RaftPlantedBugs): { termBefore: number; n3Term: number; n1Role: string; n1Term: number } {
  const net = new RaftTestNetwork(["n1", "n2", "n3"], { plantedBugs });
  campaignUntilLeader(net, "n1");
  const termBefore = net.node("n1").term;
  net.isolate("n3");
  for (let i = 0; i < 100; i++) {
    net.tick("n3");
    net.stabilize();
  }
  const n3Term = net.node("n3").term;
  net.heal();
  net.tick("n1");
  net.stabilize();
  return { termBefore, n3Term, n1Role: net.node("n1").role, n1Term: net.node("n1").term };
}

test("a rejoining node is held off by PreVote: no term bump on the majority", () => {
  const r = rejoin({});
  assert.equal(r.n3Term, r.termBefore, "pre-votes that fail leave the term alone");
  assert.equal(r.n1Role, "leader");
  assert.equal(r.n1Term, r.termBefore);
  // Without PreVote the isolated node's term climbs and its return deposes the leader.
  const bug = rejoin({ noPreVote: true });
  assert.ok(bug.n3Term > bug.termBefore + 3);
  assert.ok(bug.n1Term > bug.termBefore && bug.n1Role !== "leader");
});

test("a membership change during a partition: one server at a time, committed by the new majority", () => {
  const net = new RaftTestNetwork(["n1", "n2", "n3", "n4"], { voters: ["n1", "n2", "n3"] });
  campaignUntilLeader(net, "n1");
  net.isolate("n3");
  const leader = net.node("n1");
  assert.equal(leader.proposeConfChange({ type: "addLearner", nodeId: "n4" }).ok, true);
  const second = leader.proposeConfChange({ type: "promoteLearner", nodeId: "n4" });
  assert.equal(second.ok ? "" : second.error.code, "ConfChangePending");
  net.stabilize();
  assert.deepEqual(leader.confState(), { voters: ["n1", "n2", "n3"], learners: ["n4"] });
  assert.equal(leader.proposeConfChange({ type: "promoteLearner", nodeId: "n4" }).ok, true);
  net.stabilize();
  assert.deepEqual(leader.confState().voters, ["n1", "n2", "n3", "n4"]);
  // Four voters, n3 cut off: n1, n2 and n4 are the majority.
  net.propose("n1", "during");
  net.stabilize();
  assert.deepEqual(net.applied("n4"), ["during"]);
  const removeBad = leader.proposeConfChange({ type: "removeNode", nodeId: "n9" });
  assert.equal(removeBad.ok ? "" : removeBad.error.code, "InvalidArgument");
  net.heal();
  net.tick("n1");
  net.stabilize();
  assert.deepEqual(net.applied("n3"), ["during"]);
  assert.deepEqual(net.node("n3").confState().voters, ["n1", "n2", "n3", "n4"]);
});

test("a lagging follower gets the snapshot when the entries it needs were compacted", () => {
  const net = new RaftTestNetwork(["n1", "n2", "n3"]);
  campaignUntilLeader(net, "n1");
  net.isolate("n3");
  for (let i = 0; i < 10; i++) net.propose("n1", `e${i}`);
  net.stabilize();
  const leader = net.node("n1");
  const snapIndex = leader.appliedIndex;
  net.storage("n1").createSnapshot(snapIndex, leader.confState(), new TextEncoder().encode("state"));
  assert.equal(leader.firstIndex, snapIndex + 1);
  net.heal();
  net.tick("n1");
  net.stabilize();
  assert.ok(net.delivered.some((m) => m.type === "snap" && m.to === "n3"), "a snapshot went to n3");
  assert.equal(net.storage("n3").snapshot()?.meta.index, snapIndex);
  assert.equal(net.node("n3").appliedIndex, snapIndex);
  net.propose("n1", "after");
  net.stabilize();
  assert.deepEqual(net.applied("n3"), ["after"]);
});

test("leadership transfer under load: proposals refused while transferring, nothing committed is lost", () => {
  const net = new RaftTestNetwork(["n1", "n2", "n3"]);
  campaignUntilLeader(net, "n1");
  const term = net.node("n1").term;
  net.dropIf = (m) => m.type === "app" && m.to === "n2";
  for (const v of ["a", "b", "c"]) net.propose("n1", v);
  net.stabilize();
  assert.equal(net.node("n1").transferLeadership("n2").ok, true);
  const refused = net.propose("n1", "d");
  assert.equal(refused.ok ? "" : refused.error.code, "TransferInProgress");
  net.heal();
  net.tick("n1");
  net.stabilize();
  assert.equal(net.node("n2").role, "leader", "n2 caught up, got TimeoutNow and won without waiting out the lease");
  assert.equal(net.node("n2").term, term + 1);
  assert.equal(net.propose("n2", "e").ok, true);
  net.stabilize();
  for (const id of ["n1", "n2", "n3"]) assert.deepEqual(net.applied(id), ["a", "b", "c", "e"], id);
});

/** c grants a its vote and crashes at once; then b, cut off from a, campaigns in the same term. */
function voteThenCrash(plantedBugs: RaftPlantedBugs): { aLeads: number | undefined; bLeads: number | undefined } {
  const net = new RaftTestNetwork(["a", "b", "c"], { plantedBugs });
  net.cutLinks("a", "b");
  let crashed = false;
  net.afterReady = (id, ready) => {
    if (id !== "c" || crashed || !ready.messages.some((m) => m.type === "voteResp" && !m.reject)) return;
    crashed = true;
    net.crash("c");
    net.restart("c");
  };
  // a's appends and heartbeats never reach c, so c does not learn that a leads.
  net.dropIf = (m) => m.from === "a" && (m.type === "app" || m.type === "heartbeat");
  net.campaign("a");
  net.campaign("b");
  const term = (id: string): number | undefined => (net.node(id).role === "leader" ? net.node(id).term : undefined);
  return { aLeads: term("a"), bLeads: term("b") };
}

test("a vote is durable before it is sent: a crash right after voting does not let the voter vote twice", () => {
  const correct = voteThenCrash({});
  assert.equal(correct.aLeads, 2);
  assert.equal(correct.bLeads, undefined, "c remembers its vote for a after the crash");
  // The planted bug sends the vote before persisting it: the crash forgets it, c votes again.
  const buggy = voteThenCrash({ voteWithoutPersist: true });
  assert.equal(buggy.aLeads, 2);
  assert.equal(buggy.bLeads, 2, "two leaders in term 2");
});
