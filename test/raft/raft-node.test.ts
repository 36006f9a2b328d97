// RaftNode unit tests: election, the Ready contract, log matching and conflict repair, CheckQuorum
// step-down, learners, typed refusals, and network input that is dropped (counted), never thrown on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryRaftStorage } from "../../src/core/raft/memory-raft-storage.js";
import type { Ready } from "../../src/core/raft/raft-node.js";
import { raftMessage, type RaftMessage } from "../../src/core/raft/raft-message.js";
import { RaftNode } from "../../src/core/raft/raft-node.js";
import { MAX_RANDOM, RaftTestNetwork } from "../../sim/testing/raft-test-network.js";

/** Persists a Ready to `storage` and advances: the application's side of the contract. */
function handle(node: RaftNode, storage: MemoryRaftStorage, ready: Ready = node.ready()): void {
  storage.append(ready.entries);
  if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
  node.advance(ready);
}

test("a single voter elects itself and commits only once its entries are durable", () => {
  const storage = new MemoryRaftStorage(["a"]);
  const node = new RaftNode({ id: "a", storage, random: MAX_RANDOM });
  handle(node, storage); // applies the bootstrap membership
  node.campaign();
  assert.equal(node.role, "leader");
  const ready = node.ready();
  const noop = ready.entries.at(-1);
  assert.equal(noop?.term, node.term);
  assert.ok(node.commitIndex < (noop?.index ?? 0), "the leader's own entry counts only after advance");
  handle(node, storage, ready);
  assert.equal(node.commitIndex, noop?.index);
});

test("the Ready contract: vote requests come with the hard state that holds the new term and vote", () => {
  const storage = new MemoryRaftStorage(["a", "b", "c"]);
  const node = new RaftNode({ id: "a", storage, random: MAX_RANDOM });
  handle(node, storage);
  node.campaign(); // pre-vote: no term change
  const pre = node.ready();
  assert.ok(pre.messages.every((m) => m.type === "preVote"));
  assert.equal(pre.hardState?.vote ?? "", "");
  node.advance(pre);
  for (const from of ["b", "c"]) node.step(raftMessage({ type: "preVoteResp", from, to: "a", term: node.term + 1 }));
  const vote = node.ready();
  assert.deepEqual(vote.hardState && { term: vote.hardState.term, vote: vote.hardState.vote }, { term: node.term, vote: "a" });
  assert.ok(vote.messages.length === 2 && vote.messages.every((m) => m.type === "vote" && m.term === node.term));
});

test("a vote is refused to a candidate whose log is behind (Raft §5.4.1)", () => {
  const net = new RaftTestNetwork(["a", "b", "c"]);
  net.campaign("a");
  net.propose("a", "x");
  net.stabilize();
  net.expireLeases("b");
  // c asks b for its vote claiming a log that ends one entry before b's.
  const last = net.node("b").lastIndex;
  const behind = raftMessage({ type: "vote", from: "c", to: "b", term: net.node("b").term + 1, index: last - 1, logTerm: net.node("b").termAt(last - 1) ?? 0 });
  net.node("b").step(behind);
  net.stabilize();
  const resp = net.delivered.filter((m) => m.type === "voteResp" && m.from === "b" && m.to === "c").at(-1);
  assert.equal(resp?.reject, true);
});

test("log matching: a follower's conflicting uncommitted entries are replaced by the leader's", () => {
  const net = new RaftTestNetwork(["a", "b", "c"]);
  net.campaign("a");
  net.isolate("a");
  net.propose("a", "stale1");
  net.propose("a", "stale2");
  net.stabilize();
  net.expireLeases("b", "c");
  for (let i = 0; i < 3 && net.node("b").role !== "leader"; i++) net.campaign("b");
  net.propose("b", "fresh");
  net.stabilize();
  net.heal();
  net.tick("b");
  net.stabilize();
  const b = net.node("b");
  const a = net.node("a");
  assert.equal(a.lastIndex, b.lastIndex);
  for (let i = 1; i <= b.lastIndex; i++) assert.equal(a.termAt(i), b.termAt(i), `index ${i}`);
  assert.deepEqual(net.applied("a"), ["fresh"]);
});

