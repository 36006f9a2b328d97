// The hand-written Message/Ack encoders and the Message decoder agree with protobufjs (the
// reference implementation of the same .proto), byte for byte for canonical input.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeAck } from "../../src/io/wire/ack-encoder.js";
import type { AckFields } from "../../src/io/wire/ack-encoder.js";
import { decodeMessage } from "../../src/io/wire/message-decoder.js";
import type { MessageFields } from "../../src/io/wire/message-encoder.js";
import { GRPC_FRAME_PREFIX_BYTES, encodeFramedMessages, encodeMessage, framedMessages, messageSize } from "../../src/io/wire/message-encoder.js";
import { protoType } from "../../src/io/wire/proto-root.js";

const MessageType = protoType("proto.Message");
const AckType = protoType("proto.Ack");

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const int64 = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.constantFrom(0n, -1n, 1n, 2n ** 53n + 1n, INT64_MAX, INT64_MIN, 1_700_000_000_123_456_789n),
);
const int32 = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(0, -1, 1, 127, 128));
const text = fc.string({ unit: "grapheme", maxLength: 20 });
const bytes = fc.uint8Array({ maxLength: 40 });
// Integer-like keys would be reordered by a JS object (the protobufjs input), so keep them out
// of the byte-equality property; the decoder property below covers them.
const headerName = text.filter((k) => !/^(0|[1-9]\d*)$/.test(k));
const headers = fc.uniqueArray(fc.tuple(headerName, bytes), { selector: ([k]) => k, maxLength: 4 });

const messageFields = fc.record({
  offset: fc.oneof(int64, fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER })),
  key: bytes,
  value: bytes,
  timestamp: int64,
  stream: text,
  partition: int32,
  subject: text,
  replySubject: text,
  headers,
  ackInbox: text,
  correlationId: text,
  ackPolicy: int32,
});

type Fields = Record<string, unknown>;

/** The same message as protobufjs input: proto3 defaults left out, int64 as decimal strings. */
function toProtobufInput(m: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(m)) {
    if (k === "headers") {
      const entries = v as [string, Uint8Array][];
      if (entries.length > 0) out[k] = Object.fromEntries(entries);
    } else if (typeof v === "bigint" || (typeof v === "number" && (k === "offset" || k.endsWith("imestamp")))) {
      if (BigInt(v) !== 0n) out[k] = String(v);
    } else if (!(v === 0 || v === "" || (v instanceof Uint8Array && v.length === 0))) {
      out[k] = v;
    }
  }
  return out;
}

function protobufjsEncode(type: typeof MessageType, m: Fields): Uint8Array {
  return type.encode(type.fromObject(toProtobufInput(m))).finish();
}

test("encodeMessage equals protobufjs's canonical encoding, byte for byte", () => {
  fc.assert(
    fc.property(messageFields, (m) => {
      assert.deepEqual(Buffer.from(encodeMessage(m)), Buffer.from(protobufjsEncode(MessageType, m)));
      assert.equal(messageSize(m), encodeMessage(m).length);
    }),
    { numRuns: 500 },
  );
});

test("encodeMessage bytes decode (protobufjs and decodeMessage) to the same values", () => {
  const allNames = fc.uniqueArray(fc.tuple(text, bytes), { selector: ([k]) => k, maxLength: 4 });
  fc.assert(
    fc.property(messageFields, allNames, (m, hs) => {
      const encoded = encodeMessage({ ...m, headers: hs });
      const ref = MessageType.toObject(MessageType.decode(encoded), { longs: String, defaults: true });
      const mine = decodeMessage(encoded);
      assert.ok(mine.ok);
      const d = mine.value;
      assert.equal(d.offset, BigInt(m.offset));
      assert.equal(BigInt(ref["offset"] as string), BigInt(m.offset));
      assert.equal(d.timestamp, m.timestamp);
      assert.equal(BigInt(ref["timestamp"] as string), m.timestamp);
      for (const k of ["stream", "subject", "replySubject", "ackInbox", "correlationId", "partition", "ackPolicy"] as const) {
        assert.equal(d[k], m[k], k);
        assert.equal(ref[k], m[k], k);
      }
      assert.deepEqual([...d.key], [...m.key]);
      assert.deepEqual([...d.value], [...m.value]);
      assert.deepEqual([...(ref["value"] as Uint8Array)], [...m.value]);
      const expected = new Map(hs.map(([k, v]) => [k, [...v]]));
      assert.deepEqual(new Map([...d.headers].map(([k, v]) => [k, [...v]])), expected);
      const refHeaders = Object.entries(ref["headers"] as Record<string, Uint8Array>);
      assert.deepEqual(new Map(refHeaders.map(([k, v]) => [k, [...v]])), expected);
    }),
    { numRuns: 500 },
  );
});

