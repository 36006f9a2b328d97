// The caching Ack encoder must write exactly what encodeAckEnvelope writes, whatever its caches hold.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CachingAckEncoder, type AckWireFields } from "../../src/io/caching-ack-encoder.js";
import { encodeAckEnvelope } from "../../src/io/wire/envelope.js";

const few = <T>(values: readonly T[]) => fc.constantFrom(...values);

const ack: fc.Arbitrary<AckWireFields> = fc.record({
  // Few distinct values for the cached fields, so the caches are hit as well as filled.
  stream: few(["", "orders", "événements", "s"]),
  partitionSubject: few(["", "orders", "a.b.c"]),
  msgSubject: few(["", "orders.1", "x.ü"]),
  offset: fc.oneof(fc.constant(0), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
  ackInbox: few(["", "_INBOX.abc", "liftbridge-default.ack.XYZ"]),
  correlationId: fc.string({ maxLength: 40 }),
  ackPolicy: fc.integer({ min: 0, max: 2 }),
  receptionTimestamp: few([0n, 1_700_000_000_000_000_000n, 1_712_345_678_901_234_567n]),
  commitTimestamp: fc.oneof(few([0n, 1_712_345_678_901_234_567n]), fc.bigInt({ min: 0n, max: (1n << 63n) - 1n })),
  ackError: fc.integer({ min: 0, max: 4 }),
});

test("caching ack encoder is byte-identical to encodeAckEnvelope across cache hits and misses", () => {
  fc.assert(
    fc.property(fc.array(ack, { minLength: 1, maxLength: 30 }), (acks) => {
      const encoder = new CachingAckEncoder();
      for (const a of acks) assert.deepEqual(encoder.encode(a), encodeAckEnvelope(a));
    }),
    { numRuns: 300 },
  );
});
