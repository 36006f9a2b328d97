// Helpers for the corruption matrix (test/integration/log-damage.test.ts): a real broker on a data
// directory the test owns, streams published through gRPC with their acked offsets recorded, the
// partition files as parsed records, and a reader that walks over damaged offsets.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startBrokerProcess, type BrokerProcess } from "./broker-process.js";
import { createApiClient, type ApiClient } from "./grpc-test-client.js";
import { subscribeRead } from "./integration-fixture.js";

/** A broker process with its gRPC client, on a data directory that outlives it. */
export interface DamageBroker {
  readonly broker: BrokerProcess;
  readonly client: ApiClient;
}

/** Starts the broker on `dataDir` with small segments (many per stream) and sync policy always. */
export async function startDamageBroker(dataDir: string, env: Record<string, string> = {}): Promise<DamageBroker> {
  const broker = await startBrokerProcess({ dataDir, configYaml: "streams.segment.max.bytes: 2048\nstreams.sync.policy: always\n", env });
  return { broker, client: createApiClient(broker.grpcAddress) };
}

/** Stops the broker: SIGTERM (clean stop) or SIGKILL (no clean-shutdown marker, nothing flushed). */
export async function stopDamageBroker(b: DamageBroker, how: "clean" | "kill"): Promise<void> {
  b.client.close();
  if (how === "kill") await b.broker.kill();
  else await b.broker.stop("SIGTERM", 10_000);
}

/** The directory of partition 0 of `stream`. */
export function partitionDir(dataDir: string, stream: string): string {
  return join(dataDir, "streams", stream, "0");
}

/** One record of a segment file as laid out on disk. */
export interface RecordSpan {
  readonly offset: number;
  readonly position: number;
  readonly bytes: number;
}

/** One segment: its files and its records. */
export interface SegmentFile {
  readonly base: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly records: RecordSpan[];
}

/** The segments of a partition directory, oldest first, with their records (following the size fields). */
export function segmentsOf(dir: string): SegmentFile[] {
  const out: SegmentFile[] = [];
  for (const name of readdirSync(dir).filter((n) => /^[0-9]{20}\.log$/.test(n)).sort()) {
    const stem = name.slice(0, 20);
    const bytes = readFileSync(join(dir, name));
    const records: RecordSpan[] = [];
    for (let p = 0; p + 28 <= bytes.length; ) {
      const length = 28 + bytes.readUInt32BE(p + 24);
      if (p + length > bytes.length) break;
      records.push({ offset: Number(bytes.readBigUInt64BE(p)), position: p, bytes: length });
      p += length;
    }
    out.push({ base: Number(stem), logPath: join(dir, name), indexPath: join(dir, `${stem}.index`), records });
  }
  return out;
}

/** Size of every .log file in `dir` by name. */
export function logSizes(dir: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".log"))) sizes.set(name, statSync(join(dir, name)).size);
  return sizes;
}

/** Publishes `n` messages with ack policy LEADER (acked = fsynced under sync policy always); offset -> value. */
export async function publishAcked(client: ApiClient, stream: string, n: number, tag: string): Promise<Map<number, string>> {
  const acked = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const value = `${tag}-${i}-${"v".repeat(40 + (i % 23))}`;
    const r = await client.publish({ stream, value: Buffer.from(value), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
    if (r.ack === null || r.ack === undefined) throw new Error(`no ack for ${stream} message ${i}`);
    acked.set(Number(r.ack.offset), value);
  }
  return acked;
}

/** The partition's newest offset and high watermark as FetchPartitionMetadata reports them. */
export async function partitionOffsets(client: ApiClient, stream: string): Promise<{ newest: number; hw: number }> {
  const r = await client.fetchPartitionMetadata(stream, 0, { timeoutMs: 5000 });
  const m = r["metadata"] as { newestOffset: string; highWatermark: string };
  return { newest: Number(m.newestOffset), hw: Number(m.highWatermark) };
}

/** What reading a whole partition gave: records by offset, and offsets answered with a corrupt-record error. */
export interface ReadBack {
  readonly served: Map<number, string>;
  readonly unreadable: number[];
}

/**
 * Subscribes from offset 0 to the newest offset; where the broker ends the call with a corrupt
 * record error, notes that offset and subscribes again from the next one.
 */
export async function readBack(client: ApiClient, stream: string): Promise<ReadBack> {
  const { newest } = await partitionOffsets(client, stream);
  const served = new Map<number, string>();
  const unreadable: number[] = [];
  let start = 0;
  for (let calls = 0; start <= newest; calls++) {
    if (calls > 2000) throw new Error(`${stream}: too many corrupt offsets`);
    const r = await subscribeRead(client, { stream, partition: 0, startPosition: "OFFSET", startOffset: String(start), stopPosition: "STOP_LATEST" }, Infinity, 10_000);
    for (const m of r.messages) {
      if (served.has(Number(m.offset))) throw new Error(`${stream}: offset ${m.offset} served twice`);
      served.set(Number(m.offset), m.value.toString());
    }
    const last = r.messages.length > 0 ? Number(r.messages[r.messages.length - 1]!.offset) : start - 1;
    if (r.error === undefined || /stop offset reached/i.test(r.error.details ?? "")) {
      if (last >= newest || r.messages.length === 0) break;
      start = last + 1;
      continue;
    }
    if (!/corrupt/i.test(r.error.details ?? "")) throw new Error(`${stream}: subscribe from ${start} failed: ${r.error.message}`);
    unreadable.push(last + 1);
    start = last + 2;
  }
  return { served, unreadable };
}

/** Waits until the partition's recovery point checkpoint reaches `offset` (it is written with the HW checkpoint). */
export async function waitForRecoveryPoint(dir: string, offset: number, timeoutMs: number): Promise<void> {
  const path = join(dir, "recovery-point-offset-checkpoint");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path) && Number(readFileSync(path, "utf8").trim()) >= offset) return;
    if (Date.now() > deadline) throw new Error(`${dir}: recovery point did not reach ${offset} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
