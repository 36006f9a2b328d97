// The run itself: which rows, in which order, on which servers. nats-server (JetStream) stays up
// for the whole run; each broker configuration of ours gets its own process and data directory.
// Rows of one workload run back to back (JetStream first, then ours) so they see the same machine,
// and the ratio rows run in rounds (bench.ts), so a ratio is the mean of back-to-back pairs.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsServerProcess } from "../jepsen-like/nats-server-process.js";
import type { BenchOptions } from "./bench-options.js";
import type { ClientJob, ClientResult } from "./bench-types.js";
import { cpuMeter, stealMeter } from "./proc-cpu.js";
import { summarizeProfile, type ProfileSummary } from "./profile-summary.js";
import type { Row } from "./report.js";
import { runClient } from "./run-client.js";
import { BrokerUnderTest, createJetStream, createOursStream, dataDirOf, deleteJetStream, deleteOursStream } from "./servers.js";

/** Fsync wording of each row, so nobody compares unlike durability without seeing it. */
export const FSYNC = {
  jetstream: "none per message (JetStream 2.9: page cache, fsync every 60 s)",
  never: "never (page cache, like JetStream 2.9)",
  always: "always (fsync before ack, group commit)",
} as const;

type RowSpec = Omit<Row, "result" | "serverCpuSeconds" | "profiled" | "round">;

/** A row that could not be measured. */
export interface RowFailure {
  readonly id: string;
  readonly error: string;
}

/** Runs the rows of one benchmark run and collects them. */
export class BenchRun {
  readonly rows: Row[] = [];
  readonly failures: RowFailure[] = [];
  profile: ProfileSummary | undefined;
  /** The round the next rows belong to (set by the orchestrator; 1-based). */
  round = 1;
  readonly root = mkdtempSync(join(tmpdir(), "liftbridge-bench-"));
  constructor(readonly opts: BenchOptions, readonly nats: NatsServerProcess, private readonly log: (line: string) => void) {
    this.profileDir = opts.profile === undefined ? undefined : (opts.profileDir ?? mkdtempSync(join(tmpdir(), `liftbridge-bench-profile-${opts.profile}-`)));
  }

  private boundMs(seconds: number): number {
    return (seconds + 90) * 1000;
  }

  /** Runs one client job, metering the given server processes; a failure is recorded, not thrown. */
  async measure(spec: RowSpec, job: ClientJob, pids: Record<string, number>, profiled = false): Promise<ClientResult | undefined> {
    this.log(`  round ${this.round}, ${spec.id}: ${spec.system}, ${spec.path}, fsync ${spec.fsync.split(" ")[0]} ...`);
    const meter = cpuMeter(pids);
    const steal = stealMeter();
    const seconds = job.kind === "nats-sync" ? job.maxSeconds + job.warmupSeconds : job.maxSeconds;
    try {
      const result = await runClient(job, this.boundMs(seconds));
      const hostStealPercent = steal();
      this.rows.push({ ...spec, round: this.round, result, serverCpuSeconds: meter(), profiled, ...(hostStealPercent === undefined ? {} : { hostStealPercent }) });
      const l = result.latencyUs;
      this.log(`    ${Math.round(result.msgsPerSec).toLocaleString("en-US")} msgs/s over ${result.messages.toLocaleString("en-US")} msgs` +
        (l === undefined ? "" : `, p50 ${l.p50.toFixed(0)} µs, p99 ${l.p99.toFixed(0)} µs, p99.9 ${l.p999.toFixed(0)} µs`));
      return result;
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.failures.push({ id: spec.id, error });
      this.log(`    FAILED: ${error}`);
      return undefined;
    }
  }

  private publishJob(kind: "nats-async" | "nats-sync", system: "ours" | "jetstream", natsUrl: string, subject: string): ClientJob {
    const o = this.opts;
    return kind === "nats-async"
      ? { kind, system, natsUrl, subject, count: o.asyncMessages, window: o.window, valueBytes: o.valueBytes, maxSeconds: o.maxRunSeconds, warmupSeconds: 0 }
      : { kind, system, natsUrl, subject, count: Number.MAX_SAFE_INTEGER, window: 1, valueBytes: o.valueBytes, maxSeconds: o.syncSeconds, warmupSeconds: o.syncWarmupSeconds };
  }

  /** Where --profile writes (a directory next to the run's temp root unless --profile-dir says). */
  readonly profileDir: string | undefined;

  /** Starts a broker of ours for a phase (with the profiler hook armed when this run profiles). */
  async broker(label: string, syncPolicy: "never" | "always", external: boolean): Promise<BrokerUnderTest> {
    const b = new BrokerUnderTest({ label, syncPolicy, natsUrl: external ? this.nats.url : undefined, dataDir: dataDirOf(this.root, label) });
    await b.start(this.profileDir);
    this.log(`broker ${label}: pid ${b.running.pid}, gRPC ${b.running.grpcAddress}, NATS ${b.running.natsUrl}, streams.sync.policy ${syncPolicy}`);
    return b;
  }

  /** Runs `body` with the broker's CPU profiler on when `id` is the row to profile (its first round only). */
  private async profiled<T>(broker: BrokerUnderTest, id: string, body: (profiled: boolean) => Promise<T>): Promise<T> {
    if (this.opts.profile !== id || this.profileDir === undefined || this.profile !== undefined) return body(false);
    await broker.startProfiler();
    let file: string | undefined;
    try {
      return await body(true);
    } finally {
      file = await broker.stopProfiler(this.profileDir);
      if (file === undefined) this.log(`  no .cpuprofile was written in ${this.profileDir}`);
      else this.profile = summarizeProfile(file, process.cwd());
    }
  }

