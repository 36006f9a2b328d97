// shortAscii: the TextDecoder answer for short ASCII, undefined (decode as UTF-8) otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AsciiCache, SHORT_ASCII_MAX_BYTES, shortAscii } from "../../src/core/ascii.js";

const utf8 = new TextDecoder();

test("shortAscii equals TextDecoder on short ASCII and declines anything else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(100), fc.nat(100), (bytes, a, b) => {
      const start = Math.min(a, b, bytes.length);
      const end = Math.min(Math.max(a, b), bytes.length);
      const slice = bytes.subarray(start, end);
      const expected = slice.length <= SHORT_ASCII_MAX_BYTES && slice.every((c) => c < 0x80) ? utf8.decode(slice) : undefined;
      assert.equal(shortAscii(bytes, start, end), expected);
    }),
    { numRuns: 500 },
  );
  assert.equal(shortAscii(new TextEncoder().encode("orders.in"), 0, 9), "orders.in");
  assert.equal(shortAscii(new TextEncoder().encode("é"), 0, 2), undefined);
  assert.equal(shortAscii(new Uint8Array(SHORT_ASCII_MAX_BYTES + 1).fill(0x61), 0, SHORT_ASCII_MAX_BYTES + 1), undefined);
  assert.equal(shortAscii(new Uint8Array(0), 0, 0), "");
});

test("AsciiCache answers exactly as shortAscii, hits, misses and slot collisions alike", () => {
  // Few distinct byte strings, many repeats: the cache's hit path is exercised, and with 64 slots
  // and strings differing in their middle bytes, so are collisions.
  const word = fc.uint8Array({ minLength: 0, maxLength: 70 }).map((b) => b.map((c) => (c % 3 === 0 ? c : c & 0x7f)));
  fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 200 }), fc.nat(8), (words, picks, pad) => {
      const cache = new AsciiCache();
      for (const p of picks) {
        const w = words[p % words.length]!;
        const framed = new Uint8Array(pad + w.length + 3).fill(0x7a);
        framed.set(w, pad);
        assert.equal(cache.decode(framed, pad, pad + w.length), shortAscii(w, 0, w.length));
      }
    }),
    { numRuns: 300 },
  );
});
