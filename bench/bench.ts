// `npm run bench [-- --json] [--quick] [--profile ROW]`: our broker and NATS JetStream side by side
// on this machine (issue 5). One JetStream-enabled nats-server serves JetStream and the broker
// alike, so both pay the same NATS hop; every client runs in its own process; everything started
// here is stopped by pid at the end, on error and on SIGINT/SIGTERM. Then CreateStream latency on a
// 3-broker cluster (issue 12, no target). Table on stderr; with
// --json, stdout is exactly one JSON object.
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { natsServerPath, startNatsServer, type NatsServerProcess } from "../jepsen-like/nats-server-process.js";
import { parseBenchOptions, type BenchOptions } from "./bench-options.js";
import { BenchRun, FSYNC } from "./bench-run.js";
import { benchClusterCreateStream, clusterCreateStreamTable, type ClusterCreateStreamResult } from "./cluster-bench.js";
import { machineInfo, type MachineInfo } from "./machine-info.js";
import { extraRatiosOf, machineLine, markdownTable, ratiosByRound, ratiosOf, ratiosTable, TARGETS, targetsMet } from "./report.js";
import { killClients } from "./run-client.js";
import { deleteJetStream, deleteOursStream, liveBrokers, type BrokerUnderTest } from "./servers.js";

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

async function stopBroker(b: BrokerUnderTest): Promise<void> {
  await b.stop();
  rmSync(b.setup.dataDir, { recursive: true, force: true });
}

/** Catch-up read pairs (JetStream, then ours) per round. */
const READ_PAIRS = 2;

/**
 * One round of the rows behind the ratios, each JetStream row right before ours: workload 1
 * (JetStream, ours with never, ours with always), 3 over what they stored (twice; in round 1
 * also with the node:http2 client, an extra), then 2 (in round 1 also with always).
 */
async function ratioRound(run: BenchRun, never: BrokerUnderTest, always: BrokerUnderTest): Promise<void> {
  const jsAsync = `BENCHJS_ASYNC_${run.round}`;
  const oursAsync = `bench-async-${run.round}`;
  // Stream names (and so subjects) differ per broker: both brokers listen on the same nats-server.
  const alwaysAsync = `bench-async-always-${run.round}`;
  const js = await run.jetStreamAsync(jsAsync);
  const ours = await run.oursAsync(never, "async", FSYNC.never, oursAsync);
  await run.oursAsync(always, "async-always", FSYNC.always, alwaysAsync);
  // Reads are the noisiest pair (two busy processes each side): READ_PAIRS back-to-back pairs.
  for (let pair = 0; pair < READ_PAIRS; pair++) {
    if (js !== undefined) await run.jetStreamRead(jsAsync, js.messages);
    if (ours !== undefined) await run.oursRead(never, oursAsync, ours.messages);
  }
  if (ours !== undefined && run.round === 1 && !run.opts.skipExtras) await run.oursReadHttp2(never, oursAsync, ours.messages);
  await deleteJetStream(run.nats.url, jsAsync);
  await deleteOursStream(never.running.grpcAddress, oursAsync).catch(() => undefined);
  await deleteOursStream(always.running.grpcAddress, alwaysAsync).catch(() => undefined);
  await run.jetStreamSync(`BENCHJS_SYNC_${run.round}`);
  await run.oursSync(never, "sync", FSYNC.never, `bench-sync-${run.round}`);
  // Workload 4's sync row feeds no ratio: once is enough (it is an extra in rounds after the first).
  if (run.round === 1) await run.oursSync(always, "sync-always", FSYNC.always, `bench-sync-always-${run.round}`);
}

/** What the extra rows take after the rounds, as measured on this machine (with margin). */
function extrasEstimateMs(opts: BenchOptions): number {
  return opts.skipExtras ? 0 : 75_000;
}

/** The ratio rounds on two brokers of ours (never and always, both on nats-server), then gRPC PublishAsync. */
async function phaseRatios(run: BenchRun, startedMs: number): Promise<void> {
  log(`phase 1: JetStream and ours (streams.sync.policy never and always), all on nats-server, ${run.opts.rounds} round(s)`);
  const never = await run.broker("never", "never", true);
  try {
    const always = await run.broker("always", "always", true);
    try {
      let slowestRoundMs = 0;
      for (let r = 1; r <= run.opts.rounds; r++) {
        const leftMs = run.opts.budgetSeconds * 1000 - (Date.now() - startedMs);
        if (r > 1 && slowestRoundMs + extrasEstimateMs(run.opts) > leftMs) {
          log(`skipping rounds ${r}-${run.opts.rounds}: one more would end the run past --budget-seconds ${run.opts.budgetSeconds}`);
          break;
        }
        run.round = r;
        const roundStartedMs = Date.now();
        await ratioRound(run, never, always);
        slowestRoundMs = Math.max(slowestRoundMs, Date.now() - roundStartedMs);
      }
    } finally {
      await stopBroker(always);
    }
    if (!run.opts.skipExtras) await run.oursGrpcAsync(never, "bench-grpc");
  } finally {
    await stopBroker(never);
  }
}

/** Phase 2: the embedded NATS server instead of nats-server (streams.sync.policy never). */
async function phaseEmbedded(run: BenchRun): Promise<void> {
  if (run.opts.skipExtras) return;
  log("phase 2: ours with its embedded NATS server instead of nats-server (streams.sync.policy=never)");
  const embedded = await run.broker("embedded", "never", false);
  try {
    await run.oursAsync(embedded, "async-embedded", FSYNC.never, "bench-async");
    await run.oursSync(embedded, "sync-embedded", FSYNC.never, "bench-sync");
  } finally {
    await stopBroker(embedded);
  }
}

