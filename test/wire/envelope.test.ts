// The Liftbridge envelope (spec §3.1), publish classification and the replication response (§4.3).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeWire } from "../../src/io/wire/api-codec.js";
import {
  MsgType, decodeEnvelope, decodeEnvelopeOf, encodeAckEnvelope, encodeEnvelope, encodeEnvelopeWithCrc,
  encodePublishEnvelope, parsePublishPayload,
} from "../../src/io/wire/envelope.js";
import { encodeMessage } from "../../src/io/wire/message-encoder.js";
import { decodeReplicationResponse, encodeReplicationResponse } from "../../src/io/wire/replication-response.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

test("golden: the server's envelope (header length 8, no flags)", () => {
  assert.equal(hex(encodeEnvelope(MsgType.Ack, new Uint8Array([1, 2, 3]))), "b90e43b400080001" + "010203");
  const d = decodeEnvelope(Buffer.from("b90e43b40008000e0a0173", "hex"));
  assert.deepEqual(d.ok && { t: d.value.msgType, p: hex(d.value.payload) }, { t: MsgType.PartitionNotification, p: "0a0173" });
});

test("golden: an envelope with CRC-32C (header length 12, flag bit 0, big-endian CRC of the payload)", () => {
  // CRC-32C("123456789") = 0xE3069283, the standard check value.
  const withCrc = encodeEnvelopeWithCrc(MsgType.Publish, ascii("123456789"));
  assert.equal(hex(withCrc), "b90e43b4000c0100" + "e3069283" + hex(ascii("123456789")));
  const d = decodeEnvelope(withCrc);
  assert.ok(d.ok);
  assert.equal(d.value.msgType, MsgType.Publish);
  assert.equal(hex(d.value.payload), hex(ascii("123456789")));
});

test("decodeEnvelope errors are typed and say what is wrong", () => {
  const good = encodeEnvelopeWithCrc(MsgType.Publish, ascii("123456789"));
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([0xb9, 0x0e, 0x43, 0xb4, 0, 8, 0]), /missing envelope header/],
    [Buffer.from("b90e43b5000800000a", "hex"), /magic number/],
    [Buffer.from("b90e43b4010800000a", "hex"), /unknown envelope protocol: 1/],
    [Buffer.from("b90e43b4000801000a", "hex"), /incorrect envelope header size/],
    [Buffer.from("b90e43b4000900000a", "hex"), /header length: 9/],
    [Buffer.from("b90e43b4000c0000aa", "hex"), /shorter than envelope header/],
    [Uint8Array.from(good, (b, i) => (i === good.length - 1 ? b ^ 1 : b)), /crc mismatch/],
  ];
  for (const [data, message] of cases) {
    const d = decodeEnvelope(data);
    assert.equal(d.ok, false, hex(data));
    if (!d.ok) {
      assert.equal(d.error.code, "InvalidArgument");
      assert.match(d.error.message, message);
    }
  }
  const wrongType = decodeEnvelopeOf(encodeEnvelope(MsgType.Ack, new Uint8Array()), MsgType.Publish);
  assert.ok(!wrongType.ok && /MsgType mismatch: expected 0, got 1/.test(wrongType.error.message));
});

test("parsePublishPayload: a MsgType-0 envelope yields the publish fields", () => {
  const data = encodePublishEnvelope({
    offset: -1n, key: ascii("k"), value: ascii("v"), stream: "orders", subject: "foo",
    headers: [["h", ascii("x")]], ackInbox: "inbox.1", correlationId: "c1", ackPolicy: 1,
  });
  const p = parsePublishPayload(data);
  assert.equal(p.kind, "envelope");
  if (p.kind !== "envelope") return;
  assert.equal(hex(p.message.key), hex(ascii("k")));
  assert.equal(hex(p.message.value), hex(ascii("v")));
  assert.equal(p.message.expectedOffset, -1n);
  assert.equal(p.message.ackInbox, "inbox.1");
  assert.equal(p.message.correlationId, "c1");
  assert.equal(p.message.ackPolicy, 1);
  assert.equal(hex(p.message.headers.get("h")!), hex(ascii("x")));
  // With a client-set CRC too.
  assert.equal(parsePublishPayload(encodeEnvelopeWithCrc(MsgType.Publish, encodeMessage({ value: ascii("v") }))).kind, "envelope");
});

