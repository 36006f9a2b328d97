// Broker core API behaviour against spec §2.5 (error codes and messages clients match on).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";

const create = (over: Partial<Extract<ApiRequest, { kind: "createStream" }>> = {}): ApiRequest => ({
  kind: "createStream", name: "s", subject: "s", group: "", replicationFactor: 0, partitions: 0, overrides: {}, ...over,
});

function errorOf(h: BrokerHarness, request: ApiRequest): { code: string; message: string } {
  const r = h.request(request);
  assert.equal(r.ok, false, `expected ${request.kind} to fail`);
  return r.ok ? { code: "", message: "" } : r.error;
}

test("CreateStream validates like Liftbridge", () => {
  const h = new BrokerHarness();
  assert.deepEqual(errorOf(h, create({ name: "" })), { code: "InvalidArgument", message: "Name cannot be empty" });
  assert.deepEqual(errorOf(h, create({ name: "__cursors" })), { code: "InvalidArgument", message: "Stream is reserved" });
  assert.deepEqual(errorOf(h, create({ subject: "a..b" })), { code: "InvalidArgument", message: "Subject is invalid" });
  assert.deepEqual(errorOf(h, create({ subject: "a b" })), { code: "InvalidArgument", message: "Subject is invalid" });
  assert.equal(errorOf(h, create({ partitions: -1 })).code, "InvalidArgument");
  assert.equal(errorOf(h, create({ name: "../x" })).code, "InvalidArgument");
  assert.equal(errorOf(h, create({ subject: "w.>", partitions: 2 })).code, "InvalidArgument");
  assert.deepEqual(errorOf(h, create({ replicationFactor: 2 })), { code: "InvalidArgument", message: "Invalid replicationFactor 2, cluster size 1" });
  assert.equal(errorOf(h, create({ overrides: { segmentMaxBytes: 1 } })).code, "InvalidArgument");
  assert.equal(h.request(create({ replicationFactor: -1, partitions: 3 })).ok, true);
  assert.deepEqual(errorOf(h, create()), { code: "StreamExists", message: "stream already exists" });
  // Nothing failed left a trace: exactly one stream with three partitions.
  const md = h.request({ kind: "fetchMetadata", streams: [] });
  assert.ok(md.ok && md.value.kind === "metadata");
  assert.deepEqual(md.value.streams.map((s) => [s.name, s.partitions.length]), [["s", 3]]);
});

test("FetchMetadata reports unknown streams and partition offsets", () => {
  const h = new BrokerHarness();
  h.request(create());
  h.publish("s", new TextEncoder().encode("x"));
  const md = h.request({ kind: "fetchMetadata", streams: ["s", "nope"] });
  assert.ok(md.ok && md.value.kind === "metadata");
  assert.equal(md.value.brokers.length, 1);
  assert.equal(md.value.brokers[0]?.partitionCount, 1);
  const [s, nope] = md.value.streams;
  assert.equal(nope?.error, "UNKNOWN_STREAM");
  assert.equal(s?.error, "OK");
  assert.equal(s?.partitions[0]?.highWatermark, 0);
  assert.equal(s?.partitions[0]?.newestOffset, 0);
  assert.ok((s?.partitions[0]?.messagesReceivedTimestamps.firstNs ?? 0n) > 0n);
  const pm = h.request({ kind: "fetchPartitionMetadata", stream: "s", partition: 5 });
  assert.deepEqual(pm.ok ? undefined : pm.error, { code: "PartitionNotFound", message: "partition not found" });
});

test("Delete, pause and readonly report unknown streams and partitions", () => {
  const h = new BrokerHarness();
  assert.deepEqual(errorOf(h, { kind: "deleteStream", name: "x" }), { code: "StreamNotFound", message: "stream does not exist" });
  assert.equal(errorOf(h, { kind: "deleteStream", name: "__activity" }).code, "InvalidArgument");
  h.request(create({ partitions: 2 }));
  assert.equal(errorOf(h, { kind: "pauseStream", name: "s", partitions: [7], resumeAll: false }).code, "PartitionNotFound");
  assert.equal(errorOf(h, { kind: "setStreamReadonly", name: "x", partitions: [], readonly: true }).code, "StreamNotFound");
});

test("Publish validates, then sends the envelope to the partition subject", () => {
  const h = new BrokerHarness();
  h.request(create({ partitions: 2 }));
  h.request(create({ name: "w", subject: "w.*" }));
  const pub = (over: Partial<Extract<ApiRequest, { kind: "publish" }>>): ApiRequest => ({
    kind: "publish", stream: "s", partition: 0, key: null, value: new Uint8Array([1]), headers: [], ackInbox: "in", correlationId: "c", ackPolicy: "LEADER", expectedOffset: -1, ...over,
  });
  assert.deepEqual(errorOf(h, pub({ stream: "" })), { code: "InvalidArgument", message: "no stream provided" });
  assert.deepEqual(errorOf(h, pub({ stream: "zz" })), { code: "StreamNotFound", message: "no such stream: zz" });
  assert.deepEqual(errorOf(h, pub({ partition: 2 })), { code: "PartitionNotFound", message: "no such partition: 2" });
  assert.equal(errorOf(h, pub({ stream: "w" })).code, "InvalidArgument");
  for (const ackInbox of ["a b", "x\r\nPUB y 1", "a..b", "a.>"]) {
    assert.deepEqual(errorOf(h, pub({ ackInbox })), { code: "InvalidArgument", message: `ack inbox ${JSON.stringify(ackInbox)} is not a valid NATS publish subject` });
  }
  const ok = h.request(pub({ partition: 1 }));
  assert.ok(ok.ok && ok.value.kind === "published");
  assert.equal(ok.value.subject, "s.1");
  assert.deepEqual(h.sent.map((s) => s.subject), ["s.1"]);
  h.request({ kind: "setStreamReadonly", name: "s", partitions: [1], readonly: true });
  assert.deepEqual(errorOf(h, pub({ partition: 1 })), { code: "ReadonlyPartition", message: "readonly partition: 1" });
});
