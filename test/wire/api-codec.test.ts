// Typed protobufjs codecs: round trips with exact int64 (bigint), bytes, maps; bad input is an error value.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeProtoObject, decodeWire, encodeProtoObject, encodeWire } from "../../src/io/wire/api-codec.js";
import { AckPolicy, StartPosition } from "../../src/io/wire/api-types.js";
import { encodeMessage } from "../../src/io/wire/message-encoder.js";
import { protoType } from "../../src/io/wire/proto-root.js";

const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const EXTREMES = [-1n, 0n, 2n ** 53n + 1n, INT64_MAX, -(2n ** 63n), 1_700_000_000_000_000_001n];
const b = (...xs: number[]): Uint8Array => new Uint8Array(xs);

test("Message round trips with int64 extremes, bytes and headers; equals the hand encoder's bytes", () => {
  for (const v of EXTREMES) {
    const m = {
      offset: v, key: b(1), value: b(2, 3), timestamp: v, stream: "s", partition: -5, subject: "foo",
      replySubject: "r", headers: new Map([["h", b(9)], ["", b()]]), ackInbox: "i", correlationId: "c", ackPolicy: AckPolicy.ALL,
    };
    const bytes = encodeWire("proto.Message", m);
    assert.deepEqual(bytes, encodeMessage(m));
    const d = decodeWire("proto.Message", bytes);
    assert.ok(d.ok);
    assert.deepEqual(d.value, m);
  }
});

test("absent fields decode to proto3 defaults; defaults are not encoded", () => {
  assert.equal(encodeWire("proto.Message", { offset: 0n, stream: "", partition: 0 }).length, 0);
  const d = decodeWire("proto.Ack", new Uint8Array(0));
  assert.ok(d.ok);
  assert.deepEqual(d.value, {
    stream: "", partitionSubject: "", msgSubject: "", offset: 0n, ackInbox: "", correlationId: "", ackPolicy: 0,
    receptionTimestamp: 0n, commitTimestamp: 0n, ackError: 0,
  });
});

test("PublishRequest, PublishResponse, PublishToSubjectRequest round trip", () => {
  const req = {
    key: b(1), value: b(2), stream: "orders", partition: 3, headers: new Map([["a", b(1)]]), ackInbox: "in",
    correlationId: "c", ackPolicy: AckPolicy.NONE, expectedOffset: INT64_MAX,
  };
  assert.deepEqual((decodeWire("proto.PublishRequest", encodeWire("proto.PublishRequest", req)) as { value: unknown }).value, req);
  const ack = {
    stream: "s", partitionSubject: "p", msgSubject: "m", offset: 7n, ackInbox: "", correlationId: "c", ackPolicy: 1,
    receptionTimestamp: 1_700_000_000_000_000_001n, commitTimestamp: 1_700_000_000_000_000_002n, ackError: 2,
  };
  const resp = { ack, asyncError: { code: 5, message: "incorrect expected offset" }, correlationId: "c" };
  const d = decodeWire("proto.PublishResponse", encodeWire("proto.PublishResponse", resp));
  assert.ok(d.ok);
  assert.deepEqual(d.value, resp);
  // A response without ack or asyncError has neither property after decoding.
  const bare = decodeWire("proto.PublishResponse", encodeWire("proto.PublishResponse", { correlationId: "x" }));
  assert.ok(bare.ok && !("ack" in bare.value) && !("asyncError" in bare.value));
  const pts = { key: b(), value: b(5), subject: "a.b", headers: new Map<string, Uint8Array>(), ackInbox: "", correlationId: "", ackPolicy: 0 };
  const p = decodeWire("proto.PublishToSubjectRequest", encodeWire("proto.PublishToSubjectRequest", pts));
  assert.ok(p.ok);
  assert.deepEqual(p.value, pts);
});

