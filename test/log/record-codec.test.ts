import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32c } from "../../src/core/crc32c.js";
import type { AppendMessage } from "../../src/core/log/record-codec.js";
import { checkRecordAt, encodeRecordInto, hasValidLayoutAt, messageBytes, parseRecordAt, RECORD_HEADER_BYTES, viewOf } from "../../src/core/log/record-codec.js";

const enc = new TextEncoder();

function encode(m: AppendMessage, offset: number, ts: bigint, epoch: number): Uint8Array {
  const keys = m.headers.map(([k]) => enc.encode(k));
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + messageBytes(m, keys));
  const end = encodeRecordInto(bytes, viewOf(bytes), 0, { offset, timestampNs: ts, leaderEpoch: epoch }, m, keys, crc32c);
  assert.equal(end, bytes.length);
  return bytes;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

test("golden bytes: spec §6.2 record header and §6.3 message, CRC-32C over bytes after the crc", () => {
  const m: AppendMessage = { key: enc.encode("k"), value: enc.encode("v"), headers: [["h", new Uint8Array([1])]] };
  const bytes = encode(m, 1, 2n, 3);
  const expected =
    "0000000000000001" + // offset
    "0000000000000002" + // timestamp ns
    "0000000000000003" + // leader epoch
    "0000001a" + // message size 26
    "9034775e" + // crc32c, computed independently (bitwise, Python) over the bytes below
    "01" + "00" + // magic, attributes
    "00000001" + "6b" + // key
    "00000001" + "76" + // value
    "0001" + // header count
    "0001" + "68" + "00000001" + "01"; // header "h" = [1]
  assert.equal(hex(bytes), expected);
});

test("golden bytes: null key and value are length -1, no headers", () => {
  const bytes = encode({ key: null, value: null, headers: [] }, 0x1_0000_0002, 1_700_000_000_000_000_000n, 0);
  assert.equal(hex(bytes), "0000000100000002" + "17979cfe362a0000" + "0000000000000000" + "00000010" + "aee6ed8c" + "0100" + "ffffffff" + "ffffffff" + "0000");
});

const arbBytes = fc.uint8Array({ maxLength: 40 });
const arbMessage: fc.Arbitrary<AppendMessage> = fc.record({
  key: fc.option(arbBytes, { nil: null }),
  value: fc.option(arbBytes, { nil: null }),
  headers: fc.array(fc.tuple(fc.string({ maxLength: 8 }), arbBytes), { maxLength: 4 }),
});

test("round trip: decode(encode(m)) gives m back with its offset, timestamp and epoch", () => {
  fc.assert(
    fc.property(arbMessage, fc.nat(), fc.bigInt(-(1n << 63n), (1n << 63n) - 1n), fc.nat(), (m, offset, ts, epoch) => {
      const bytes = encode(m, offset, ts, epoch);
      const view = viewOf(bytes);
      const h = checkRecordAt(bytes, view, 0, bytes.length, crc32c);
      assert.ok(typeof h !== "string", `defect ${typeof h === "string" ? h : ""}`);
      assert.deepEqual(h, { offset, timestampNs: ts, leaderEpoch: epoch, recordBytes: bytes.length });
      const r = parseRecordAt(bytes, view, 0, h);
      assert.ok(typeof r !== "string");
      assert.equal(r.offset, offset);
      assert.equal(r.timestampNs, ts);
      assert.equal(r.leaderEpoch, epoch);
      assert.deepEqual(r.key, m.key);
      assert.deepEqual(r.value, m.value);
      assert.deepEqual(r.headers.map(([k, v]) => [k, [...v]]), m.headers.map(([k, v]) => [k, [...v]]));
    }),
  );
});

test("any single bit flip in the message bytes is detected (CRC or size)", () => {
  fc.assert(
    fc.property(arbMessage, fc.nat(), fc.nat(7), (m, at, bit) => {
      const bytes = encode(m, 5, 6n, 7);
      const pos = 24 + (at % (bytes.length - 24)); // the size field and the CRC-covered message
      bytes[pos]! ^= 1 << bit;
      const h = checkRecordAt(bytes, viewOf(bytes), 0, bytes.length, crc32c);
      assert.ok(typeof h === "string", `flip at ${pos} bit ${bit} went unnoticed`);
    }),
  );
});

test("a record cut short is reported as truncated, not parsed", () => {
  const bytes = encode({ key: null, value: enc.encode("hello"), headers: [] }, 0, 0n, 0);
  for (let n = 0; n < bytes.length; n++) {
    assert.equal(checkRecordAt(bytes.subarray(0, n), viewOf(bytes.subarray(0, n)), 0, n, crc32c), "truncated");
  }
});

test("a CRC-clean message whose lengths lie is badLayout, never a record", () => {
  const bytes = encode({ key: enc.encode("abc"), value: null, headers: [] }, 0, 0n, 0);
  const view = viewOf(bytes);
  view.setInt32(RECORD_HEADER_BYTES + 6, 1000); // key length beyond the message
  view.setUint32(RECORD_HEADER_BYTES, crc32c(bytes.subarray(RECORD_HEADER_BYTES + 4)));
  const h = checkRecordAt(bytes, view, 0, bytes.length, crc32c);
  assert.ok(typeof h !== "string");
  assert.equal(parseRecordAt(bytes, view, 0, h), "badLayout");
});

test("hasValidLayoutAt agrees with parseRecordAt on any CRC-clean message, however its bytes are mangled", () => {
  const message = fc.record({
    key: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null }),
    headers: fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.uint8Array({ maxLength: 4 })), { maxLength: 3 }),
  });
  fc.assert(
    fc.property(message, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (m, edits) => {
      const bytes = encode(m, 7, 1n, 0);
      const view = viewOf(bytes);
      const messageStart = RECORD_HEADER_BYTES + 6;
      for (const [at, byte] of edits) bytes[messageStart + (at % (bytes.length - messageStart))] = byte;
      view.setUint32(RECORD_HEADER_BYTES, crc32c(bytes.subarray(RECORD_HEADER_BYTES + 4)));
      const h = checkRecordAt(bytes, view, 0, bytes.length, crc32c);
      if (typeof h === "string") return;
      assert.equal(hasValidLayoutAt(bytes, view, 0, h), parseRecordAt(bytes, view, 0, h) !== "badLayout");
    }),
    { numRuns: 2000 },
  );
  // Invalid UTF-8 in a header name is badLayout both ways.
  const bad = encode({ key: null, value: null, headers: [["\u00e9", new Uint8Array(0)]] }, 0, 0n, 0);
  const view = viewOf(bad);
  bad[RECORD_HEADER_BYTES + 6 + 4 + 4 + 2 + 2] = 0xff;
  view.setUint32(RECORD_HEADER_BYTES, crc32c(bad.subarray(RECORD_HEADER_BYTES + 4)));
  const h = checkRecordAt(bad, view, 0, bad.length, crc32c);
  assert.ok(typeof h !== "string");
  assert.equal(parseRecordAt(bad, view, 0, h), "badLayout");
  assert.equal(hasValidLayoutAt(bad, view, 0, h), false);
});