test("CheckQuorum: a leader that hears from no majority for an election timeout steps down", () => {
  const net = new RaftTestNetwork(["a", "b", "c"]);
  net.campaign("a");
  net.isolate("a");
  net.tick("a", 19);
  assert.equal(net.node("a").role, "leader", "the first check after winning counts everyone active");
  net.tick("a", 1);
  assert.equal(net.node("a").role, "follower");
});

test("learners replicate, never campaign nor count toward commit, but answer a vote request (as etcd's do)", () => {
  const net = new RaftTestNetwork(["a", "b", "c", "l"], { voters: ["a", "b", "c"] });
  net.campaign("a");
  assert.equal(net.node("a").proposeConfChange({ type: "addLearner", nodeId: "l" }).ok, true);
  net.stabilize();
  net.propose("a", "x");
  net.stabilize();
  assert.deepEqual(net.applied("l"), ["x"]);
  // Its timer never starts a campaign. Asked for its vote (lease expired), it grants it: it may have
  // been promoted in the candidate's newer configuration without knowing yet (etcd: "learners must be
  // allowed to cast votes"); a candidate counts only the voters of its own configuration.
  net.tick("l", 100);
  assert.equal(net.node("l").role, "follower");
  net.node("l").step(raftMessage({ type: "vote", from: "b", to: "l", term: 99, index: 100, logTerm: 99 }));
  net.stabilize();
  assert.equal(net.delivered.find((m) => m.type === "voteResp" && m.from === "l")?.reject, false);
  net.heal();
  for (let i = 0; i < 3 && net.node("a").role !== "leader"; i++) net.campaign("a");
  // With b and c cut off, a and the learner are no majority: nothing commits.
  net.cutLinks("a", "b", "c");
  const commit = net.node("a").commitIndex;
  net.propose("a", "y");
  net.stabilize();
  assert.equal(net.node("a").commitIndex, commit);
});

test("proposals are refused with typed errors naming the leader", () => {
  const net = new RaftTestNetwork(["a", "b", "c"]);
  net.campaign("a");
  const r = net.propose("b", "x");
  assert.equal(r.ok, false);
  assert.deepEqual(r.ok ? undefined : { code: r.error.code, leader: r.error.leader }, { code: "NotLeader", leader: "a" });
  const t = net.node("a").transferLeadership("zz");
  assert.equal(t.ok ? "" : t.error.code, "InvalidArgument");
});

test("bad input from the network is dropped and counted, never thrown on", () => {
  const node = new RaftNode({ id: "a", storage: new MemoryRaftStorage(["a", "b", "c"]), random: MAX_RANDOM });
  const bad: RaftMessage[] = [
    raftMessage({ type: "app", from: "b", to: "a", term: Number.NaN }),
    raftMessage({ type: "app", from: "b", to: "a", term: 3, index: 1, entries: [{ index: 5, term: 3, type: "normal", data: new Uint8Array(0) }] }),
    raftMessage({ type: "app", from: "b", to: "a", term: 3, index: -1 }),
    raftMessage({ type: "heartbeat", from: "b", to: "x", term: 3 }),
    raftMessage({ type: "heartbeat", from: "a", to: "a", term: 3 }),
    raftMessage({ type: "appResp", from: "zz", to: "a", term: 0, index: 1e9 }),
    raftMessage({ type: "snap", from: "b", to: "a", term: 3 }),
    raftMessage({ type: "heartbeat", from: "b", to: "a", term: 5, commit: 1e9 }),
    raftMessage({ type: "app", from: "b", to: "a", term: 5, index: 3, logTerm: 1, commit: 2, entries: [{ index: 4, term: 5, type: "confChange", data: new Uint8Array([250]) }] }),
  ];
  for (const m of bad) assert.doesNotThrow(() => node.step(m));
  const reasons = [...node.droppedMessages().keys()].join("; ");
  assert.match(reasons, /malformed/);
  assert.match(reasons, /addressed to another node/);
  assert.match(reasons, /from itself/);
  assert.match(reasons, /heartbeat commit past the log/);
  assert.ok(node.commitIndex <= node.lastIndex);
});
