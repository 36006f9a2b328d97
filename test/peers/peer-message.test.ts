// Broker-to-broker messages: Liftbridge's internal subjects parse into typed routes, and a broker
// without peers refuses each one with a logged, typed refusal (never a crash, never silence).
import assert from "node:assert/strict";
import test from "node:test";
import { parsePeerSubject } from "../../src/core/peers/peer-subject.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";

test("internal subjects parse into routes (spec §3.3)", () => {
  const ns = "liftbridge-default";
  assert.deepEqual(parsePeerSubject(ns, `${ns}.orders.3.replicate`), { kind: "replicate", stream: "orders", partition: 3 });
  assert.deepEqual(parsePeerSubject(ns, `${ns}.a.b.0.offset`), { kind: "leaderEpochOffset", stream: "a.b", partition: 0 });
  assert.deepEqual(parsePeerSubject(ns, `${ns}.notify.b2`), { kind: "partitionNotification", server: "b2" });
  assert.deepEqual(parsePeerSubject(ns, `${ns}.raft.metadata.propagate`), { kind: "metadataRequest", name: "propagate" });
  assert.deepEqual(parsePeerSubject(ns, `${ns}.raft.metadata.status.b3`), { kind: "metadataRequest", name: "status", server: "b3" });
  assert.deepEqual(parsePeerSubject(ns, `${ns}.raft.metadata.b2.request._INBOX.x`), { kind: "raft", server: "b2", channel: "request._INBOX.x" });
  for (const bad of ["other.orders.0.replicate", `${ns}.orders.01.replicate`, `${ns}.orders.x.replicate`, `${ns}..0.replicate`, `${ns}.notify`, `${ns}.raft.metadata.b2.nope`, ns, `${ns}.orders.0.fetch`]) {
    assert.equal(parsePeerSubject(ns, bad), undefined, bad);
  }
});

test("a peer message is refused with a logged, typed refusal and the broker goes on", () => {
  const h = new BrokerHarness();
  const t = h.time();
  const cases = [
    { subject: "test.orders.0.replicate", code: "NoPeerHandler" },
    { subject: "garbage.\u0000", code: "UnknownPeerMessage" },
    { subject: "", code: "UnknownPeerMessage" },
  ];
  for (const c of cases) {
    const out = h.broker.step({ kind: "peerMessage", message: { from: "b2" as never, subject: c.subject, data: new Uint8Array(3) }, ...t });
    const line = out.log.find((l) => l.msg === "peer message refused");
    assert.equal(line?.level, "warn");
    assert.equal(line?.fields?.["code"], c.code);
    assert.equal(out.persist.length + out.send.length + out.reply.length, 0);
  }
  assert.deepEqual(h.request({ kind: "createStream", subject: "s", name: "s", group: "", replicationFactor: 1, partitions: 1, overrides: {} }), { ok: true, value: { kind: "done" } });
});
