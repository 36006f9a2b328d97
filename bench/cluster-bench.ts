// CreateStream latency on a 3-broker cluster (issue 12; no target yet): through the controller
// (it proposes to the metadata Raft itself) and through another broker (which forwards the op to
// the controller over NATS and answers once it has applied the committed entry).
import { findController, startCluster } from "../jepsen-like/cluster.js";
import { createApiClient, type ApiClient } from "../jepsen-like/grpc-test-client.js";

/** Latency of one way in, in milliseconds. */
export interface CreateStreamLatency {
  readonly via: "controller" | "follower";
  readonly creates: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The section of the report. */
export interface ClusterCreateStreamResult {
  readonly brokers: number;
  readonly syncPolicy: "always";
  readonly latency: readonly CreateStreamLatency[];
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

const round2 = (ms: number): number => Math.round(ms * 100) / 100;

async function createUntilServed(client: ApiClient, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.createStream({ name, subject: `bench.${name}` }, { timeoutMs: 5000 });
      return;
    } catch (e) {
      if ((e as { code?: number }).code === 6) return; // ALREADY_EXISTS: an earlier try that timed out took effect
      if (attempt >= 100) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function measure(client: ApiClient, via: CreateStreamLatency["via"], creates: number): Promise<CreateStreamLatency> {
  const samples: number[] = [];
  for (let i = 0; i < creates; i++) {
    const name = `lat-${via}-${i}`;
    const start = performance.now();
    await client.createStream({ name, subject: `bench.${name}` }, { timeoutMs: 10_000 });
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { via, creates, p50Ms: round2(percentile(samples, 50)), p99Ms: round2(percentile(samples, 99)), maxMs: round2(samples[samples.length - 1] ?? 0) };
}

/** Starts a 3-broker cluster (its own nats-server), measures `creates` sequential CreateStreams each way, stops it. */
export async function benchClusterCreateStream(creates: number, log: (line: string) => void): Promise<ClusterCreateStreamResult> {
  const cluster = await startCluster({ brokers: 3 });
  const clients: ApiClient[] = [];
  try {
    for (let i = 0; i < 3; i++) clients.push(createApiClient(cluster.brokers[i]!.grpcAddress));
    // Warm-up: every broker has joined and serves CreateStream before anything is timed.
    for (let i = 0; i < 3; i++) await createUntilServed(clients[i]!, `warm-up-${i}`);
    const controller = findController(cluster);
    if (controller === undefined) throw new Error("no broker logged that it became the controller");
    const follower = (controller + 1) % 3;
    log(`cluster: controller ${cluster.serverId(controller)}, follower ${cluster.serverId(follower)}; ${creates} CreateStreams each way`);
    const latency = [await measure(clients[controller]!, "controller", creates), await measure(clients[follower]!, "follower", creates)];
    return { brokers: 3, syncPolicy: "always", latency };
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
  }
}

/** The section as text for the report on stderr. */
export function clusterCreateStreamTable(r: ClusterCreateStreamResult): string {
  const lines = [`CreateStream latency on a ${r.brokers}-broker cluster (streams.sync.policy ${r.syncPolicy}; no target yet)`, "| via | creates | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|"];
  for (const l of r.latency) lines.push(`| ${l.via} | ${l.creates} | ${l.p50Ms} | ${l.p99Ms} | ${l.maxMs} |`);
  return lines.join("\n");
}
