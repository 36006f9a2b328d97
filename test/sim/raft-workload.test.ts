// The simulated Raft clusters (issue 12, Must show): 500 seeds of 3 or 5 nodes, each a RaftDiskLog on
// its own SimDisk talking through the simulated NATS, under faults; every safety property checked
// after every event, then the liveness phase. Each planted Raft bug, and each planted bug of the
// Raft log on disk, is caught within the same 500 seeds, and a failing seed replays exactly. More
// seeds: `npm run sim -- --workload raft --seeds N` (and `npm run sim:sweep`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSeed } from "../../sim/runner.js";
import { firstCatchingSeed } from "../../sim/testing/planted-bug-sweep.js";

const SEEDS = 500;

test(`raft workload: ${SEEDS} seeds pass (safety after every event, leader after healing, stable term for 60 s)`, () => {
  const failures: string[] = [];
  const totals = new Map<string, number>();
  const sizes = new Set<number>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed, { workload: "raft" });
    if (!r.ok) failures.push(`seed ${seed}: ${r.failure ?? "?"} (replay: npm run sim -- --workload raft --seed ${seed})`);
    for (const [k, v] of Object.entries(r.counters)) totals.set(k, (totals.get(k) ?? 0) + v);
    sizes.add(r.counters["nodes"] ?? 0);
  }
  assert.deepEqual(failures, []);
  assert.deepEqual([...sizes].sort(), [3, 5], "clusters of 3 and of 5 voters");
  // The sweep must have exercised what it claims to.
  const exercised = [
    "crashes", "crashesMidSync", "unsyncedWritesLost", "snapshotsTaken", "snapshotsInstalled", "messagesDropped", "messagesDuplicated", "messagesCut",
    "fault_symmetric", "fault_asymmetric", "fault_isolate", "fault_ring", "fault_clock", "fault_jump", "clockJumps", "fault_disconnect", "natsDisconnects", "fault_transfer", "fault_membership",
  ];
  for (const what of exercised) assert.ok((totals.get(what) ?? 0) > 0, `no ${what} in ${SEEDS} seeds`);
  assert.ok((totals.get("leaderTerms") ?? 0) > 2 * SEEDS, "leaders change often");
});

test("a raft seed replays exactly: same seed, same trace hash and counters", () => {
  const a = runSeed(11, { workload: "raft" });
  assert.deepEqual(runSeed(11, { workload: "raft" }), a);
  assert.notEqual(runSeed(12, { workload: "raft" }).traceHash, a.traceHash);
});

const BUGS = [
  { workload: "raft-commit-previous-term-by-count", what: "an old-term entry committed by counting (Figure 8)", failure: /Leader commit rule|Leader Completeness|State Machine Safety/ },
  { workload: "raft-no-pre-vote", what: "no PreVote", failure: /liveness: (term changed|no leader)/ },
  { workload: "raft-no-check-quorum", what: "no CheckQuorum", failure: /liveness: term changed/ },
  { workload: "raft-vote-without-persist", what: "a vote sent before it is durable", failure: /Ready contract: .* before it was durable|Election Safety/ },
  // The Raft log on disk (also caught by its own crash property, test/raft/raft-disk-log-crash.test.ts).
  { workload: "raft-disk-no-fsync-before-hard-state", what: "a hard state not fdatasynced before what depends on it leaves", failure: /Raft log recovery|Durability|Election Safety/ },
  { workload: "raft-disk-skip-truncate-on-conflict", what: "a conflicting suffix overwritten in place without being cut", failure: /Raft log recovery|Log Matching|State Machine Safety|Leader Completeness/ },
] as const;

for (const bug of BUGS) {
  test(`planted bug: ${bug.what} is caught within ${SEEDS} seeds`, () => {
    const verdict = firstCatchingSeed({ ...bug, cleanWorkload: "raft" }, SEEDS);
    assert.ok(verdict.caught, verdict.caught ? "" : verdict.reason);
    console.log(`${bug.workload}: first caught by seed ${verdict.seed}`);
  });
}
