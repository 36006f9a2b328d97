// Crash cycles on the real broker process: mixed publishers at once, SIGKILL at a seeded random
// moment, restart on the same data directory, read every partition from the earliest offset and
// check the history (history-checker.ts). Optionally damages the data between kill and restart,
// to show the checker can fail.
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createInbox, type NatsConnection } from "nats";
import seedrandom from "seedrandom";
import { startBrokerProcess, type BrokerProcess } from "./broker-process.js";
import { createApiClient, type ApiClient } from "./grpc-test-client.js";
import { checkHistory, summarize, type CheckReport, type PartitionRead } from "./history-checker.js";
import { collectNats, subscribeRead } from "./integration-fixture.js";
import { MIXED_PUBLISHERS, startMixedPublishers } from "./mixed-publishers.js";
import { natsServerPath, startNatsServer, type NatsServerProcess } from "./nats-server-process.js";
import { PublishHistory } from "./publish-history.js";

/** Damage done to the data directory after a kill, before the restart. */
export type Damage =
  /** None: the broker must keep every ack. */
  | "none"
  /**
   * Cuts the last quarter of the newest segment of every partition, as losing unsynced page cache
   * would; with sync policy always the acks there were promised durable, so the checker must fail.
   */
  | "truncateSegmentTails";

/** When a kill lands: at a random moment, or right after a client got an ack. */
export type KillMoment = "random" | "afterAck";