test("a 1.7e18 ns timestamp and int64 extremes round trip exactly", () => {
  for (const v of [-1n, 0n, 2n ** 53n + 1n, INT64_MAX, INT64_MIN, 1_700_000_000_000_000_001n]) {
    const d = decodeMessage(encodeMessage({ offset: v, timestamp: v }));
    assert.ok(d.ok);
    assert.equal(d.value.offset, v);
    assert.equal(d.value.timestamp, v);
  }
  // Offsets as plain numbers encode like the equal bigint (-1 is ten 0xff-ish bytes, as in Go).
  assert.deepEqual(encodeMessage({ offset: -1 }), encodeMessage({ offset: -1n }));
  assert.deepEqual([...encodeMessage({ offset: -1 })], [0x08, ...Array<number>(9).fill(0xff), 0x01]);
  assert.deepEqual(encodeMessage({ offset: Number.MAX_SAFE_INTEGER }), encodeMessage({ offset: BigInt(Number.MAX_SAFE_INTEGER) }));
});

test("encodeFramedMessages is grpc-js's framing of one-by-one encodings, back to back in one buffer", () => {
  fc.assert(
    fc.property(fc.array(messageFields, { maxLength: 8 }), (ms) => {
      const framed = encodeFramedMessages(ms);
      const singles = ms.map((m) => encodeMessage(m));
      // What grpc-js writes per message: flag 0, u32 big-endian length, the message.
      const expected = singles.flatMap((b) => [0, b.length >>> 24, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff, ...b]);
      assert.deepEqual([...framed], expected);
      const views = framedMessages(framed);
      assert.equal(views.length, ms.length);
      singles.forEach((b, i) => {
        assert.deepEqual(views[i], b);
        assert.equal(views[i].buffer, framed.buffer);
      });
    }),
    { numRuns: 200 },
  );
});

test("framedMessages rejects a compressed flag and a frame running past the end", () => {
  const framed = encodeFramedMessages([{ offset: 5 }, { value: new Uint8Array([1, 2, 3]) }]);
  const compressed = framed.slice();
  compressed[0] = 1;
  assert.throws(() => framedMessages(compressed), /no uncompressed frame prefix at 0/);
  assert.throws(() => framedMessages(framed.subarray(0, framed.length - 1)), /runs past the end/);
  assert.throws(() => framedMessages(framed.subarray(0, GRPC_FRAME_PREFIX_BYTES - 1)), /no uncompressed frame prefix/);
});

test("string fields given as UTF-8 bytes encode exactly like the strings", () => {
  const utf8 = new TextEncoder();
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), fc.string(), fc.string({ unit: "binary" }), (stream, subject, reply) => {
      const asStrings = encodeMessage({ offset: 1, stream, subject, replySubject: reply });
      const asBytes = encodeMessage({ offset: 1, stream: utf8.encode(stream), subject: utf8.encode(subject), replySubject: utf8.encode(reply) });
      assert.deepEqual(asBytes, asStrings);
    }),
    { numRuns: 300 },
  );
});

test("a one-shot headers iterable is caught instead of sending a short message", () => {
  function* once(): Generator<readonly [string, Uint8Array]> {
    yield ["a", new Uint8Array([1])];
  }
  const m: MessageFields = { headers: once() };
  assert.throws(() => encodeFramedMessages([m]), /size changed/);
});

test("encodeAck equals protobufjs's canonical encoding, byte for byte", () => {
  const ackFields = fc.record({
    stream: text, partitionSubject: text, msgSubject: text, offset: int64, ackInbox: text, correlationId: text,
    ackPolicy: int32, receptionTimestamp: int64, commitTimestamp: int64, ackError: int32,
  });
  fc.assert(
    fc.property(ackFields, (a: AckFields) => {
      assert.deepEqual(Buffer.from(encodeAck(a)), Buffer.from(protobufjsEncode(AckType, a as Fields)));
    }),
    { numRuns: 300 },
  );
});

test("decodeMessage follows Go: wrong wire type skipped, bad UTF-8 / field 0 / truncation rejected", () => {
  // Field 5 (stream, a string) sent as a varint: skipped as an unknown field, not an error.
  const wrongType = decodeMessage(new Uint8Array([0x28, 0x07, 0x2a, 0x01, 0x61]));
  assert.ok(wrongType.ok);
  assert.equal(wrongType.value.stream, "a");
  // Unknown field 15 (fixed32) is skipped.
  const unknown = decodeMessage(new Uint8Array([0x7d, 1, 2, 3, 4, 0x30, 0x05]));
  assert.ok(unknown.ok);
  assert.equal(unknown.value.partition, 5);
  for (const bad of [
    [0x2a, 0x02, 0xc3, 0x28], // invalid UTF-8 in stream
    [0x00, 0x01], // field number 0
    [0x2a, 0x05, 0x61], // length past the end
    [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // varint overflowing 64 bits
    [0x0b], // group start (proto2 only)
  ]) {
    const d = decodeMessage(new Uint8Array(bad));
    assert.equal(d.ok, false, `accepted ${bad.join(",")}`);
    if (!d.ok) assert.equal(d.error.code, "InvalidArgument");
  }
});

test("decodeMessage never throws on arbitrary bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
      const d = decodeMessage(data);
      assert.equal(typeof d.ok, "boolean");
    }),
    { numRuns: 2000 },
  );
});
