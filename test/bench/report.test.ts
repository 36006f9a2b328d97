// The benchmark's ratios: paired within a round, averaged over rounds, missing rows left out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpuUsPerMessage, extraRatiosOf, median, ratiosByRound, ratiosOf, ratiosTable, type Row } from "../../bench/report.js";

function row(round: number, id: string, msgsPerSec: number, p99?: number): Row {
  return {
    id, round, workload: id.includes("sync") ? "sync" : id.includes("read") ? "read" : "async",
    system: id.startsWith("js-") ? "jetstream" : "ours", path: "p", nats: "nats-server", fsync: "f", profiled: false,
    serverCpuSeconds: {},
    result: {
      messages: 1, seconds: 1, msgsPerSec, mbPerSec: 0, complete: true, clientCpuSeconds: 0, notes: "",
      ...(p99 === undefined ? {} : { latencyUs: { p50: p99 / 2, p99, p999: p99 * 2, max: p99 * 3, mean: p99 / 2 } }),
    },
  };
}

test("each ratio pairs rows of the same round, then takes the median over rounds", () => {
  const rows = [
    row(1, "js-async", 100), row(1, "async", 50), row(1, "async-always", 40), row(1, "js-read", 200), row(1, "read", 100),
    row(1, "js-sync", 1, 200), row(1, "sync", 1, 400),
    // Round 2 ran on a machine twice as slow: its ratios are the same, and so the means.
    row(2, "js-async", 50), row(2, "async", 25), row(2, "async-always", 20), row(2, "js-read", 100), row(2, "read", 70),
    row(2, "js-sync", 1, 400), row(2, "sync", 1, 1000),
    row(2, "async-grpc", 10),
    // Round 3 ran while a neighbour took the CPU from ours only: the median ignores it.
    row(3, "js-async", 100), row(3, "async", 5), row(3, "async-always", 4), row(3, "js-read", 200), row(3, "read", 20),
    row(3, "js-sync", 1, 200), row(3, "sync", 1, 20000),
  ];
  assert.deepEqual(ratiosByRound(rows), [
    { asyncR1: 0.5, asyncR1Always: 0.4, catchUpRead: 0.5, syncP99: 2 },
    { asyncR1: 0.5, asyncR1Always: 0.4, catchUpRead: 0.7, syncP99: 2.5 },
    { asyncR1: 0.05, asyncR1Always: 0.04, catchUpRead: 0.1, syncP99: 100 },
  ]);
  assert.deepEqual(ratiosOf(rows), { asyncR1: 0.5, asyncR1Always: 0.4, catchUpRead: 0.5, syncP99: 2.5 });
  assert.deepEqual(ratiosOf(rows.filter((r) => r.round < 3)), { asyncR1: 0.5, asyncR1Always: 0.4, catchUpRead: 0.6, syncP99: 2.25 });
  assert.match(ratiosTable(ratiosOf(rows), ratiosByRound(rows)), /\| catchUpRead \| 0\.5 \| 0\.5, 0\.7, 0\.1 \| >= 1\.5 \| MISSED \|/);
});

test("a round missing a row leaves that ratio to the other rounds; none at all is undefined", () => {
  const rows = [row(1, "js-async", 100), row(1, "async", 80), row(2, "async", 10), row(2, "js-read", 5)];
  assert.deepEqual(ratiosOf(rows), { asyncR1: 0.8, asyncR1Always: undefined, catchUpRead: undefined, syncP99: undefined });
});

test("median: middle value, mean of the middle two, undefined when empty", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.equal(median([]), undefined);
});

test("the node:http2 reader's figure is over JetStream's read of the same round", () => {
  const rows = [row(1, "js-read", 100), row(1, "read", 50), row(1, "read-http2", 150), row(2, "js-read", 10)];
  assert.equal(extraRatiosOf(rows).catchUpReadHttp2Client, 1.5);
  assert.equal(extraRatiosOf(rows.slice(0, 2)).catchUpReadHttp2Client, undefined);
});

test("several read pairs in a round: the k-th of ours over the k-th of JetStream's, then their mean", () => {
  const rows = [row(1, "js-read", 100), row(1, "read", 50), row(1, "js-read", 200), row(1, "read", 140), row(1, "read", 999)];
  assert.equal(ratiosOf(rows).catchUpRead, 0.6);
});

test("CPU per message: every process of a row over its messages; JetStream's over ours, paired in a round, median over rounds", () => {
  const withCpu = (r: Row, servers: Record<string, number>, client: number, messages: number): Row =>
    ({ ...r, serverCpuSeconds: servers, result: { ...r.result, messages, clientCpuSeconds: client } });
  const js = (round: number, cpu: number) => withCpu(row(round, "js-async", 1), { "nats-server": cpu }, 1, 1_000_000);
  const ours = (round: number, broker: number) => withCpu(row(round, "async", 1), { broker, "nats-server": 1 }, 1, 1_000_000);
  assert.equal(cpuUsPerMessage(js(1, 2)), 3);
  assert.equal(cpuUsPerMessage(ours(1, 4)), 6);
  assert.equal(cpuUsPerMessage(withCpu(row(1, "async", 1), {}, 1, 0)), undefined);
  // Rounds: 3/6 = 0.5, 6/6 = 1, 3/2 = 1.5: the median is 1.
  const rows = [js(1, 2), ours(1, 4), js(2, 5), ours(2, 4), js(3, 2), ours(3, 0)];
  assert.deepEqual(extraRatiosOf(rows).cpuPerMessage, { async: 1, asyncAlways: undefined, catchUpRead: undefined, sync: undefined });
});
