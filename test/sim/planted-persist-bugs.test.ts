// Planted bugs of issue 11 (persist lanes, the node runtime, read errors as values): each must fail
// some seed of the default simulator sweep (admin ops, compaction and read faults drawn per seed)
// within 200 seeds, with the failure that names it; the same seed without the bug passes, and the
// clean sweep of all 200 passes (test/sim/broker-workload.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { firstCatchingSeed } from "../../sim/testing/planted-bug-sweep.js";

const SEEDS = 200;

const BUGS = [
  { workload: "broker-reply-before-persist", what: "a CreateStream answered before its op is durable", failure: /answered as created but is gone/ },
  { workload: "broker-ack-before-earlier-persist", what: "an ack released before an earlier persist of its lane", failure: /persist tokens complete in order within lane/ },
  { workload: "broker-reply-before-persist-linearizability", what: "a CreateStream answered before its op is durable, found by the linearizability check alone", failure: /stream metadata not linearizable/ },
  { workload: "broker-read-error-throws", what: "a read error thrown out of the step (a crash, not an answer)", failure: /^DiskError: read .*: E[A-Z]+$/ },
] as const;

for (const bug of BUGS) {
  test(`planted bug: ${bug.what} is caught within ${SEEDS} seeds`, () => {
    const verdict = firstCatchingSeed({ ...bug, cleanWorkload: "broker" }, SEEDS);
    assert.ok(verdict.caught, verdict.caught ? "" : verdict.reason);
    console.log(`${bug.workload}: first caught by seed ${verdict.seed}`);
  });
}