test("parsePublishPayload: everything else is raw, stored verbatim", () => {
  const message = encodeMessage({ value: ascii("v") });
  const good = encodeEnvelopeWithCrc(MsgType.Publish, message);
  const raws: Uint8Array[] = [
    ascii("hello"), // plain payload
    new Uint8Array(0),
    good.subarray(0, 7), // short
    Uint8Array.from(good, (b, i) => (i === 0 ? 0 : b)), // bad magic
    Uint8Array.from(good, (b, i) => (i === 4 ? 1 : b)), // wrong version
    Uint8Array.from(good, (b, i) => (i === good.length - 1 ? b ^ 0x80 : b)), // bad CRC
    encodeEnvelope(MsgType.Ack, message), // wrong MsgType
    encodeEnvelope(MsgType.Publish, new Uint8Array([0x1a, 0x05, 0x01])), // undecodable protobuf
  ];
  for (const data of raws) assert.equal(parsePublishPayload(data).kind, "raw", hex(data));
});

test("parsePublishPayload and decodeEnvelope never throw on arbitrary bytes", () => {
  const header = fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(8, 12, 0, 255), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 20 }));
  const envelopeLike = fc
    .tuple(header, fc.uint8Array({ maxLength: 40 }))
    .map(([[v, len, flags, type], rest]) => new Uint8Array([0xb9, 0x0e, 0x43, 0xb4, v, len, flags, type, ...rest]));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), envelopeLike), (data) => {
      const p = parsePublishPayload(data);
      assert.ok(p.kind === "raw" || p.kind === "envelope");
      assert.equal(typeof decodeEnvelope(data).ok, "boolean");
    }),
    { numRuns: 3000 },
  );
});

test("encodeAckEnvelope: MsgType 1 around a proto.Ack that protobufjs decodes", () => {
  const data = encodeAckEnvelope({
    stream: "orders", partitionSubject: "foo", msgSubject: "foo.1", offset: 41, ackInbox: "in", correlationId: "c",
    ackPolicy: 1, receptionTimestamp: 1_700_000_000_000_000_001n, commitTimestamp: 1_700_000_000_000_000_002n, ackError: 2,
  });
  assert.equal(hex(data.subarray(0, 8)), "b90e43b400080001");
  const payload = decodeEnvelopeOf(data, MsgType.Ack);
  assert.ok(payload.ok);
  const ack = decodeWire("proto.Ack", payload.value);
  assert.ok(ack.ok);
  assert.deepEqual(ack.value, {
    stream: "orders", partitionSubject: "foo", msgSubject: "foo.1", offset: 41n, ackInbox: "in", correlationId: "c",
    ackPolicy: 1, receptionTimestamp: 1_700_000_000_000_000_001n, commitTimestamp: 1_700_000_000_000_000_002n, ackError: 2,
  });
});

test("replication response: golden header, round trip, errors", () => {
  const records = [new Uint8Array([1, 2, 3]), new Uint8Array([4])];
  const data = encodeReplicationResponse(7, -1, records);
  assert.equal(hex(data), "b90e43b400080003" + "0000000000000007" + "ffffffffffffffff" + "01020304");
  const d = decodeReplicationResponse(data);
  assert.ok(d.ok);
  assert.deepEqual({ ...d.value, records: hex(d.value.records) }, { leaderEpoch: 7, highWatermark: -1, records: "01020304" });
  const big = decodeReplicationResponse(encodeReplicationResponse(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, []));
  assert.ok(big.ok && big.value.leaderEpoch === Number.MAX_SAFE_INTEGER && big.value.records.length === 0);
  const short = decodeReplicationResponse(data.subarray(0, 23));
  assert.ok(!short.ok && short.error.message === "not enough data");
  const wrongType = decodeReplicationResponse(encodeEnvelope(MsgType.Ack, new Uint8Array(16)));
  assert.ok(!wrongType.ok && /MsgType mismatch/.test(wrongType.error.message));
  const hugeEpoch = Uint8Array.from(data, (b, i) => (i === 8 ? 0xff : b));
  assert.ok(!decodeReplicationResponse(hugeEpoch).ok);
  assert.throws(() => encodeReplicationResponse(-1, 0, []), /leaderEpoch/);
});
