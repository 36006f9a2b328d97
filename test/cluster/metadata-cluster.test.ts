// Scenario tests of brokers forming a metadata cluster (sim/testing/cluster-harness.ts): a seed and
// two joining brokers, CreateStream through any broker, racing creates of one name, the controller
// lost and replaced, a restarted broker catching up, a second seed refused, garbage on the subjects.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { ClusterHarness } from "../../sim/testing/cluster-harness.js";

const create = (name: string): ApiRequest => ({ kind: "createStream", name, subject: name, group: "", replicationFactor: 1, partitions: 1, overrides: {} });

function threeBrokers(): ClusterHarness {
  const c = new ClusterHarness();
  c.start("b1", { kind: "seed" });
  c.advance(500);
  c.start("b2", { kind: "join" });
  c.start("b3", { kind: "join" });
  c.advance(5000);
  return c;
}

function streamNames(c: ClusterHarness, id: string): string[] {
  const md = c.request(id, { kind: "fetchMetadata", streams: [] });
  assert.ok(md?.ok === true && md.value.kind === "metadata", `metadata from ${id}`);
  return md.value.streams.map((s) => s.name).sort();
}

test("a seed and two joining brokers form one cluster; CreateStream works through any of them", () => {
  const c = threeBrokers();
  assert.equal(c.controller(), "b1");
  assert.deepEqual([...c.mustGet("b1").broker.view.raft.node.confState().voters].sort(), ["b1", "b2", "b3"]);
  for (const [i, id] of ["b1", "b2", "b3"].entries()) {
    const r = c.request(id, create(`s${i}`));
    assert.deepEqual(r, { ok: true, value: { kind: "done" } }, `create through ${id}`);
    // Read your writes: the broker that answered has applied it.
    assert.ok(streamNames(c, id).includes(`s${i}`));
  }
  c.advance(1000);
  for (const id of ["b1", "b2", "b3"]) {
    assert.deepEqual(streamNames(c, id), ["s0", "s1", "s2"], `streams on ${id}`);
    const md = c.request(id, { kind: "fetchMetadata", streams: [] });
    assert.ok(md?.ok === true && md.value.kind === "metadata");
    assert.deepEqual(md.value.brokers.map((b) => b.id).sort(), ["b1", "b2", "b3"], `brokers listed by ${id}`);
  }
  // Each partition lives (is opened) on its leader only.
  const leaders = ["s0", "s1", "s2"].map((s) => c.mustGet("b1").broker.view.metadata.streams.get(s)?.partitions[0]?.leader);
  for (const [i, leader] of leaders.entries()) {
    for (const id of ["b1", "b2", "b3"]) assert.equal(c.mustGet(id).broker.view.partitions.has(`s${i}\u00000`), leader === id);
  }
  const rf3 = c.request("b2", { kind: "createStream", name: "x", subject: "x", group: "", replicationFactor: 3, partitions: 1, overrides: {} });
  assert.equal(rf3?.ok === false && rf3.error.code, "InvalidArgument", "replication factor 3 refused (no partition replication yet)");
});

test("racing CreateStreams of one name through three brokers: exactly one success", () => {
  const c = threeBrokers();
  const ids = new Map<string, number>();
  for (const id of ["b1", "b2", "b3"]) {
    const m = c.mustGet(id);
    const requestId = 1000 + ids.size;
    ids.set(id, requestId);
    m.runtime.step({ kind: "apiRequest", requestId, request: create("same"), ...c.time() });
  }
  c.advance(2000);
  const results = [...ids].map(([id, requestId]) => c.mustGet(id).effects.find((e) => e.kind === "apiResponse" && e.requestId === requestId));
  const codes = results.map((r) => (r?.kind === "apiResponse" ? (r.result.ok ? "ok" : r.result.error.code) : "none")).sort();
  assert.deepEqual(codes, ["StreamExists", "StreamExists", "ok"]);
});

test("the controller crashes: another takes over, nothing committed is lost, the old one restarts behind and catches up", () => {
  const c = threeBrokers();
  assert.equal(c.request("b2", create("before"))?.ok, true);
  c.crash("b1");
  const crashedAt = c.nowMs;
  // A client retries under a new name until a create succeeds (an unanswered one may still apply).
  let created: string | undefined;
  for (let i = 0; created === undefined && c.nowMs - crashedAt < 10_000; i++) {
    if (c.request("b3", create(`after${i}`), 500)?.ok === true) created = `after${i}`;
  }
  assert.ok(created !== undefined, "a CreateStream succeeds after the controller's crash");
  const controller = c.controller();
  assert.ok(controller === "b2" || controller === "b3", `new controller ${String(controller)}`);
  assert.ok(c.nowMs - crashedAt < 5000, `failover took ${c.nowMs - crashedAt} ms`);
  c.request("b2", create("while-down"));
  c.start("b1", { kind: "seed" });
  c.advance(3000);
  const names = streamNames(c, "b1");
  assert.ok(names.includes(created) && names.includes("before") && names.includes("while-down"), `b1 caught up: ${names.join()}`);
  assert.deepEqual(names, streamNames(c, "b2"), "b1 has what b2 has");
  assert.equal(c.request("b1", create("through-b1"))?.ok, true);
});

test("a second bootstrap seed on a fresh disk finds the running cluster and must exit", () => {
  const c = threeBrokers();
  const rogue = c.start("b9", { kind: "seed", probeMs: 1000 });
  c.advance(1500);
  assert.match(rogue.broker.view.fatal ?? "", /already runs/);
  assert.equal(rogue.broker.view.raft.node.confState().voters.length, 0, "it bootstrapped nothing");
  assert.equal(c.controller(), "b1");
});

test("a broker that joins with no cluster gives up after 30 requests", () => {
  const c = new ClusterHarness();
  const lonely = c.start("b5", { kind: "join" });
  c.advance(29_000, 500);
  assert.equal(lonely.broker.view.fatal, undefined);
  c.advance(2000, 500);
  assert.match(lonely.broker.view.fatal ?? "", /no metadata leader added this broker after 30 join requests/);
});

test("stray join requests (ids that cannot be members, or of no broker announcing itself) add no member", () => {
  const c = new ClusterHarness();
  const b1 = c.start("b1", { kind: "seed" });
  c.advance(500);
  const sid = [...b1.subs].find(([, subject]) => subject.endsWith(".raft.metadata.join"))?.[0];
  assert.ok(sid !== undefined, "the controller listens on join");
  for (const from of ["a.b", "*", "x y", "é".repeat(200), "ghost"]) {
    const data = new TextEncoder().encode(JSON.stringify({ v: 1, kind: "join", from }));
    b1.runtime.step({ kind: "natsMessages", messages: [{ sid, subject: "test.raft.metadata.join", reply: "", data }], ...c.time() });
    c.advance(500);
    assert.deepEqual(b1.broker.view.raft.node.confState(), { voters: ["b1"], learners: [] }, `join from ${from.slice(0, 12)}`);
    assert.equal(c.controller(), "b1", "the cluster of one keeps its leader");
  }
  assert.equal(c.request("b1", create("still"))?.ok, true);
});
