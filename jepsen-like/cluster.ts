// A cluster of real processes on loopback: one nats-server and N brokers, the first started with
// --raft-bootstrap-seed and the others joining it with no bootstrap flag (Liftbridge's quick start),
// each with its own data directory. Used by `npm run cluster`, the cluster integration test and
// the benchmark; brokers can be killed, restarted on their data directory, and added.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBrokerProcess, type BrokerProcess } from "./broker-process.js";
import { startNatsServer, type NatsServerProcess } from "./nats-server-process.js";

/** Options for startCluster. */
export interface ClusterOptions {
  readonly brokers: number;
  /** Where the data directories (and log files) go; default a temp directory, removed by stop(). */
  readonly dir?: string;
  /** gRPC port of broker 0 (the others follow); 0 = ephemeral ports. */
  readonly basePort?: number;
  /** Broker i's server id (default `broker-<i>`). */
  readonly serverId?: (index: number) => string;
  /** Each broker's output goes to <dir>/broker-<i>.log instead of memory (long-running clusters). */
  readonly logToFiles?: boolean;
  /** Processes in their own process groups (a terminal's Ctrl-C reaches only the caller, which stops them in order). */
  readonly detached?: boolean;
  /** Bootstrap all brokers together with --raft-bootstrap-peers (their ids) instead of a seed and joiners. */
  readonly peers?: boolean;
  /** Extra flags for every broker. */
  readonly extraArgs?: readonly string[];
  readonly env?: Record<string, string>;
}

/** A running cluster; brokers[i] is undefined while broker i is stopped. */
export interface Cluster {
  readonly nats: NatsServerProcess;
  readonly dir: string;
  readonly brokers: (BrokerProcess | undefined)[];
  /** Broker i's server id. */
  serverId(index: number): string;
  /** Starts broker i on its data directory: a new index (one past the last) is a new broker joining; default bootstrap "join". */
  start(index: number, bootstrap?: "seed" | "join", extraArgs?: readonly string[]): Promise<BrokerProcess>;
  /** SIGKILLs broker i. */
  kill(index: number): Promise<void>;
  /** Stops every broker (SIGTERM, by pid), then the nats-server; removes a temp dir it made. */
  stop(): Promise<void>;
}

/** Starts nats-server, the seed broker, then the others joining it (in parallel). */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "liftbridge-cluster-"));
  mkdirSync(dir, { recursive: true });
  const nats = await startNatsServer({ detached: options.detached === true });
  const brokers: (BrokerProcess | undefined)[] = [];
  const serverId = options.serverId ?? ((i: number): string => `broker-${i}`);
  const start = async (index: number, bootstrap: "seed" | "join" = "join", extraArgs: readonly string[] = []): Promise<BrokerProcess> => {
    const port = options.basePort === undefined || options.basePort === 0 ? 0 : options.basePort + index;
    const broker = await startBrokerProcess({
      dataDir: join(dir, `broker-${index}`), natsUrl: nats.url, bootstrap,
      extraArgs: ["--server-id", serverId(index), "--port", String(port), ...(options.extraArgs ?? []), ...extraArgs],
      detached: options.detached === true,
      ...(options.logToFiles === true ? { logFile: join(dir, `broker-${index}.log`) } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
    });
    brokers[index] = broker;
    return broker;
  };
  const cluster: Cluster = {
    nats, dir, brokers, serverId, start,
    kill: async (index) => {
      await brokers[index]?.kill();
      brokers[index] = undefined;
    },
    stop: async () => {
      await Promise.all(brokers.filter((b) => b !== undefined).map((b) => b.stop("SIGTERM", 10_000)));
      brokers.fill(undefined);
      await nats.stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    if (options.peers === true) {
      const ids = Array.from({ length: options.brokers }, (_, i) => serverId(i)).join(",");
      await Promise.all(Array.from({ length: options.brokers }, (_, i) => start(i, "join", ["--raft-bootstrap-peers", ids])));
      return cluster;
    }
    await start(0, "seed");
    await Promise.all(Array.from({ length: options.brokers - 1 }, (_, i) => start(i + 1, "join")));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/** The term in which a broker's output last says it became the controller, or -1 (it is not, or no longer, the controller). */
export function controllerTerm(output: string): number {
  let term = -1;
  for (const line of output.split("\n")) {
    if (line.includes("became the metadata leader")) term = (JSON.parse(line) as { term?: number }).term ?? 0;
    else if (line.includes("no longer the metadata leader")) term = -1;
  }
  return term;
}

/** The index of the running broker whose log says it is the controller in the highest term, or undefined. */
export function findController(cluster: Cluster): number | undefined {
  let best: { index: number; term: number } | undefined;
  cluster.brokers.forEach((b, index) => {
    const term = b === undefined ? -1 : controllerTerm(b.output());
    if (term >= 0 && (best === undefined || term > best.term)) best = { index, term };
  });
  return best?.index;
}
