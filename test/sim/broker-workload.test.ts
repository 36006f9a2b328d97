// The single-broker simulation (issue "single-node broker", Must show): the real broker core
// under crashes, torn writes, fsync and read errors, a full disk, a faulty network, admin ops
// (pause, readonly, delete) and compaction (each drawn per seed; docs/decisions.md "The
// simulator"), 200 seeds per `npm test`, each ending with faults healed and every publish answered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { firstCatchingSeed } from "../../sim/testing/planted-bug-sweep.js";
import { runSeed } from "../../sim/runner.js";

const SEEDS = 200;

test(`broker workload: ${SEEDS} seeds pass (acked survives, no gaps, no lost reads, every publish answered)`, () => {
  const failures: string[] = [];
  const keys = [
    "published", "acked", "delivered", "crashes", "ackErrors", "apiErrors", "retries", "natsDropped", "natsDuplicated",
    "natsDisconnects", "natsLost", "syncedRecords", "readErrors", "pauses", "readonlys", "deletes",
  ] as const;
  const totals: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed, { workload: "broker" });
    if (!r.ok) failures.push(`seed ${seed}: ${r.failure ?? "?"} (replay: npm run sim -- --seed ${seed} --workload broker)`);
    for (const k of keys) totals[k] = (totals[k] ?? 0) + (r.counters[k] ?? 0);
  }
  console.log(`broker sweep totals: ${JSON.stringify(totals)}`);
  assert.deepEqual(failures, []);
  // The sweep must actually exercise what it claims to: every fault and every operation happened.
  const t = (k: (typeof keys)[number]): number => totals[k] ?? 0;
  assert.ok(t("crashes") >= SEEDS, `crashes happened (${t("crashes")})`);
  assert.ok(t("acked") > SEEDS * 50, `acks were checked (${t("acked")})`);
  assert.ok(t("delivered") > SEEDS * 50, `subscribers read records (${t("delivered")})`);
  assert.ok(t("ackErrors") > 0, `fsync errors and a full disk produced error acks (${t("ackErrors")})`);
  for (const k of keys) assert.ok(t(k) > 0, `${k} happened in the sweep (${t(k)})`);
});

test("broker workload: a seed replays to the same trace hash; different seeds differ", () => {
  const a = runSeed(7, { workload: "broker" });
  const b = runSeed(7, { workload: "broker" });
  const c = runSeed(8, { workload: "broker" });
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.counters, b.counters);
  assert.notEqual(a.traceHash, c.traceHash);
});

test("planted bug: LEADER acks released before persist are caught within 200 seeds", () => {
  const verdict = firstCatchingSeed({ workload: "broker-ack-before-persist", cleanWorkload: "broker", failure: /is lost|acked twice/ }, 200);
  assert.ok(verdict.caught, verdict.caught ? "" : verdict.reason);
});

test("planted bug: a network that never heals leaves publishes unanswered, and the liveness check says so", () => {
  let caught: string | undefined;
  for (let seed = 1; seed <= 20 && caught === undefined; seed++) {
    const r = runSeed(seed, { workload: "broker-unhealed-network" });
    if (!r.ok) caught = r.failure;
  }
  assert.match(caught ?? "", /unanswered-publish/);
});
