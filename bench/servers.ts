// The servers under test and their streams. nats-server runs once with JetStream; brokers of ours
// run one per configuration (sync policy, NATS source) on their own data directory; one of them
// can carry a CPU profiler switched on for exactly one workload.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { connect, RetentionPolicy, StorageType, DiscardPolicy } from "nats";
import { startBrokerProcess, type BrokerProcess } from "../jepsen-like/broker-process.js";
import { createApiClient } from "../jepsen-like/grpc-test-client.js";
import { PROFILE_DIR_ENV } from "./bench-types.js";
import { profilesIn } from "./profile-summary.js";

/** How a broker of ours is configured for a phase. */
export interface BrokerSetup {
  readonly label: string;
  readonly syncPolicy: "never" | "always";
  /** External nats-server URL; undefined = the embedded NATS server. */
  readonly natsUrl: string | undefined;
  readonly dataDir: string;
}

const HOOK_PATH = join(dirname(fileURLToPath(import.meta.url)), "cpu-profile-hook.js");
/** Lets the profiler start before the workload does. */
const PROFILER_SETTLE_MS = 200;
/** How long writing a profile may take. */
const PROFILE_WRITE_BOUND_MS = 60_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Processes started by this run, stopped on exit, error or SIGINT. */
export const liveBrokers = new Set<BrokerProcess>();

/** A broker of ours on its own data directory, optionally with a CPU profiler it starts and stops on signal. */
export class BrokerUnderTest {
  private process: BrokerProcess | undefined;
  constructor(readonly setup: BrokerSetup) {}

  /** The running process (asserts it runs). */
  get running(): BrokerProcess {
    if (this.process === undefined) throw new Error(`broker ${this.setup.label} is not running`);
    return this.process;
  }

  /** Starts it; with `profileDir`, with the SIGUSR2-driven CPU profiler hook preloaded. */
  async start(profileDir?: string): Promise<void> {
    mkdirSync(this.setup.dataDir, { recursive: true });
    const env: Record<string, string> = {};
    if (profileDir !== undefined) {
      mkdirSync(profileDir, { recursive: true });
      env["NODE_OPTIONS"] = `--import=${pathToFileURL(HOOK_PATH).href}`;
      env[PROFILE_DIR_ENV] = profileDir;
    }
    this.process = await startBrokerProcess({
      dataDir: this.setup.dataDir, keepData: true, env, startTimeoutMs: 30_000,
      // Brokers of one run may share a nats-server at the same time: own namespaces keep them apart.
      configYaml: `streams.sync.policy: ${this.setup.syncPolicy}\nclustering.namespace: bench-${this.setup.label}\n`,
      ...(this.setup.natsUrl !== undefined ? { natsUrl: this.setup.natsUrl } : {}),
    });
    liveBrokers.add(this.process);
  }

  /** Graceful stop (SIGTERM). */
  async stop(): Promise<void> {
    const p = this.process;
    if (p === undefined) return;
    this.process = undefined;
    await p.stop("SIGTERM", 30_000);
    liveBrokers.delete(p);
  }

  /** Starts the CPU profiler in the broker (it must have been started with a profile directory). */
  async startProfiler(): Promise<void> {
    process.kill(this.running.pid, "SIGUSR2");
    await sleep(PROFILER_SETTLE_MS);
  }

  /** Stops the profiler; resolves with the .cpuprofile it wrote in `profileDir`, or undefined after a bound. */
  async stopProfiler(profileDir: string): Promise<string | undefined> {
    const before = new Set(profilesIn(profileDir));
    process.kill(this.running.pid, "SIGUSR2");
    for (let waitedMs = 0; waitedMs < PROFILE_WRITE_BOUND_MS; waitedMs += 100) {
      const file = profilesIn(profileDir).find((f) => !before.has(f));
      if (file !== undefined) return file;
      await sleep(100);
    }
    return undefined;
  }
}

/** Creates a stream of ours with one partition and one replica. */
export async function createOursStream(grpcAddress: string, name: string, subject: string): Promise<void> {
  const client = createApiClient(grpcAddress);
  try {
    await client.createStream({ name, subject, partitions: 1, replicationFactor: 1 }, { timeoutMs: 10_000 });
  } finally {
    client.close();
  }
}

/** Deletes a stream of ours (frees its disk between workloads). */
export async function deleteOursStream(grpcAddress: string, name: string): Promise<void> {
  const client = createApiClient(grpcAddress);
  try {
    await client.deleteStream(name, { timeoutMs: 30_000 });
  } finally {
    client.close();
  }
}

/** (Re)creates a JetStream stream as perf-baseline did: file storage, R1, limits, 8 GiB, `<name>.>`. */
export async function createJetStream(natsUrl: string, name: string): Promise<string> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(name).catch(() => false);
    await jsm.streams.add({
      name, subjects: [`${name}.>`], storage: StorageType.File, num_replicas: 1,
      retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, max_bytes: 8 * 2 ** 30,
    });
    return `${name}.x`;
  } finally {
    await nc.close();
  }
}

/** Deletes a JetStream stream. */
export async function deleteJetStream(natsUrl: string, name: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** A per-broker data directory under the run's root. */
export function dataDirOf(root: string, label: string): string {
  return join(root, label);
}