/** Phase 3: CreateStream latency on a 3-broker cluster of its own (no target yet); a failure is reported, not thrown. */
async function phaseCluster(run: BenchRun): Promise<ClusterCreateStreamResult | undefined> {
  log("phase 3: CreateStream latency on a 3-broker cluster (its own nats-server)");
  try {
    return await benchClusterCreateStream(run.opts.quick ? 100 : 200, log);
  } catch (e) {
    run.failures.push({ id: "cluster-create-stream", error: e instanceof Error ? e.message : String(e) });
    return undefined;
  }
}

function report(run: BenchRun, opts: BenchOptions, machine: MachineInfo, startedMs: number, cluster: ClusterCreateStreamResult | undefined): void {
  const ratios = ratiosOf(run.rows);
  const byRound = ratiosByRound(run.rows);
  log("");
  log(markdownTable(run.rows));
  log("");
  log(ratiosTable(ratios, byRound));
  const extra = extraRatiosOf(run.rows);
  if (extra.catchUpReadHttp2Client !== undefined) log(`(no target) catch-up read with the node:http2 client over JetStream's: ${extra.catchUpReadHttp2Client}`);
  const cpu = extra.cpuPerMessage;
  log(`(no target) JetStream's CPU per message over ours (all processes; above 1 = ours cheaper): async ${cpu.async ?? "n/a"}, async-always ${cpu.asyncAlways ?? "n/a"}, read ${cpu.catchUpRead ?? "n/a"}, sync ${cpu.sync ?? "n/a"}`);
  if (cluster !== undefined) log(`\n${clusterCreateStreamTable(cluster)}`);
  log("");
  log(`machine: ${machineLine(machine)}`);
  log(`fsync: JetStream (nats-server ${machine.natsServer}) never fsyncs per message; rows with fsync "never" are like for like with it, rows with "always" fsync before every ack.`);
  for (const f of run.failures) log(`FAILED ${f.id}: ${f.error}`);
  if (run.profile !== undefined) {
    log(`\nprofile of the broker during "${opts.profile}": ${run.profile.file} (busy ${run.profile.busyMs} of ${run.profile.wallMs} ms)`);
    for (const f of run.profile.topFunctions.slice(0, 20)) log(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}`);
    log("  by file/package:");
    for (const f of run.profile.topFiles) log(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.name}`);
  }
  if (!opts.json) return;
  const results = run.rows.map((r) => ({ round: r.round, id: r.id, workload: r.workload, system: r.system, path: r.path, nats: r.nats, fsync: r.fsync, profiled: r.profiled, ...r.result, serverCpuSeconds: r.serverCpuSeconds }));
  process.stdout.write(`${JSON.stringify({
    benchmark: "Liftbridge-TS vs NATS JetStream, single node, 1 stream, 1 partition, 1 replica",
    date: new Date().toISOString(), durationSeconds: Math.round((Date.now() - startedMs) / 1000), machine,
    settings: {
      valueBytes: opts.valueBytes, asyncMessages: opts.asyncMessages, window: opts.window, syncSeconds: opts.syncSeconds,
      syncWarmupSeconds: opts.syncWarmupSeconds, rounds: opts.rounds, quick: opts.quick,
    },
    results, clusterCreateStream: cluster ?? null, ratios, ratiosByRound: byRound, extraRatios: extraRatiosOf(run.rows), targets: TARGETS, targetsMet: targetsMet(ratios), failures: run.failures,
    ...(run.profile !== undefined ? { profile: run.profile } : {}),
    fsyncNote: `JetStream (nats-server ${machine.natsServer}) acks from the page cache and fsyncs streams every 60 s; ours with streams.sync.policy=never is the like-for-like row, always fsyncs (group commit) before acking.`,
  })}\n`);
}

async function stopEverything(nats: NatsServerProcess | undefined, run: BenchRun | undefined): Promise<void> {
  killClients();
  await Promise.all([...liveBrokers].map((b) => b.stop("SIGKILL", 5000)));
  await nats?.stop();
  if (run !== undefined) rmSync(run.root, { recursive: true, force: true });
}

async function main(): Promise<number> {
  const opts = parseBenchOptions(process.argv);
  const binary = natsServerPath();
  if (binary === undefined) {
    log("nats-server was not found on PATH or in /usr/sbin. Install it (Debian/Ubuntu: `sudo apt-get install nats-server`), or set NATS_SERVER_PATH to the binary.");
    return 1;
  }
  const machine = machineInfo(binary, { natsClient: packageVersion("nats"), grpcJs: packageVersion("@grpc/grpc-js") });
  const startedMs = Date.now();
  let nats: NatsServerProcess | undefined;
  let run: BenchRun | undefined;
  let cluster: ClusterCreateStreamResult | undefined;
  const interrupt = (signal: string): void => {
    log(`${signal}: stopping everything this run started`);
    void stopEverything(nats, run).finally(() => process.exit(130));
  };
  process.once("SIGINT", () => interrupt("SIGINT"));
  process.once("SIGTERM", () => interrupt("SIGTERM"));
  try {
    nats = await startNatsServer({ jetstream: true });
    log(`nats-server ${machine.natsServer}: pid ${nats.pid}, ${nats.url}, JetStream on`);
    run = new BenchRun(opts, nats, log);
    await phaseRatios(run, startedMs);
    await phaseEmbedded(run);
    cluster = await phaseCluster(run);
  } finally {
    await stopEverything(nats, run);
  }
  report(run, opts, machine, startedMs, cluster);
  return run.failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    log(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  },
);
