import { test } from "node:test";
import assert from "node:assert/strict";
import { assert as coreAssert } from "../../src/core/assert.js";
import { DEFAULT_WORKLOAD, plantedBugWorkloads, runSeed, runSeedDetailed, workloads, type Workload } from "../../sim/runner.js";
import { firstDivergence } from "../../sim/sim-random.js";

test("must-show: seed 7 twice gives the same trace hash; seeds 7 and 8 differ", () => {
  const a = runSeed(7);
  const b = runSeed(7);
  const c = runSeed(8);
  assert.equal(a.workload, DEFAULT_WORKLOAD);
  assert.equal(a.ok, true, a.failure);
  assert.match(a.traceHash, /^[0-9a-f]{16}$/);
  assert.deepEqual(b, a);
  assert.notEqual(c.traceHash, a.traceHash);
  // The run is real work, not a constant: messages were published, acked, crashed and recovered.
  assert.ok((a.counters["acked"] ?? 0) > 100, JSON.stringify(a.counters));
  assert.ok((a.counters["crashes"] ?? 0) > 0, JSON.stringify(a.counters));
  assert.ok(a.simMs >= 2000, `ran its default duration (${a.simMs})`);
});

test("sweep: 50 seeds of the disk-log workload all pass", () => {
  const failures: string[] = [];
  let crashes = 0;
  let garbageTails = 0;
  let fsyncErrors = 0;
  for (let seed = 1; seed <= 50; seed++) {
    const r = runSeed(seed, { workload: "disk-log" });
    if (!r.ok) failures.push(`seed ${seed}: ${r.failure}`);
    crashes += r.counters["crashes"] ?? 0;
    garbageTails += r.counters["garbageTails"] ?? 0;
    fsyncErrors += r.counters["fsyncErrors"] ?? 0;
  }
  assert.deepEqual(failures, []);
  // The faults actually fired across the sweep (otherwise passing would prove nothing).
  assert.ok(crashes > 50 && garbageTails > 10 && fsyncErrors > 10, `crashes=${crashes} garbageTails=${garbageTails} fsyncErrors=${fsyncErrors}`);
});

// The broker's planted bugs have their own test (test/sim/broker-workload.test.ts).
for (const [name, workload] of [...plantedBugWorkloads].filter(([n]) => n.startsWith("disk-log"))) {
  test(`planted bug: ${name} fails some seed within 30`, () => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 30 && caught === undefined; seed++) {
      const r = runSeed(seed, { workload });
      if (!r.ok) {
        caught = r.failure;
        assert.equal(r.workload, name);
        // Replaying the failing seed fails identically.
        assert.deepEqual(runSeed(seed, { workload: name }), r);
      }
    }
    assert.match(caught ?? "not caught", /acknowledgedRecordsSurvive/);
  });
}

test("an assertion thrown by code under test is a failed seed, not a crash of the runner", () => {
  const throwsInEvent: Workload = {
    name: "throws-in-event",
    description: "asserts inside an event",
    run: (sim, options) => {
      sim.scheduleAfter(5, "boom", () => coreAssert(false, "planted assertion"));
      sim.runUntil(options.durationMs);
      return { ok: true, counters: {} };
    },
  };
  const r = runSeed(3, { workload: throwsInEvent });
  assert.equal(r.ok, false);
  assert.equal(r.failure, "AssertionError: planted assertion");
  assert.equal(r.simMs, 5);
  assert.equal(r.events, 1);
  const again = runSeed(3, { workload: throwsInEvent });
  assert.equal(again.traceHash, r.traceHash);
});

test("an invariant violation fails the seed with its name and time", () => {
  const violates: Workload = {
    name: "violates",
    description: "counts past its bound",
    run: (sim, options) => {
      let n = 0;
      sim.addInvariant("nBelow5", () => (n < 5 ? undefined : `n=${n}`));
      const tick = (): void => {
        n++;
        sim.scheduleAfter(10, "tick", tick);
      };
      sim.scheduleAt(0, "tick", tick);
      sim.runUntil(options.durationMs);
      return { ok: true, counters: { n } };
    },
  };
  const r = runSeed(1, { workload: violates, durationMs: 1000 });
  assert.equal(r.ok, false);
  assert.equal(r.failure, "invariant nBelow5 violated at 40ms: n=5");
  assert.deepEqual(r.counters, { n: 5 });
});

test("unknown workload names are rejected with the known ones listed", () => {
  assert.throws(() => runSeed(1, { workload: "nope" }), /unknown workload "nope" \(known: broker, disk-log/);
  assert.ok(workloads.has(DEFAULT_WORKLOAD));
});

test("a replay with recorded draws names the first divergent draw", () => {
  let runs = 0; // Deliberately leaks state between runs: the nondeterminism a replay must pinpoint.
  const leaky: Workload = {
    name: "leaky",
    description: "draws one extra number on every second run",
    run: (sim, options) => {
      runs++;
      const random = sim.random("workload");
      for (let i = 0; i < 5; i++) random.int("step", 100);
      if (runs % 2 === 0) random.int("extra", 7);
      random.int("after", 100);
      sim.runUntil(options.durationMs);
      return { ok: true, counters: {} };
    },
  };
  const first = runSeedDetailed(7, { workload: leaky, recordDraws: true, durationMs: 10 });
  const second = runSeedDetailed(7, { workload: leaky, recordDraws: true, durationMs: 10 });
  const divergence = firstDivergence(first.sim.draws!.draws, second.sim.draws!.draws);
  // Draw 0 is the simulation's own wall-clock offset, then five "step" draws.
  assert.equal(divergence?.index, 6);
  assert.deepEqual([divergence.a?.label, divergence.b?.label], ["after", "extra"]);
  assert.equal(divergence.b?.stream, "workload");
  const same = runSeedDetailed(7, { recordDraws: true, durationMs: 5_000 });
  const again = runSeedDetailed(7, { recordDraws: true, durationMs: 5_000 });
  assert.ok(same.sim.draws!.draws.length > 100);
  assert.equal(firstDivergence(same.sim.draws!.draws, again.sim.draws!.draws), undefined);
});
