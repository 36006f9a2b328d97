import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32c } from "../../src/core/crc32c.js";

const ascii = (s: string) => new TextEncoder().encode(s);

// Reference: RFC 3720 appendix B.4 and the common "123456789" check value.
test("crc32c known vectors", () => {
  assert.equal(crc32c(ascii("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

function bytewise(data: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test("slicing-by-8 agrees with the bitwise definition and continues across splits", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (data, cut) => {
      const at = data.length === 0 ? 0 : cut % data.length;
      assert.equal(crc32c(data), bytewise(data));
      assert.equal(crc32c(data.subarray(at), crc32c(data.subarray(0, at))), crc32c(data));
    }),
  );
});
