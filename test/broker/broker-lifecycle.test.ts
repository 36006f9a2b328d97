// Pause, resume, readonly, delete, restart, crash, full disk and failed disk (spec §1, §2.5).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { DiskError } from "../../src/core/disk.js";
import { decodeAckForSim } from "../../src/io/broker-wire-codec.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const createS = (partitions = 1): ApiRequest => ({ kind: "createStream", name: "s", subject: "s", group: "", replicationFactor: 1, partitions, overrides: {} });
const publishApi = (partition: number, value: string): ApiRequest => ({
  kind: "publish", stream: "s", partition, key: null, value: utf8(value), headers: [], ackInbox: "acks", correlationId: value, ackPolicy: "LEADER", expectedOffset: -1,
});

test("pause stops consumption and ends subscriptions; API publish resumes", () => {
  const h = new BrokerHarness();
  h.request(createS(2));
  h.publish("s", utf8("before"));
  const { sub } = h.subscribe({ stream: "s" });
  assert.equal(h.request({ kind: "pauseStream", name: "s", partitions: [], resumeAll: true }).ok, true);
  assert.deepEqual(sub.ended, { code: "PartitionPaused", message: "Partition paused" });
  assert.equal(h.natsSubs.size, 0, "paused partitions unsubscribe from NATS");
  h.publish("s", utf8("lost")); // plain NATS publishes to a paused partition are lost, as in Liftbridge
  const paused = h.subscribe({ stream: "s" });
  assert.equal(paused.result.ok ? "" : paused.result.error.code, "PartitionPaused");
  assert.equal(h.request(publishApi(1, "wake")).ok, true);
  assert.equal(h.natsSubs.size, 2, "resumeAll: publishing to one partition resumed both");
  h.deliverOwnPublishes();
  const resumed = h.subscribe({ stream: "s", partition: 1 });
  assert.deepEqual(resumed.sub.records.map((r) => text(r.value)), ["wake"]);
  assert.deepEqual(h.subscribe({ stream: "s" }).sub.records.map((r) => text(r.value)), ["before"]);
});

test("subscribe with resume:true resumes a paused partition", () => {
  const h = new BrokerHarness();
  h.request(createS());
  h.publish("s", utf8("x"));
  h.request({ kind: "pauseStream", name: "s", partitions: [0], resumeAll: false });
  const { sub, result } = h.subscribe({ stream: "s", resume: true });
  assert.equal(result.ok, true);
  assert.deepEqual(sub.records.map((r) => text(r.value)), ["x"]);
});

test("readonly: NATS messages dropped, subscribers drain and get End of readonly partition", () => {
  const h = new BrokerHarness();
  h.request(createS());
  h.publish("s", utf8("a"));
  h.publish("s", utf8("b"));
  const live = h.subscribe({ stream: "s" }).sub;
  h.request({ kind: "setStreamReadonly", name: "s", partitions: [], readonly: true });
  assert.deepEqual(live.ended, { code: "EndOfReadonlyPartition", message: "End of readonly partition" });
  h.publish("s", utf8("dropped"));
  const late = h.subscribe({ stream: "s" }).sub;
  assert.deepEqual(late.records.map((r) => text(r.value)), ["a", "b"]);
  assert.equal(late.ended?.code, "EndOfReadonlyPartition");
  h.request({ kind: "setStreamReadonly", name: "s", partitions: [], readonly: false });
  h.publish("s", utf8("c"));
  assert.deepEqual(h.subscribe({ stream: "s" }).sub.records.map((r) => text(r.value)), ["a", "b", "c"]);
});

test("delete ends subscriptions, removes the data, and survives restart", () => {
  const h = new BrokerHarness();
  h.request(createS());
  h.publish("s", utf8("x"));
  const { sub } = h.subscribe({ stream: "s" });
  assert.equal(h.request({ kind: "deleteStream", name: "s" }).ok, true);
  assert.deepEqual(sub.ended, { code: "StreamNotFound", message: "Stream deleted" });
  assert.equal(h.disk.stat("streams/s"), undefined);
  h.restart();
  const md = h.request({ kind: "fetchMetadata", streams: [] });
  assert.ok(md.ok && md.value.kind === "metadata" && md.value.streams.length === 0);
  h.request(createS());
  assert.equal(h.subscribe({ stream: "s" }).sub.records.length, 0, "a recreated stream starts empty");
});

test("restart recovers streams, flags and every record byte for byte", () => {
  const h = new BrokerHarness();
  h.request(createS(2));
  h.request({ kind: "setStreamReadonly", name: "s", partitions: [1], readonly: true });
  for (let i = 0; i < 30; i++) h.publish("s", utf8(`v${i}`), `r${i}`);
  const before = h.subscribe({ stream: "s" }).sub.records.map((r) => [r.offset, r.timestampNs, text(r.value), r.headers.map(([k, v]) => `${k}=${text(v)}`).join()]);
  h.restart();
  const after = h.subscribe({ stream: "s" }).sub.records.map((r) => [r.offset, r.timestampNs, text(r.value), r.headers.map(([k, v]) => `${k}=${text(v)}`).join()]);
  assert.deepEqual(after, before);
  const pm = h.request({ kind: "fetchPartitionMetadata", stream: "s", partition: 1 });
  assert.ok(pm.ok && pm.value.kind === "partitionMetadata");
  assert.equal(pm.value.metadata.readonly, true);
  const p0 = h.request({ kind: "fetchPartitionMetadata", stream: "s", partition: 0 });
  assert.ok(p0.ok && p0.value.kind === "partitionMetadata" && p0.value.metadata.highWatermark === 29, "one replica: HW after recovery = log end");
});

