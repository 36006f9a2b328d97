// Issue 11, Must show: a partition whose disk fails does not stop publishes to partitions in
// healthy lanes. The lane-isolation workload fails every write and fdatasync of one partition's
// files (SimDisk.failPaths) while publishers keep publishing to every partition; the planted
// laneFailureStopsBroker (one lane's EIO fail-stops the broker) must be caught by the same checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSeed } from "../../sim/runner.js";

const SEEDS = 8;

test(`per-file disk faults stay in their lane: ${SEEDS} seeds, the failed partition errors, the others keep acking and serve what they acked`, () => {
  const failures: string[] = [];
  let okAfterFault = 0;
  let errorAcks = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed, { workload: "lane-isolation" });
    if (!r.ok) failures.push(`seed ${seed}: ${r.failure ?? "?"} (replay: npm run sim -- --seed ${seed} --workload lane-isolation)`);
    okAfterFault += r.counters["okAfterFault"] ?? 0;
    errorAcks += r.counters["errorAcks"] ?? 0;
  }
  console.log(`lane isolation: ${okAfterFault} OK acks on healthy partitions after the fault, ${errorAcks} error acks on the failed one`);
  assert.deepEqual(failures, []);
  assert.ok(errorAcks >= SEEDS, "every seed's failed partition answered with an error ack");
});

test("planted bug: an EIO on one partition's lane that stops every lane is caught", () => {
  const caught: number[] = [];
  let first: string | undefined;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed, { workload: "lane-isolation-lane-failure-stops-broker" });
    if (r.ok) continue;
    caught.push(seed);
    first ??= r.failure;
  }
  console.log(`laneFailureStopsBroker caught in seeds ${caught.join(", ")} of 1-${SEEDS}; first: ${String(first)}`);
  assert.ok(caught.length > 0, "the lane-isolation checks must catch a lane failure that stops the broker");
  assert.match(first ?? "", /healthy partition/);
});
