// Planted bugs of issue 11 (persist lanes, the node runtime, read errors as values): each must fail
// some seed of the default simulator sweep (admin ops, compaction and read faults drawn per seed)
// within 200 seeds, with the failure that names it; the same seed without the bug passes, and the
// clean sweep of all 200 passes (test/sim/broker-workload.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSeed } from "../../sim/runner.js";

const SEEDS = 200;

const BUGS = [
  { workload: "broker-reply-before-persist", what: "a CreateStream answered before its op is durable", failure: /answered as created but is gone/ },
  { workload: "broker-ack-before-earlier-persist", what: "an ack released before an earlier persist of its lane", failure: /persist tokens complete in order within lane/ },
  { workload: "broker-read-error-throws", what: "a read error thrown out of the step (a crash, not an answer)", failure: /^DiskError: read .*: E[A-Z]+$/ },
] as const;

for (const bug of BUGS) {
  test(`planted bug: ${bug.what} is caught within ${SEEDS} seeds`, () => {
    let caught: number | undefined;
    for (let seed = 1; seed <= SEEDS && caught === undefined; seed++) {
      const r = runSeed(seed, { workload: bug.workload });
      if (r.ok) continue;
      caught = seed;
      assert.match(r.failure ?? "", bug.failure);
      // The same seed without the bug passes: the failure is the bug's, not the seed's.
      const clean = runSeed(seed, { workload: "broker" });
      assert.equal(clean.ok, true, clean.failure);
      assert.equal(runSeed(seed, { workload: bug.workload }).traceHash, r.traceHash, "the failing seed replays exactly");
    }
    console.log(`${bug.workload}: first caught by seed ${String(caught)}`);
    assert.ok(caught !== undefined, `no seed of ${SEEDS} caught ${bug.workload}`);
  });
}
