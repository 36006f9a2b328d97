import { test } from "node:test";
import assert from "node:assert/strict";
import { AssertionError, assert as coreAssert, assertInt } from "../../src/core/assert.js";
import { offset, timeMs } from "../../src/core/types.js";

test("assert throws AssertionError with the message", () => {
  assert.throws(() => coreAssert(false, "boom"), (e: unknown) => e instanceof AssertionError && e.message === "boom");
  coreAssert(true, "never thrown");
});

test("assertInt rejects unsafe, fractional and out-of-range numbers", () => {
  assert.throws(() => assertInt(2 ** 53, "x"), AssertionError);
  assert.throws(() => assertInt(1.5, "x"), AssertionError);
  assert.throws(() => assertInt(-2, "x", -1), AssertionError);
  assert.equal(assertInt(5, "x", 0, 5), 5);
});

test("branded constructors validate their ranges", () => {
  assert.equal(offset(-1), -1);
  assert.throws(() => offset(-2), AssertionError);
  assert.throws(() => timeMs(-1), AssertionError);
});
