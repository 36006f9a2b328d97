// Host steal from /proc/stat: the aggregate line's ticks, and the stolen share between samples.
import { test } from "node:test";
import assert from "node:assert/strict";
import { machineTicksOf, stealPercent } from "../../bench/proc-cpu.js";

test("the aggregate cpu line gives all ticks through steal, and the steal column", () => {
  const stat = "cpu  1739984 0 252997 1027199 26295 0 41861 26640 0 0\ncpu0 869992 0 126498 513599 13147 0 20930 13320 0 0\n";
  assert.deepEqual(machineTicksOf(stat), { total: 1739984 + 252997 + 1027199 + 26295 + 41861 + 26640, steal: 26640 });
  assert.equal(machineTicksOf("cpu0 1 2 3 4 5 6 7 8\n"), undefined, "a per-CPU line first is not the aggregate");
  assert.equal(machineTicksOf("cpu 1 2 3\n"), undefined, "too few columns");
  assert.equal(machineTicksOf("cpu 1 2 3 4 5 6 7 x\n"), undefined, "not a number");
});

test("steal percent is the stolen share of all ticks between two samples", () => {
  assert.equal(stealPercent({ total: 1000, steal: 10 }, { total: 1200, steal: 40 }), 15);
  assert.equal(stealPercent({ total: 1000, steal: 10 }, { total: 1000, steal: 10 }), undefined, "no time passed");
});
