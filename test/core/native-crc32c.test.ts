import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32c } from "../../src/core/crc32c.js";
import { bestCrc32c } from "../../src/io/native-crc32c.js";

test("the native CRC-32C, when present, agrees with the pure-JS one (including continuation)", () => {
  const best = bestCrc32c();
  assert.equal(best.crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (data, cut) => {
      const at = data.length === 0 ? 0 : cut % data.length;
      assert.equal(best.crc32c(data), crc32c(data));
      assert.equal(best.crc32c(data.subarray(at), crc32c(data.subarray(0, at))), crc32c(data));
    }),
  );
});
