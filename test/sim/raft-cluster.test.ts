// The simulated Raft cluster runs on the simulator's real parts: a member's log is a RaftDiskLog on
// its SimDisk (what a whole-cluster power loss keeps is what the members reopen), and messages are
// frames through the simulated NATS, where a one-way cut keeps a leader from hearing its followers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimRaftCluster, type RaftClusterOptions } from "../../sim/raft/raft-cluster.js";
import { Simulation } from "../../sim/simulation.js";

const OPTIONS: RaftClusterOptions = {
  ids: ["n1", "n2", "n3"], voters: ["n1", "n2", "n3"], tickMs: 100, electionTicks: 10, snapshotEvery: 0,
  maxSizePerMsgBytes: 4096, maxInflightMsgs: 8, diskLog: { segmentMaxBytes: 200 },
};

function propose(cluster: SimRaftCluster, text: string): number {
  const leader = cluster.leader();
  assert.ok(leader !== undefined, "a leader");
  const result = cluster.withNode(leader.id, (node) => node.propose(new TextEncoder().encode(text)));
  assert.ok(result?.ok === true, "the leader takes the proposal");
  return result.index;
}

test("every member loses power at once: the committed log survives on the disks and the cluster goes on", () => {
  const sim = new Simulation(1);
  const cluster = new SimRaftCluster(sim, OPTIONS);
  assert.ok(sim.runUntil(5_000));
  let last = 0;
  for (let i = 0; i < 20; i++) last = propose(cluster, `entry ${i}`);
  assert.ok(sim.runUntil(7_000));
  for (const id of cluster.ids) assert.equal(cluster.appliedIndex(id), last, `${id} applied everything`);
  for (const id of cluster.ids) cluster.crash(id);
  for (const id of cluster.ids) cluster.restart(id);
  for (const id of cluster.ids) {
    const node = cluster.node(id);
    assert.ok(node !== undefined && node.lastIndex >= last && node.commitIndex >= 1, `${id} reopened its log from its disk`);
  }
  assert.ok(sim.runUntil(12_000));
  const after = propose(cluster, "after the power loss");
  assert.ok(sim.runUntil(14_000));
  for (const id of cluster.ids) assert.equal(cluster.appliedIndex(id), after, `${id} applied the log replayed from disk and the new entry`);
  assert.equal(cluster.checker.violation, undefined);
  assert.ok((cluster.counters()["messagesDelivered"] ?? 0) > 0, "messages went through the simulated NATS");
});

test("a leader cut off from hearing its followers (one way) steps down by CheckQuorum; a new leader takes over", () => {
  const sim = new Simulation(2);
  const cluster = new SimRaftCluster(sim, OPTIONS);
  assert.ok(sim.runUntil(5_000));
  const old = cluster.leader();
  assert.ok(old !== undefined);
  for (const id of cluster.ids) if (id !== old.id) cluster.setLink(id, old.id, false);
  assert.ok(sim.runUntil(10_000));
  const now = cluster.leader();
  assert.ok(now !== undefined && now.id !== old.id && now.term > old.term, "another member leads a later term");
  assert.notEqual(cluster.node(old.id)?.role, "leader");
  assert.ok((cluster.counters()["messagesCut"] ?? 0) > 0);
  assert.equal(cluster.checker.violation, undefined);
});