  /** Workload 1 on a broker of ours through enveloped NATS publishes (fresh stream); returns it for reading. */
  async oursAsync(broker: BrokerUnderTest, id: string, fsync: string, stream: string): Promise<ClientResult | undefined> {
    return this.profiled(broker, id, async (profiled) => {
      const p = broker.running;
      const subject = `bench.ours.${stream}`;
      await createOursStream(p.grpcAddress, stream, subject);
      const nats = broker.setup.natsUrl === undefined ? "embedded" : "nats-server";
      const pids: Record<string, number> = nats === "embedded" ? { broker: p.pid } : { broker: p.pid, "nats-server": this.nats.pid };
      return this.measure({ id, workload: "async", system: "ours", path: `NATS publish, ${this.opts.window} in flight, 1 ack inbox`, nats, fsync },
        this.publishJob("nats-async", "ours", p.natsUrl, subject), pids, profiled);
    });
  }

  /** Workload 2 on a broker of ours (fresh stream). */
  async oursSync(broker: BrokerUnderTest, id: string, fsync: string, stream: string): Promise<void> {
    await this.profiled(broker, id, async (profiled) => {
      const p = broker.running;
      const subject = `bench.ours.${stream}`;
      await createOursStream(p.grpcAddress, stream, subject);
      const nats = broker.setup.natsUrl === undefined ? "embedded" : "nats-server";
      const pids: Record<string, number> = nats === "embedded" ? { broker: p.pid } : { broker: p.pid, "nats-server": this.nats.pid };
      await this.measure({ id, workload: "sync", system: "ours", path: "NATS publish, 1 in flight", nats, fsync },
        this.publishJob("nats-sync", "ours", p.natsUrl, subject), pids, profiled);
      await deleteOursStream(p.grpcAddress, stream).catch(() => undefined);
    });
  }

  /** Workload 1 on JetStream (fresh stream, kept for the read). */
  async jetStreamAsync(stream: string): Promise<ClientResult | undefined> {
    const subject = await createJetStream(this.nats.url, stream);
    return this.measure({ id: "js-async", workload: "async", system: "jetstream", path: `NATS publish, ${this.opts.window} in flight, 1 reply inbox`, nats: "nats-server", fsync: FSYNC.jetstream },
      this.publishJob("nats-async", "jetstream", this.nats.url, subject), { "nats-server": this.nats.pid });
  }

  /** Workload 2 on JetStream (fresh stream). */
  async jetStreamSync(stream: string): Promise<void> {
    const subject = await createJetStream(this.nats.url, stream);
    await this.measure({ id: "js-sync", workload: "sync", system: "jetstream", path: "NATS publish, 1 in flight", nats: "nats-server", fsync: FSYNC.jetstream },
      this.publishJob("nats-sync", "jetstream", this.nats.url, subject), { "nats-server": this.nats.pid });
    await deleteJetStream(this.nats.url, stream);
  }

  /** Workload 3 on JetStream: the ordered consumer over what js-async stored. */
  async jetStreamRead(stream: string, stored: number): Promise<void> {
    await this.measure({ id: "js-read", workload: "read", system: "jetstream", path: "ordered consumer, 1,000 per pull", nats: "nats-server", fsync: FSYNC.jetstream },
      { kind: "js-read", address: this.nats.url, stream, expected: stored, maxSeconds: this.opts.maxRunSeconds }, { "nats-server": this.nats.pid });
  }

  /** Workload 3 on ours: gRPC Subscribe EARLIEST..STOP_LATEST over what the async row stored. */
  async oursRead(broker: BrokerUnderTest, stream: string, stored: number): Promise<void> {
    await this.profiled(broker, "read", async (profiled) => {
      const p = broker.running;
      await this.measure({ id: "read", workload: "read", system: "ours", path: "gRPC Subscribe EARLIEST..STOP_LATEST", nats: "nats-server", fsync: FSYNC.never },
        { kind: "grpc-read", address: p.grpcAddress, stream, expected: stored, maxSeconds: this.opts.maxRunSeconds }, { broker: p.pid }, profiled);
    });
  }

  /** Workload 3 on ours with the node:http2 client (no grpc-js), over what the async row stored. */
  async oursReadHttp2(broker: BrokerUnderTest, stream: string, stored: number): Promise<void> {
    await this.profiled(broker, "read-http2", async (profiled) => {
      const p = broker.running;
      await this.measure({ id: "read-http2", workload: "read", system: "ours", path: "Subscribe over node:http2 (no grpc-js) EARLIEST..STOP_LATEST", nats: "nats-server", fsync: FSYNC.never },
        { kind: "http2-read", address: p.grpcAddress, stream, expected: stored, maxSeconds: this.opts.maxRunSeconds }, { broker: p.pid }, profiled);
    });
  }

  /** Workload 1 on ours through gRPC PublishAsync (fresh stream). */
  async oursGrpcAsync(broker: BrokerUnderTest, stream: string): Promise<void> {
    await this.profiled(broker, "async-grpc", async (profiled) => {
      const p = broker.running;
      await createOursStream(p.grpcAddress, stream, `bench.ours.${stream}`);
      const o = this.opts;
      await this.measure({ id: "async-grpc", workload: "async", system: "ours", path: `gRPC PublishAsync, ${o.window} in flight`, nats: "nats-server", fsync: FSYNC.never },
        { kind: "grpc-async", grpcAddress: p.grpcAddress, stream, count: o.asyncMessages, window: o.window, valueBytes: o.valueBytes, maxSeconds: o.extraRunSeconds },
        { broker: p.pid, "nats-server": this.nats.pid }, profiled);
      await deleteOursStream(p.grpcAddress, stream).catch(() => undefined);
    });
  }
}
