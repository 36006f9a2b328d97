import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation, WALL_CLOCK_ORIGIN_NS } from "../../sim/simulation.js";
import { fnv1a64Hex } from "../../sim/trace-hash.js";
import { firstDivergence } from "../../sim/sim-random.js";

test("events run in (time, scheduling order) and move the virtual clock", () => {
  const sim = new Simulation(1);
  const seen: string[] = [];
  sim.scheduleAt(10, "b", () => seen.push(`b@${sim.nowMs}`));
  sim.scheduleAfter(10, "c", () => {
    seen.push(`c@${sim.nowMs}`);
    sim.scheduleAfter(0, "d", () => seen.push(`d@${sim.nowMs}`));
  });
  sim.scheduleAt(3, "a", () => seen.push(`a@${sim.nowMs}`));
  const cancelled = sim.scheduleAt(5, "x", () => seen.push("x"));
  sim.cancel(cancelled);
  assert.equal(sim.runUntilIdle(100), true);
  assert.deepEqual(seen, ["a@3", "b@10", "c@10", "d@10"]);
  assert.equal(sim.events, 4);
});

test("runUntil stops at the bound and advances an idle clock", () => {
  const sim = new Simulation(1);
  let ran = 0;
  sim.scheduleAt(50, "late", () => ran++);
  assert.equal(sim.runUntil(20), true);
  assert.equal(sim.nowMs, 20);
  assert.equal(ran, 0);
  assert.equal(sim.runUntil(50), true);
  assert.equal(ran, 1);
  assert.throws(() => sim.scheduleAt(10, "past", () => undefined), /before now/);
});

test("runUntil and runUntilIdle honour the event budget", () => {
  const sim = new Simulation(1);
  const tick = (): void => {
    sim.scheduleAfter(1, "tick", tick);
  };
  tick();
  assert.equal(sim.runUntil(1000, 10), false);
  assert.equal(sim.events, 10);
  assert.equal(sim.runUntilIdle(5), false);
  assert.equal(sim.events, 15);
});

test("the trace hash folds '<atMs> <seq> <label>' per event plus trace lines", () => {
  const sim = new Simulation(1, { keepTrace: true });
  sim.scheduleAt(2, "hello", () => sim.trace("said hello"));
  sim.runUntilIdle(10);
  assert.deepEqual(sim.traceLines, ["2 0 hello", "said hello"]);
  assert.equal(sim.traceHash, fnv1a64Hex("2 0 hello\nsaid hello\n"));
});

test("an invariant violation stops the run and records where", () => {
  const sim = new Simulation(1);
  let counter = 0;
  sim.addInvariant("counterBelow3", () => (counter < 3 ? undefined : `counter is ${counter}`));
  const tick = (): void => {
    counter++;
    sim.scheduleAfter(7, "tick", tick);
  };
  sim.scheduleAt(0, "tick", tick);
  assert.equal(sim.runUntil(1000), false);
  assert.deepEqual(sim.violation, { invariant: "counterBelow3", message: "counter is 3", atMs: 14 });
  assert.equal(sim.step(), false);
});

test("streams are shared per name and derived from the seed; the wall clock is seed-offset", () => {
  const a = new Simulation(7, { recordDraws: true });
  const b = new Simulation(7, { recordDraws: true });
  assert.equal(a.random("net"), a.random("net"));
  assert.equal(a.random("net").int("x", 1000), b.random("net").int("x", 1000));
  assert.equal(a.wallNs(), b.wallNs());
  assert.ok(a.wallNs() >= WALL_CLOCK_ORIGIN_NS);
  assert.notEqual(new Simulation(8).wallNs(), a.wallNs());
  a.runUntil(5);
  assert.equal(a.wallNs() - b.wallNs(), 5_000_000n);
  assert.equal(a.wallNs(-1n) + 1n, a.wallNs());
  assert.equal(firstDivergence(a.draws!.draws, b.draws!.draws), undefined);
  b.random("disk").int("y", 10);
  assert.equal(firstDivergence(a.draws!.draws, b.draws!.draws)?.b?.stream, "disk");
});
