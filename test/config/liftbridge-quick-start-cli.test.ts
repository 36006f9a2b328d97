// The real CLI (dist/src/io/main.js as a process) takes Liftbridge's quick-start flags and early
// Liftbridge's config file: `--raft-bootstrap-seed` on a lone broker starts it (a cluster of one),
// `--nats-server` (early spelling) connects where it says, an early NATS-format liftbridge.conf
// sets the server id and stream defaults, and `--raft-bootstrap-seed` with `--raft-bootstrap-peers`
// is refused before anything starts (the cluster quick start is test/integration/cluster.test.ts).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brokerMainPath, startBrokerProcess } from "../../jepsen-like/broker-process.js";
import { createApiClient } from "../../jepsen-like/grpc-test-client.js";
import { natsServerPath, startNatsServer, type NatsServerProcess } from "../../jepsen-like/nats-server-process.js";

const T = { timeout: 30_000 };

/** Runs the CLI to completion (it must exit by itself: start-up refusals happen before any I/O). */
function runCli(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [brokerMainPath(), ...args], { encoding: "utf8", timeout: 15_000, env: { ...process.env, LIFTBRIDGE_HOST: "127.0.0.1" } });
  return { status: r.status, stderr: r.stderr };
}

test("--raft-bootstrap-seed with --raft-bootstrap-peers refuses to start, naming both keys", T, () => {
  const { status, stderr } = runCli(["--server-id", "a", "--raft-bootstrap-seed", "--raft-bootstrap-peers", "a,b,c", "--nats-server", "nats://127.0.0.1:1"]);
  assert.equal(status, 2, stderr);
  assert.match(stderr, /^liftbridge: "clustering\.raft\.bootstrap\.seed" and "clustering\.raft\.bootstrap\.peers" cannot both be set/);
});

test("a bad early config file stops the CLI with file:line and the early key", T, () => {
  const dir = mkdtempSync(join(tmpdir(), "lb-early-conf-"));
  try {
    const conf = join(dir, "liftbridge.conf");
    writeFileSync(conf, "# early Liftbridge\nlog {\n  segment.max.bytes: 1000000\n  retention.max.age: \"1 day\"\n}\n");
    const { status, stderr } = runCli(["--config", conf]);
    assert.equal(status, 2, stderr);
    assert.match(stderr, new RegExp(`from config file ${conf.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4 \\(as "log\\.retention\\.max\\.age"\\): invalid duration`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("Liftbridge's quick start on one broker", { skip: natsServerPath() === undefined ? "nats-server is not installed" : false }, () => {
  let nats: NatsServerProcess;
  let dir: string;
  before(async () => {
    nats = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), "lb-quick-start-"));
  }, T);
  after(async () => {
    await nats?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, T);

  test("--raft-bootstrap-seed --nats-server URL --config liftbridge.conf (early format) starts and serves", T, async () => {
    const conf = join(dir, "liftbridge.conf");
    writeFileSync(conf, "clustering {\n  server.id: early-1\n  raft.logging: true\n}\nlog { segment.max.bytes: 2048 }\n");
    // A NATS URL that leads nowhere on the harness's --nats-servers: only --nats-server's (given later) can work.
    const broker = await startBrokerProcess({
      dataDir: join(dir, "data"), natsUrl: "nats://127.0.0.1:1",
      extraArgs: ["--raft-bootstrap-seed", "--nats-server", nats.url, "--config", conf],
    });
    const client = createApiClient(broker.grpcAddress);
    try {
      const meta = await client.fetchMetadata({}, { timeoutMs: 5000 });
      assert.deepEqual((meta["brokers"] as { id: string }[]).map((b) => b.id), ["early-1"], "the server id from the early file");
      await client.createStream({ name: "qs", subject: "qs" }, { timeoutMs: 5000 });
      const r = await client.publish({ stream: "qs", value: Buffer.from("hello"), ackPolicy: "ALL" }, { timeoutMs: 5000 });
      assert.equal(r.ack?.offset, "0");
    } finally {
      client.close();
      assert.equal(await broker.stop(), 0, broker.output());
    }
  });
});
