import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatGoDuration, parseGoDuration, parseGoDurationNs } from "../../src/io/config/duration.js";

const valid: [string, number][] = [
  ["0", 0],
  ["0s", 0],
  ["300ms", 300],
  ["15s", 15_000],
  ["2m", 120_000],
  ["1.5h", 5_400_000],
  ["1h30m", 5_400_000],
  ["168h", 604_800_000],
  ["1h2m3s4ms", 3_723_004],
  [".5s", 500],
  ["1.s", 1000],
  ["+2s", 2000],
  ["-1s", -1000],
  ["1000us", 1],
  ["1000000ns", 1],
  ["2000µs", 2],
  [" 5s ", 5000],
];

test("parseGoDuration accepts Go syntax", () => {
  for (const [text, ms] of valid) {
    const r = parseGoDuration(text);
    assert.ok(r.ok, `${text}: ${r.ok ? "" : r.error.message}`);
    assert.equal(r.value, ms, text);
  }
});

test("parseGoDuration rejects bad input with a clear message", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["10", /missing unit/],
    ["5d", /unknown unit "d"/],
    ["abc", /expected a number/],
    ["1.5", /missing unit/],
    [".s", /expected a number/],
    ["1s2", /missing unit/],
    ["1500us", /whole number of milliseconds/],
    ["9999999999999999999h", /out of range/],
  ];
  for (const [text, pattern] of cases) {
    const r = parseGoDuration(text);
    assert.ok(!r.ok, `${text} should be rejected`);
    assert.equal(r.error.code, "InvalidArgument");
    assert.match(r.error.message, pattern, text);
    assert.ok(r.error.message.includes(JSON.stringify(text)), "the message quotes the input");
  }
});

test("parseGoDurationNs truncates fractional nanoseconds like Go", () => {
  const r = parseGoDurationNs("1.0000000009s");
  assert.ok(r.ok);
  assert.equal(r.value, 1_000_000_000n);
  const max = parseGoDurationNs("2562047h47m16.854775807s"); // Go's max Duration
  assert.ok(max.ok);
  assert.equal(max.value, (1n << 63n) - 1n);
  assert.ok(!parseGoDurationNs("2562047h47m16.854775808s").ok);
});

test("formatGoDuration matches Go's Duration.String", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [300, "300ms"],
    [1500, "1.5s"],
    [15_000, "15s"],
    [5_400_000, "1h30m0s"],
    [604_800_000, "168h0m0s"],
    [61_001, "1m1.001s"],
    [-2000, "-2s"],
  ];
  for (const [ms, text] of cases) assert.equal(formatGoDuration(ms), text);
});

test("format then parse is the identity on whole milliseconds within Go's range", () => {
  const maxMs = 9_223_372_036_854; // floor((2^63 - 1) ns / 1e6)
  assert.ok(!parseGoDuration(formatGoDuration(maxMs + 1)).ok, "beyond Go's int64 nanoseconds is out of range");
  fc.assert(
    fc.property(fc.oneof(fc.integer({ min: -maxMs, max: maxMs }), fc.integer({ min: -100_000, max: 100_000 })), (ms) => {
      const r = parseGoDuration(formatGoDuration(ms));
      return r.ok && r.value === ms;
    }),
    { numRuns: 2000 },
  );
});

test("a sum of unit terms parses to the sum of their values", () => {
  const units: [string, number][] = [["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]];
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 10_000 }), fc.constantFrom(...units)), { minLength: 1, maxLength: 6 }), (terms) => {
      const text = terms.map(([n, [u]]) => `${n}${u}`).join("");
      const expected = terms.reduce((sum, [n, [, unitMs]]) => sum + n * unitMs, 0);
      const r = parseGoDuration(text);
      return r.ok && r.value === expected;
    }),
  );
});