test("crash (power loss) under sync policy always keeps every acked message", () => {
  const h = new BrokerHarness();
  h.request(createS());
  const enc = (v: string) => h.codec.encodePublish({ key: null, value: utf8(v), headers: [], ackInbox: "acks", correlationId: v, ackPolicy: "LEADER", expectedOffset: -1 }, "s", "s");
  for (let i = 0; i < 20; i++) h.publish("s", enc(`m${i}`));
  const acked = h.sent.filter((s) => s.subject === "acks").map((s) => decodeAckForSim(s.data)?.correlationId);
  assert.equal(acked.length, 20);
  h.crash();
  assert.deepEqual(h.subscribe({ stream: "s" }).sub.records.map((r) => text(r.value)), acked);
});

test("a full disk refuses the write with error acks and loses nothing already stored", () => {
  const h = new BrokerHarness();
  h.request(createS());
  for (let i = 0; i < 5; i++) h.publish("s", utf8(`kept${i}`));
  // Room for the small repair writes (buffered index entries), not for the big message.
  h.disk.setFaults({ capacityBytes: h.disk.usedBytes() + 300 });
  h.publish("s", h.codec.encodePublish({ key: null, value: utf8("x".repeat(500)), headers: [], ackInbox: "acks", correlationId: "big", ackPolicy: "ALL", expectedOffset: -1 }, "s", "s"));
  const ack = h.sent.map((s) => decodeAckForSim(s.data)).find((a) => a?.correlationId === "big");
  assert.equal(ack?.ackError, "UNKNOWN");
  h.disk.setFaults({ capacityBytes: undefined });
  h.publish("s", utf8("after"));
  assert.deepEqual(h.subscribe({ stream: "s" }).sub.records.map((r) => text(r.value)), ["kept0", "kept1", "kept2", "kept3", "kept4", "after"]);
  h.crash();
  assert.deepEqual(h.subscribe({ stream: "s" }).sub.records.map((r) => text(r.value)), ["kept0", "kept1", "kept2", "kept3", "kept4", "after"]);
});

test("a disk too full even to repair after ENOSPC keeps refusing writes, then recovers by itself", () => {
  const h = new BrokerHarness();
  h.request(createS());
  for (let i = 0; i < 5; i++) h.publish("s", utf8(`kept${i}`));
  h.disk.setFaults({ capacityBytes: h.disk.usedBytes() });
  h.publish("s", utf8("x".repeat(500)));
  const create = h.request({ kind: "createStream", name: "t", subject: "t", group: "", replicationFactor: 1, partitions: 1, overrides: {} });
  assert.equal(create.ok ? "" : create.error.code, "DiskFull", "refused work, not a failed disk");
  assert.equal(h.broker.view.failed, undefined);
  assert.deepEqual(h.subscribe({ stream: "s" }).sub.records.map((r) => text(r.value)), ["kept0", "kept1", "kept2", "kept3", "kept4"], "reads go on");
  h.disk.setFaults({ capacityBytes: undefined });
  h.tick(1000);
  h.publish("s", utf8("after"));
  h.crash();
  assert.deepEqual(h.subscribe({ stream: "s" }).sub.records.map((r) => text(r.value)), ["kept0", "kept1", "kept2", "kept3", "kept4", "after"]);
});

test("a failed disk (EIO) on a partition's lane is fail-stop for it: its writes refused, other streams go on, nothing acked lost", () => {
  const h = new BrokerHarness();
  h.request(createS());
  h.publish("s", utf8("safe"));
  h.failPersistWith = new DiskError("EIO", "fdatasync", "streams/s/0/00000000000000000000.log");
  h.publish("s", utf8("doomed"));
  h.failPersistWith = undefined;
  const create = h.request({ kind: "createStream", name: "t", subject: "t", group: "", replicationFactor: 1, partitions: 1, overrides: {} });
  assert.equal(create.ok, true, "the metadata lane is healthy");
  assert.equal(h.request({ kind: "fetchMetadata", streams: [] }).ok, true);
  assert.deepEqual([...h.natsSubs.values()].map((s) => s.subject), ["t"], "the failed partition stops consuming; the new one consumes");
  assert.equal(h.subscribe({ stream: "s" }).result.ok ? "" : "refused", "refused", "the failed partition serves no reads until a restart");
  h.publish("t", utf8("healthy"));
  assert.deepEqual(h.subscribe({ stream: "t" }).sub.records.map((r) => text(r.value)), ["healthy"]);
  h.crash();
  assert.deepEqual(h.subscribe({ stream: "s" }).sub.records.map((r) => text(r.value)), ["safe"]);
});
