// The cluster workload (issue 12, "Linearizable metadata" in the simulator): whole brokers forming a
// metadata Raft cluster over the simulated NATS, clients creating and deleting a few stream names
// concurrently through different brokers under network faults, link cuts, crashes and restarts;
// then convergence, one controller, a final create through each broker, the per-name
// linearizability check and the stale-view check. More seeds: `npm run sim -- --workload cluster --seeds N`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSeed } from "../../sim/runner.js";
import { firstCatchingSeed } from "../../sim/testing/planted-bug-sweep.js";
import { checkRemovals, incarnation } from "../../sim/workloads/cluster-checks.js";
import type { StreamMeta } from "../../src/core/metadata/metadata-state.js";

const SEEDS = 300;

test(`cluster workload: ${SEEDS} seeds pass (linearizable creates and deletes, convergence, a controller, final creates)`, () => {
  const failures: string[] = [];
  const totals = new Map<string, number>();
  const sizes = new Set<number>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed, { workload: "cluster" });
    if (!r.ok) failures.push(`seed ${seed}: ${r.failure ?? "?"} (replay: npm run sim -- --workload cluster --seed ${seed})`);
    for (const [k, v] of Object.entries(r.counters)) totals.set(k, (totals.get(k) ?? 0) + v);
    sizes.add(r.counters["brokers"] ?? 0);
  }
  assert.deepEqual(failures, []);
  assert.deepEqual([...sizes].sort(), [3, 5], "clusters of 3 and of 5 brokers");
  // The sweep must have exercised what it claims to.
  for (const what of ["crashes", "crashesMidSync", "cleanRestarts", "linkCuts", "staleRestarts", "dirRemovals", "creates", "deletes", "pauses", "readonlys", "unknown", "bursts", "burstWins", "natsDropped", "natsDuplicated", "natsCut"]) {
    assert.ok((totals.get(what) ?? 0) > 0, `no ${what} in ${SEEDS} seeds`);
  }
  // Bursts create one name through every broker at once: never more than one success each.
  assert.ok((totals.get("burstWins") ?? 0) <= (totals.get("bursts") ?? 0), "at most one create of a burst succeeds");
  assert.ok((totals.get("oks") ?? 0) > SEEDS, "ops succeed");
});

test("a cluster seed replays exactly: same seed, same trace hash and counters", () => {
  const a = runSeed(7, { workload: "cluster" });
  assert.deepEqual(runSeed(7, { workload: "cluster" }), a);
  assert.notEqual(runSeed(8, { workload: "cluster" }).traceHash, a.traceHash);
});

test("planted bug: a CreateStream answered before it is committed is caught by the linearizability check", () => {
  const verdict = firstCatchingSeed({ workload: "cluster-replyBeforePersist", cleanWorkload: "cluster", failure: /not linearizable \(illegal\)/ }, 50);
  assert.ok(verdict.caught, verdict.caught ? "" : verdict.reason);
  console.log(`cluster-replyBeforePersist: first caught by seed ${verdict.seed}`);
});

test("the stale-view check flags the removal of a live stream's directory by the broker that leads it, and only that", () => {
  const live = { name: "alpha", creationTimestampNs: 5n, partitions: [{ id: 0, leader: "b2", leaderEpoch: 1 }] } as unknown as StreamMeta;
  const streams = new Map([["alpha", live]]);
  const held = incarnation(live);
  assert.match(checkRemovals([{ broker: "b2", name: "alpha", atMs: 10, held }], streams) ?? "", /b2 removed the directory of live stream alpha/);
  // Another broker's copy, an older incarnation, or a deleted stream: no finding.
  assert.equal(checkRemovals([{ broker: "b1", name: "alpha", atMs: 10, held }], streams), undefined);
  assert.equal(checkRemovals([{ broker: "b2", name: "alpha", atMs: 10, held: "alpha@1/1" }], streams), undefined);
  assert.equal(checkRemovals([{ broker: "b2", name: "beta", atMs: 10, held: "beta@1/1" }], streams), undefined);
});
