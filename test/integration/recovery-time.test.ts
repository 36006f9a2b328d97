// Restart time after SIGKILL does not grow with the log: a partition of LBTS_RECOVERY_BIG_BYTES
// (default 200 MiB; `npm run test:recovery-time` uses 1 GiB) against one of 10 MiB. The data is
// written straight into the partition directory with the product's CommitLog on NodeDisk (as a
// publisher under sync policy never would leave it, no clean-shutdown marker), the broker
// recovers it once, takes some publishes, is killed with SIGKILL, and is timed from spawn until
// FetchMetadata answers and until a Subscribe from EARLIEST returns the first message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startBrokerProcess, type BrokerProcess } from "../../jepsen-like/broker-process.js";
import { createApiClient } from "../../jepsen-like/grpc-test-client.js";
import { subscribeRead } from "../../jepsen-like/integration-fixture.js";
import { applyDiskOp, type DiskOp } from "../../src/core/disk.js";
import { CommitLog } from "../../src/core/log/commit-log.js";
import { DEFAULT_LOG_CONFIG } from "../../src/core/log/log-config.js";
import type { Epoch, TimeMs, TimestampNs } from "../../src/core/types.js";
import { bestCrc32c } from "../../src/io/native-crc32c.js";
import { NodeDisk } from "../../src/io/node-disk.js";

const MiB = 1024 * 1024;
const BIG_BYTES = Number(process.env["LBTS_RECOVERY_BIG_BYTES"] ?? 200 * MiB);
const SMALL_BYTES = 10 * MiB;
/** Also time the old recovery (planted bug truncateBeforeRecoveryPoint: every segment scanned), for the record. */
const TIME_OLD = process.env["LBTS_RECOVERY_TIME_OLD"] === "1";
const STREAM = "rt";

/** Writes `bytes` of 1 KB records into the (existing, empty) partition with CommitLog, without closing it. */
function writeRecords(dataDir: string, bytes: number): number {
  const disk = new NodeDisk(dataDir);
  const apply = (ops: readonly DiskOp[]): void => ops.forEach((op) => applyDiskOp(disk, op));
  const config = { ...DEFAULT_LOG_CONFIG, syncPolicy: "never" as const, crc32c: bestCrc32c().crc32c };
  const opened = CommitLog.open(disk, `streams/${STREAM}/0`, config, 0 as TimeMs);
  apply(opened.ops);
  const log = opened.log;
  const value = new Uint8Array(1000).map((_, i) => 97 + (i % 26));
  const batch = Array.from({ length: 1000 }, () => ({ key: null, value, headers: [] }));
  const ts = (BigInt(Date.now()) * 1_000_000n) as TimestampNs;
  while (log.sizeBytes < bytes) {
    const r = log.appendAsLeader(batch, ts, 0 as Epoch, 0 as TimeMs);
    assert.ok(r.ok);
    apply(r.value.ops);
  }
  // No close(): the directory looks like one after a crash (the last segment unsynced, no marker).
  return log.logEndOffset;
}

/** Spawns the broker and returns the times (ms from spawn) until FetchMetadata answers and until the first message arrives. */
async function timedStart(dataDir: string, env: Record<string, string> = {}): Promise<{ broker: BrokerProcess; readyMs: number; firstMs: number }> {
  const t0 = performance.now();
  const broker = await startBrokerProcess({ dataDir, env, startTimeoutMs: 120_000 });
  const client = createApiClient(broker.grpcAddress);
  try {
    await client.fetchMetadata({}, { timeoutMs: 60_000 });
    const readyMs = performance.now() - t0;
    const first = await subscribeRead(client, { stream: STREAM, partition: 0, startPosition: "EARLIEST" }, 1, 60_000);
    const firstMs = performance.now() - t0;
    assert.equal(first.messages[0]?.offset, "0");
    assert.equal(first.messages[0]?.value.length, 1000);
    return { broker, readyMs, firstMs };
  } finally {
    client.close();
  }
}

/** Best of two restarts after SIGKILL of a broker holding `bytes` of partition data. */
async function restartTime(bytes: number): Promise<{ readyMs: number; firstMs: number; oldFirstMs?: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "lbts-recovery-time-"));
  try {
    const first = await startBrokerProcess({ dataDir });
    const client = createApiClient(first.grpcAddress);
    await client.createStream({ name: STREAM, subject: STREAM }, { timeoutMs: 5000 });
    client.close();
    await first.stop("SIGTERM");
    const written = writeRecords(dataDir, bytes);
    // The first start recovers the unsynced tail written above (not timed); then publishes, SIGKILL.
    let broker = (await timedStart(dataDir)).broker;
    const publisher = createApiClient(broker.grpcAddress);
    for (let i = 0; i < 50; i++) {
      const r = await publisher.publish({ stream: STREAM, value: Buffer.from(`p${i}`), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assert.equal(r.ack?.offset, String(written + i));
    }
    publisher.close();
    const samples: { readyMs: number; firstMs: number }[] = [];
    for (let i = 0; i < 2; i++) {
      await broker.kill();
      const timed = await timedStart(dataDir);
      samples.push(timed);
      broker = timed.broker;
    }
    let oldFirstMs: number | undefined;
    if (TIME_OLD) {
      await broker.kill();
      const old = await timedStart(dataDir, { LBTS_PLANTED_BUGS: "truncateBeforeRecoveryPoint" });
      oldFirstMs = old.firstMs;
      broker = old.broker;
    }
    await broker.kill();
    const best = (k: "readyMs" | "firstMs"): number => Math.min(...samples.map((s) => s[k]));
    return { readyMs: best("readyMs"), firstMs: best("firstMs"), ...(oldFirstMs !== undefined ? { oldFirstMs } : {}) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

test(`restart after SIGKILL: ${BIG_BYTES / MiB} MiB of partition data restarts about as fast as ${SMALL_BYTES / MiB} MiB`, { timeout: 600_000 }, async (t) => {
  const small = await restartTime(SMALL_BYTES);
  const big = await restartTime(BIG_BYTES);
  const line = (name: string, r: { readyMs: number; firstMs: number; oldFirstMs?: number }): string =>
    `${name}: FetchMetadata after ${r.readyMs.toFixed(0)} ms, first message after ${r.firstMs.toFixed(0)} ms` +
    (r.oldFirstMs !== undefined ? ` (old full-scan recovery: first message after ${r.oldFirstMs.toFixed(0)} ms)` : "");
  for (const s of [line(`${SMALL_BYTES / MiB} MiB`, small), line(`${BIG_BYTES / MiB} MiB`, big)]) {
    t.diagnostic(s);
    console.log(`recovery time: ${s}`);
  }
  assert.ok(big.firstMs <= 3 * small.firstMs + 1000, `${big.firstMs.toFixed(0)} ms > 3 x ${small.firstMs.toFixed(0)} ms + 1 s`);
  assert.ok(big.readyMs <= 3 * small.readyMs + 1000, `${big.readyMs.toFixed(0)} ms > 3 x ${small.readyMs.toFixed(0)} ms + 1 s`);
});
