import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DrawRecorder, SimRandom, firstDivergence } from "../../sim/sim-random.js";

function draws(r: SimRandom, n: number, max = 1_000_000): number[] {
  return Array.from({ length: n }, () => r.int("x", max));
}

test("same seed and stream give the same draws", () => {
  assert.deepEqual(draws(new SimRandom(7, "network"), 100), draws(new SimRandom(7, "network"), 100));
});

test("different seeds or streams give different draws", () => {
  const base = draws(new SimRandom(7, "network"), 50);
  assert.notDeepEqual(draws(new SimRandom(8, "network"), 50), base);
  assert.notDeepEqual(draws(new SimRandom(7, "disk"), 50), base);
});

test("streams are independent: draws on one do not shift another", () => {
  const alone = new SimRandom(3, "disk");
  const expected = draws(alone, 20);
  const disk = new SimRandom(3, "disk");
  const net = new SimRandom(3, "network");
  const got: number[] = [];
  for (let i = 0; i < 20; i++) {
    draws(net, i % 3);
    got.push(disk.int("x", 1_000_000));
  }
  assert.deepEqual(got, expected);
});

test("property: int stays in range for any bound up to 2^32", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 2 ** 32 }), (seed, max) => {
      const r = new SimRandom(seed, "p");
      for (let i = 0; i < 20; i++) {
        const v = r.int("v", max);
        assert.ok(Number.isInteger(v) && v >= 0 && v < max, `${v} not in [0, ${max})`);
      }
    }),
  );
});

test("int is roughly uniform (chi-square over 10 buckets)", () => {
  const r = new SimRandom(1, "uniform");
  const counts = new Array<number>(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) counts[r.int("u", 10)]!++;
  const expected = n / 10;
  const chi = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi < 30, `chi-square ${chi} too large: ${counts.join(",")}`); // p ~ 0.0004 at 9 dof
});

test("chance honours the extremes and the ratio", () => {
  const r = new SimRandom(2, "chance");
  for (let i = 0; i < 100; i++) {
    assert.equal(r.chance("never", 0, 5), false);
    assert.equal(r.chance("always", 5, 5), true);
  }
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (r.chance("quarter", 1, 4)) hits++;
  assert.ok(hits > 2300 && hits < 2700, `hits=${hits}`);
});

test("bad bounds are programmer errors", () => {
  const r = new SimRandom(1, "bad");
  assert.throws(() => r.int("zero", 0), /maxExclusive/);
  assert.throws(() => r.int("big", 2 ** 32 + 1), /maxExclusive/);
  assert.throws(() => r.int("frac", 2.5), /maxExclusive/);
  assert.throws(() => r.chance("c", 3, 2), /numerator/);
  assert.throws(() => r.pick("p", []), /empty/);
});

test("pick and between draw from the given range", () => {
  const r = new SimRandom(4, "pick");
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(r.pick("p", ["a", "b", "c"]));
  assert.deepEqual([...seen].sort(), ["a", "b", "c"]);
  for (let i = 0; i < 200; i++) {
    const v = r.between("b", -3, 3);
    assert.ok(v >= -3 && v <= 3);
  }
});

test("the recorder names the first divergent draw", () => {
  const ra = new DrawRecorder();
  const rb = new DrawRecorder();
  const a = new SimRandom(5, "workload", ra);
  const b = new SimRandom(5, "workload", rb);
  a.int("first", 100);
  b.int("first", 100);
  a.int("second", 100);
  b.int("other", 100);
  assert.equal(firstDivergence(ra.draws, ra.draws), undefined);
  const d = firstDivergence(ra.draws, rb.draws);
  assert.equal(d?.index, 1);
  assert.equal(d?.a?.label, "second");
  assert.equal(d?.b?.label, "other");
  assert.equal(d?.a?.stream, "workload");
  const prefix = firstDivergence(ra.draws.slice(0, 1), ra.draws);
  assert.equal(prefix?.index, 1);
  assert.equal(prefix?.a, undefined);
});
