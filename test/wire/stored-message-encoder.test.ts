// The subscribe transcoder: stored records straight to gRPC-framed proto.Messages must be the
// very bytes the object encoder writes for the same records decoded, whatever the records hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32c } from "../../src/core/crc32c.js";
import { decodeStoredRecords, encodeStoredRecords, type RecordToStore } from "../../src/core/log/stored-records.js";
import { encodeFramedMessages, type MessageFields } from "../../src/io/wire/message-encoder.js";
import { encodeStoredAsFramedMessages } from "../../src/io/wire/stored-message-encoder.js";
import { decodeMessage } from "../../src/io/wire/message-decoder.js";
import { framedMessages } from "../../src/io/wire/message-encoder.js";

const enc = new TextEncoder();
const NONE = new Uint8Array(0);

/** The object path: decoded records to MessageFields, subject and reply from the first such header. */
function viaObjects(stream: string, partition: number, records: RecordToStore[]): Uint8Array {
  const first = (r: RecordToStore, name: string) => r.headers.find(([k]) => k === name)?.[1] ?? NONE;
  const stored = encodeStoredRecords(records, crc32c);
  const fields: MessageFields[] = decodeStoredRecords(stored, crc32c).map((r) => ({
    offset: r.offset, key: r.key, value: r.value, timestamp: r.timestampNs, stream: enc.encode(stream), partition,
    subject: first(r, "subject"), replySubject: first(r, "reply"), headers: r.headers,
  }));
  return encodeFramedMessages(fields);
}

const headerName = fc.oneof(fc.constantFrom("subject", "reply", "x", "subjec", "replyy", ""), fc.string({ maxLength: 6 }), fc.string({ unit: "binary", maxLength: 3 }));
const record = fc.record({
  offset: fc.oneof(fc.constant(0), fc.nat(), fc.maxSafeNat()),
  timestampNs: fc.oneof(fc.constant(0n), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })),
  leaderEpoch: fc.nat(),
  key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
  headers: fc.array(fc.tuple(headerName, fc.uint8Array({ maxLength: 40 })), { maxLength: 5 }),
});

test("stored records transcode to exactly the bytes the object encoder writes for them decoded", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 12 }), fc.integer({ min: -5, max: 1 << 20 }), fc.array(record, { maxLength: 12 }), (stream, partition, records) => {
      const stored = encodeStoredRecords(records, crc32c);
      assert.deepEqual(encodeStoredAsFramedMessages(enc.encode(stream), partition, stored), viaObjects(stream, partition, records));
    }),
    { numRuns: 500 },
  );
});

test("a transcoded chunk decodes to the records' fields", () => {
  const records: RecordToStore[] = [
    { offset: 41, timestampNs: 1_712_345_678_901_234_567n, leaderEpoch: 3, key: enc.encode("k"), value: enc.encode("v".repeat(100)), headers: [["subject", enc.encode("a.b")], ["reply", enc.encode("_INBOX.x")], ["h", enc.encode("1")]] },
    { offset: 42, timestampNs: 5n, leaderEpoch: 3, key: null, value: null, headers: [] },
  ];
  const framed = encodeStoredAsFramedMessages(enc.encode("s"), 2, encodeStoredRecords(records, crc32c));
  const got = framedMessages(framed).map((m) => {
    const d = decodeMessage(m);
    assert.ok(d.ok);
    return d.value;
  });
  assert.deepEqual(got.map((m) => [m.offset, m.timestamp, m.stream, m.partition, m.subject, m.replySubject, [...m.headers.keys()]]), [
    [41n, 1_712_345_678_901_234_567n, "s", 2, "a.b", "_INBOX.x", ["subject", "reply", "h"]],
    [42n, 5n, "s", 2, "", "", []],
  ]);
  assert.equal(got[0]!.value.length, 100);
  assert.equal(got[1]!.key.length, 0);
});

test("a count that disagrees with the bytes is a programmer error", () => {
  const stored = encodeStoredRecords([{ offset: 1, timestampNs: 1n, leaderEpoch: 0, key: null, value: null, headers: [] }], crc32c);
  assert.throws(() => encodeStoredAsFramedMessages(NONE, 0, { bytes: stored.bytes, count: 0 }), /count and bytes disagree/);
});
