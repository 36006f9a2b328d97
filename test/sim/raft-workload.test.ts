// The simulated Raft clusters (issue 12, Must show): 500 seeds of 3 or 5 nodes under faults, every
// safety property checked after every event, then the liveness phase; each planted Raft bug is
// caught within the same 500 seeds, and a failing seed replays exactly. More seeds:
// `npm run sim -- --workload raft --seeds N`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSeed } from "../../sim/runner.js";
import { firstCatchingSeed } from "../../sim/testing/planted-bug-sweep.js";

const SEEDS = 500;

test(`raft workload: ${SEEDS} seeds pass (safety after every event, leader after healing, stable term for 60 s)`, () => {
  const failures: string[] = [];
  const totals = new Map<string, number>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed, { workload: "raft" });
    if (!r.ok) failures.push(`seed ${seed}: ${r.failure ?? "?"} (replay: npm run sim -- --workload raft --seed ${seed})`);
    for (const [k, v] of Object.entries(r.counters)) totals.set(k, (totals.get(k) ?? 0) + v);
  }
  assert.deepEqual(failures, []);
  // The sweep must have exercised what it claims to.
  for (const what of ["crashes", "snapshotsTaken", "snapshotsInstalled", "fault_symmetric", "fault_ring", "fault_transfer", "fault_membership", "messagesDropped"]) {
    assert.ok((totals.get(what) ?? 0) > 0, `no ${what} in ${SEEDS} seeds`);
  }
  assert.ok((totals.get("leaderTerms") ?? 0) > 2 * SEEDS, "leaders change often");
});

test("a raft seed replays exactly: same seed, same trace hash and counters", () => {
  const a = runSeed(11, { workload: "raft" });
  assert.deepEqual(runSeed(11, { workload: "raft" }), a);
  assert.notEqual(runSeed(12, { workload: "raft" }).traceHash, a.traceHash);
});

const BUGS = [
  { workload: "raft-commit-previous-term-by-count", what: "an old-term entry committed by counting (Figure 8)", failure: /Leader commit rule|Leader Completeness|State Machine Safety/ },
  { workload: "raft-no-pre-vote", what: "no PreVote", failure: /liveness: term changed/ },
  { workload: "raft-no-check-quorum", what: "no CheckQuorum", failure: /liveness: term changed/ },
  { workload: "raft-vote-without-persist", what: "a vote sent before it is durable", failure: /Ready contract: .* before it was durable|Election Safety/ },
] as const;

for (const bug of BUGS) {
  test(`planted Raft bug: ${bug.what} is caught within ${SEEDS} seeds`, () => {
    const verdict = firstCatchingSeed({ ...bug, cleanWorkload: "raft" }, SEEDS);
    assert.ok(verdict.caught, verdict.caught ? "" : verdict.reason);
  });
}