test("SubscribeRequest and CreateStreamRequest round trip (Nullable presence kept, even at zero)", () => {
  const sub = {
    stream: "s", partition: 1, startPosition: StartPosition.TIMESTAMP, startOffset: -1n, startTimestamp: 1_700_000_000_000_000_000n,
    readISRReplica: true, resume: false, stopPosition: 1, stopOffset: INT64_MAX, stopTimestamp: 0n,
    consumer: { groupId: "g", groupEpoch: UINT64_MAX, consumerId: "c" },
  };
  const s = decodeWire("proto.SubscribeRequest", encodeWire("proto.SubscribeRequest", sub));
  assert.ok(s.ok);
  assert.deepEqual(s.value, sub);
  const create = {
    subject: "foo", name: "orders", group: "", replicationFactor: 3, partitions: 2,
    retentionMaxAge: { value: 0n }, minIsr: { value: 2 }, compactEnabled: { value: false }, segmentMaxBytes: { value: INT64_MAX },
  };
  const c = decodeWire("proto.CreateStreamRequest", encodeWire("proto.CreateStreamRequest", create));
  assert.ok(c.ok);
  assert.deepEqual(c.value, create);
  assert.ok(!("retentionMaxBytes" in c.value));
});

test("FetchMetadataResponse round trips with a map<int32, PartitionMetadata> as a Map<number, ...>", () => {
  const pm = {
    id: 0, leader: "a", replicas: ["a", "b"], isr: ["a"], highWatermark: -1n, newestOffset: 2n ** 53n + 1n, paused: false,
    readonly: true, messagesReceivedTimestamps: { firstTimestamp: 1_700_000_000_000_000_001n, latestTimestamp: 0n },
  };
  const resp = {
    brokers: [{ id: "a", host: "127.0.0.1", port: 9292, partitionCount: 1, leaderCount: 1 }],
    streamMetadata: [{ name: "orders", subject: "foo", error: 0, partitions: new Map([[0, pm], [7, { ...pm, id: 7 }]]), creationTimestamp: 5n }],
    groupMetadata: [{ groupId: "g", error: 1, coordinator: "", epoch: UINT64_MAX }],
  };
  const d = decodeWire("proto.FetchMetadataResponse", encodeWire("proto.FetchMetadataResponse", resp));
  assert.ok(d.ok);
  assert.deepEqual(d.value, resp);
});

test("internal messages round trip; Go's uint64/int64 extremes survive", () => {
  const rr = { replicaID: "b", offset: -1n, leaderEpoch: UINT64_MAX };
  assert.deepEqual((decodeWire("protocol.ReplicationRequest", encodeWire("protocol.ReplicationRequest", rr)) as { value: unknown }).value, rr);
  const leo = { endOffset: INT64_MAX };
  assert.deepEqual((decodeWire("protocol.LeaderEpochOffsetResponse", encodeWire("protocol.LeaderEpochOffsetResponse", leo)) as { value: unknown }).value, leo);
  // Untyped access to any message: RaftLog with a nested op.
  const log = { op: 1, shrinkISROp: { stream: "s", partition: 0, replicaToRemove: "b", leader: "a", leaderEpoch: 3n } };
  const d = decodeProtoObject("protocol.RaftLog", encodeProtoObject("protocol.RaftLog", log));
  assert.ok(d.ok);
  assert.deepEqual(d.value["shrinkISROp"], log.shrinkISROp);
  assert.equal(d.value["op"], 1);
});

test("bytes decoded are plain Uint8Array views and the wire bytes match protobufjs's own encoding", () => {
  const type = protoType("protocol.ReplicationRequest");
  const ours = encodeWire("protocol.ReplicationRequest", { replicaID: "x", offset: 1_700_000_000_000_000_001n });
  const theirs = type.encode(type.fromObject({ replicaID: "x", offset: "1700000000000000001" })).finish();
  assert.deepEqual(Buffer.from(ours), Buffer.from(theirs));
  const m = decodeWire("proto.Message", encodeWire("proto.Message", { value: b(1, 2) }));
  assert.ok(m.ok);
  assert.equal(Object.getPrototypeOf(m.value.value), Uint8Array.prototype);
});

test("malformed input is an InvalidArgument error, not an exception", () => {
  for (const bad of [b(0x0a, 0x05, 0x01), b(0x08), b(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)]) {
    const d = decodeWire("proto.SubscribeRequest", bad);
    assert.equal(d.ok, false);
    if (!d.ok) assert.equal(d.error.code, "InvalidArgument");
  }
});