/** Options for runCrashCycles. */
export interface CrashCycleOptions {
  readonly cycles: number;
  readonly seed: string;
  /** Publishing time before each kill is drawn uniformly from [min, max] ms. */
  readonly killAfterMs: readonly [number, number];
  /**
   * When the kill lands once that time is up: at once, right after the next ack a client gets
   * (the moment an ack sent before its write is most likely unwritten), or either, drawn per cycle.
   */
  readonly killAt?: KillMoment | "mixed";
  readonly paddingBytes?: number;
  /** Comma-separated planted bug names for LBTS_PLANTED_BUGS. */
  readonly plantedBugs?: string;
  readonly damage?: Damage;
  /** Stops at the first cycle whose check fails (a planted-bug run needs only one). */
  readonly stopAtFirstFailure?: boolean;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** One cycle: how long it published before the kill, and the check after the restart. */
export interface CycleResult {
  readonly cycle: number;
  readonly killAfterMs: number;
  readonly killAt: KillMoment;
  readonly report: CheckReport;
}

/** The whole run: every cycle's result and the final check. */
export interface CrashCycleResult {
  readonly cycles: CycleResult[];
  readonly final: CheckReport;
  readonly ok: boolean;
}

const STREAM = "crash";
const SUBJECT = "crash.data";
const PARTITIONS = MIXED_PUBLISHERS.length;

/** Runs the cycles; the broker and nats-server it starts are stopped whatever happens. */
export async function runCrashCycles(options: CrashCycleOptions): Promise<CrashCycleResult> {
  const random = seedrandom(options.seed);
  const dataDir = mkdtempSync(join(tmpdir(), "liftbridge-crash-"));
  const natsServer = natsServerPath() !== undefined ? await startNatsServer() : undefined;
  const history = new PublishHistory();
  const cycles: CycleResult[] = [];
  let broker: BrokerProcess | undefined;
  const env: Record<string, string> = options.plantedBugs !== undefined ? { LBTS_PLANTED_BUGS: options.plantedBugs } : {};
  const start = (): Promise<BrokerProcess> => startBrokerProcess({
    dataDir, env, configYaml: "streams.sync.policy: always\n", ...(natsServer !== undefined ? { natsUrl: natsServer.url } : {}),
  });
  try {
    broker = await start();
    await withClients(broker, natsServer, async (client) => {
      await client.createStream({ name: STREAM, subject: SUBJECT, partitions: PARTITIONS }, { timeoutMs: 5000 });
    });
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      const [lo, hi] = options.killAfterMs;
      const killAfterMs = Math.round(lo + random() * (hi - lo));
      const mode = options.killAt ?? "mixed";
      const killAt: KillMoment = mode !== "mixed" ? mode : random() < 0.5 ? "random" : "afterAck";
      await publishThenKill(broker, natsServer, history, { prefix: `c${cycle}`, killAfterMs, killAt, paddingBytes: options.paddingBytes ?? 1024 });
      if ((options.damage ?? "none") === "truncateSegmentTails") truncateSegmentTails(dataDir);
      broker = await start();
      const report = await withClients(broker, natsServer, (client) => readAndCheck(client, history));
      cycles.push({ cycle, killAfterMs, killAt, report });
      options.log?.(`cycle ${cycle + 1}/${options.cycles}: killed after ${killAfterMs} ms (${killAt}); ${summarize(report)}`);
      if (!report.ok && options.stopAtFirstFailure === true) break;
    }
    const final = cycles.at(-1)?.report ?? checkHistory(history, new Map());
    return { cycles, final, ok: cycles.every((c) => c.report.ok) };
  } finally {
    await broker?.stop("SIGTERM", 10_000);
    await natsServer?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs `body` with a gRPC client and a NATS client of `broker`, closing both after. */
async function withClients<T>(broker: BrokerProcess, natsServer: NatsServerProcess | undefined, body: (client: ApiClient, nc: NatsConnection) => Promise<T>): Promise<T> {
  const client = createApiClient(broker.grpcAddress);
  const nc = await connect({ servers: natsServer?.url ?? broker.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100, timeout: 5000 });
  try {
    return await body(client, nc);
  } finally {
    client.close();
    await nc.close().catch(() => undefined);
  }
}

interface CycleShape {
  readonly prefix: string;
  readonly killAfterMs: number;
  readonly killAt: KillMoment;
  readonly paddingBytes: number;
}

/** Starts the publishers, SIGKILLs the broker after `killAfterMs` (and an ack), then stops the publishers. */
async function publishThenKill(broker: BrokerProcess, natsServer: NatsServerProcess | undefined, history: PublishHistory, shape: CycleShape): Promise<void> {
  await withClients(broker, natsServer, async (client, nc) => {
    await brokerNatsReady(client, nc);
    const { prefix, paddingBytes } = shape;
    const publishers = startMixedPublishers({ stream: STREAM, subject: SUBJECT, client, nc, history, prefix, paddingBytes });
    await new Promise((resolve) => setTimeout(resolve, shape.killAfterMs));
    // Bounded: publishers that get no acks at all must not stall the run.
    if (shape.killAt === "afterAck") await Promise.race([history.nextAck(), new Promise((resolve) => setTimeout(resolve, 2000))]);
    await broker.kill();
    await publishers.stop();
  });
}

/**
 * Waits until the broker's NATS subscriptions are live: a PublishToSubject from its connection
 * reaches ours (its partition SUBs were sent before, on the same connection).
 */
async function brokerNatsReady(client: ApiClient, nc: NatsConnection): Promise<void> {
  const subject = createInbox();
  const sub = nc.subscribe(subject, { max: 1 });
  await nc.flush();
  await client.publishToSubject({ subject, value: new Uint8Array([1]), ackPolicy: "NONE" }, { timeoutMs: 5000 });
  if ((await collectNats(sub, 1, 5000)).length !== 1) throw new Error("the broker's NATS connection did not deliver within 5 s");
}

/** Reads every partition from the earliest offset to the latest and checks the whole history. */
async function readAndCheck(client: ApiClient, history: PublishHistory): Promise<CheckReport> {
  const reads = new Map<number, PartitionRead>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const r = await subscribeRead(client, { stream: STREAM, partition, startPosition: "EARLIEST", stopPosition: "STOP_LATEST", resume: true }, Infinity, 20_000);
    // A STOP_LATEST read ends with "Stop offset reached" once it has delivered the latest record,
    // and is refused up front with "Stream is empty" when the partition holds nothing.
    const failed = r.error !== undefined && !/Stop offset reached|Stream is empty/.test(r.error.details ?? r.error.message);
    reads.set(partition, failed
      ? { error: `${r.error?.code ?? "?"} ${r.error?.details ?? r.error?.message}` }
      : { records: r.messages.map((m) => ({ offset: Number(m.offset), value: m.value })) });
  }
  return checkHistory(history, reads);
}

/** Cuts the last quarter of each partition's newest .log segment (the planted loss). */
function truncateSegmentTails(dataDir: string): void {
  const streamDir = join(dataDir, "streams", STREAM);
  for (const partition of readdirSync(streamDir)) {
    const dir = join(streamDir, partition);
    if (!statSync(dir).isDirectory()) continue;
    const logs = readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
    const newest = logs.at(-1);
    if (newest === undefined) continue;
    const path = join(dir, newest);
    truncateSync(path, Math.floor((statSync(path).size * 3) / 4));
  }
}
