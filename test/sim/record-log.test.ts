import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RECORD_HEADER_BYTES, encodeRecord, scanBytes } from "../../sim/workloads/record-log.js";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const payloads = fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 20 });

test("property: a clean file scans back every record", () => {
  fc.assert(
    fc.property(payloads, (ps) => {
      const bytes = concat(ps.map(encodeRecord));
      const scan = scanBytes(bytes, 64);
      assert.equal(scan.stoppedBy, "end");
      assert.equal(scan.validBytes, bytes.length);
      assert.deepEqual(scan.records.map((r) => [...r]), ps.map((p) => [...p]));
    }),
  );
});

test("property: a cut or a flipped bit loses only a suffix, never returns a corrupt record", () => {
  fc.assert(
    fc.property(payloads, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.boolean(), (ps, at, bit, flip) => {
      fc.pre(ps.length > 0);
      const clean = concat(ps.map(encodeRecord));
      const damagedAt = at % clean.length;
      let bytes = clean.slice();
      if (flip) bytes[damagedAt]! ^= 1 << bit;
      else bytes = bytes.slice(0, damagedAt);
      const scan = scanBytes(bytes, 64);
      // Exactly the records that lie wholly before the damage come back, byte for byte.
      let intact = 0;
      let end = 0;
      while (intact < ps.length && end + RECORD_HEADER_BYTES + ps[intact]!.length <= damagedAt) {
        end += RECORD_HEADER_BYTES + ps[intact]!.length;
        intact++;
      }
      assert.deepEqual(scan.records.map((r) => [...r]), ps.slice(0, intact).map((p) => [...p]));
      assert.equal(scan.validBytes, end);
      // A flip is always caught; a cut is clean only on a record boundary.
      assert.equal(scan.stoppedBy === "end", !flip && end === damagedAt);
    }),
    { numRuns: 500 },
  );
});

test("a zero length or an oversized length stops the scan", () => {
  const good = encodeRecord(new Uint8Array([1, 2, 3]));
  assert.equal(scanBytes(concat([good, new Uint8Array(12)]), 64).stoppedBy, "badLength");
  const big = encodeRecord(new Uint8Array(100));
  const scan = scanBytes(concat([good, big]), 64);
  assert.equal(scan.stoppedBy, "badLength");
  assert.equal(scan.records.length, 1);
  assert.throws(() => encodeRecord(new Uint8Array(0)), /empty payloads/);
});
