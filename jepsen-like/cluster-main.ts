#!/usr/bin/env node
// `npm run cluster -- --brokers 3 [--dir DIR] [--port 9292]`: one nats-server and N brokers on
// loopback (the first a bootstrap seed, the others joining it), each with its own data directory
// and log file under DIR; prints where each listens; Ctrl-C (or SIGTERM) stops them all.
import { parseArgs } from "node:util";
import { startCluster, type Cluster } from "./cluster.js";

const USAGE = "usage: npm run cluster -- [--brokers N (3)] [--dir DIR (a temp dir, removed at exit)] [--port FIRST_GRPC_PORT (9292; 0 = ephemeral)]";

function options(): { brokers: number; dir?: string; port: number } {
  const { values } = parseArgs({
    options: { brokers: { type: "string", default: "3" }, dir: { type: "string" }, port: { type: "string", default: "9292" }, help: { type: "boolean" } },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const brokers = Number(values.brokers);
  const port = Number(values.port);
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 32 || !Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  return { brokers, port, ...(values.dir !== undefined ? { dir: values.dir } : {}) };
}

async function main(): Promise<void> {
  const o = options();
  const cluster: Cluster = await startCluster({ brokers: o.brokers, basePort: o.port, logToFiles: true, detached: true, ...(o.dir !== undefined ? { dir: o.dir } : {}) });
  process.stdout.write(`nats-server  ${cluster.nats.url}  (pid ${cluster.nats.pid})\n`);
  cluster.brokers.forEach((b, i) => {
    if (b === undefined) return;
    const role = i === 0 ? "bootstrap seed" : "joining";
    process.stdout.write(`${cluster.serverId(i)}  grpc ${b.grpcAddress}  (pid ${b.pid}, ${role}, data ${b.dataDir}, log ${cluster.dir}/broker-${i}.log)\n`);
  });
  process.stdout.write("Ctrl-C stops them all.\n");
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("stopping...\n");
    cluster.stop().then(() => process.exit(0), (e: unknown) => {
      process.stderr.write(`cluster: ${String(e)}\n`);
      process.exit(1);
    });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`cluster: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
