// Graceful stop on the real process (issue 10): SIGTERM during steady publishing (unary Publish
// with LEADER and ALL acks, and PublishAsync). Intake stops at once: acks stop within a short
// bound of the signal and later publishes get UNAVAILABLE; every acked message reads back after a
// restart at its acked offset; a live Subscribe and the PublishAsync stream end with UNAVAILABLE
// (not CANCELLED); the process exits within shutdown.timeout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { constants as http2Constants } from "node:http2";
import { connect } from "nats";
import { status as Status } from "@grpc/grpc-js";
import { killOnExit } from "../../jepsen-like/nats-server-process.js";
import { startBrokerProcess } from "../../jepsen-like/broker-process.js";
import { createApiClient, type ApiClient } from "../../jepsen-like/grpc-test-client.js";
import { subscribeRead, waitForHighWatermark, waitUntil, within } from "../../jepsen-like/integration-fixture.js";

const STREAM = "graceful";
const PUBLISHERS = 6;
/** Acks may still arrive this long after SIGTERM (what was taken before it, persisted); not ~2 s as before. */
const LAST_ACK_BOUND_MS = 500;
const EXIT_BOUND_MS = 10_000;

interface Acked {
  readonly value: string;
  readonly offset: number;
  readonly atMs: number;
}

interface Outcome {
  readonly acked: Acked[];
  /** Error codes of publishes that failed after the signal. */
  readonly errorCodes: number[];
}

async function publishLoop(client: ApiClient, id: number, stop: () => boolean, out: Outcome): Promise<void> {
  for (let i = 0; !stop(); i++) {
    const value = `p${id}-${i}`;
    try {
      const r = await client.publish({ stream: STREAM, value: Buffer.from(value), ackPolicy: id % 2 === 0 ? "LEADER" : "ALL" }, { timeoutMs: 5000 });
      out.acked.push({ value, offset: Number(r.ack?.offset), atMs: performance.now() });
    } catch (e) {
      out.errorCodes.push((e as { code?: number }).code ?? -1);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

test("SIGTERM during steady publishing: intake stops at once, acked messages survive, streams end UNAVAILABLE, exit bounded", { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "liftbridge-graceful-"));
  const broker = await startBrokerProcess({ dataDir });
  const client = createApiClient(broker.grpcAddress);
  try {
    await client.createStream({ subject: "graceful.s", name: STREAM });
    // 400 KiB for two subscribers that never read: their data outgrows their HTTP/2 windows.
    const nc = await connect({ servers: broker.natsUrl });
    for (let i = 0; i < 100; i++) nc.publish("graceful.s", new Uint8Array(4096));
    await nc.flush();
    await nc.close();
    await waitForHighWatermark(client, STREAM, 0, 99, 10_000);
    const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "jepsen-like", "idle-subscribers.js");
    const idle = spawn(process.execPath, [script, broker.grpcAddress, STREAM, "2", "1", "2"], { stdio: ["pipe", "pipe", "inherit"] });
    killOnExit(idle);
    let idleOut = "";
    idle.stdout.on("data", (d: Buffer) => { idleOut += d.toString(); });
    await waitUntil(() => idleOut.includes("opened 2"), 10_000, "two idle subscribers open");
    const live = subscribeRead(client, { stream: STREAM, partition: 0, startPosition: "NEW_ONLY" }, Infinity, 30_000);
    const pa = client.publishAsync();
    const asyncAcked: Acked[] = [];
    const asyncEnd = (async () => {
      try {
        for await (const r of pa.responses) {
          if (r.ack !== null && r.asyncError === null) asyncAcked.push({ value: r.correlationId, offset: Number(r.ack.offset), atMs: performance.now() });
        }
        return undefined;
      } catch (e) {
        return e as { code?: number };
      }
    })();
    let stopping = false;
    const out: Outcome = { acked: [], errorCodes: [] };
    const loops = Array.from({ length: PUBLISHERS }, (_, id) => publishLoop(client, id, () => stopping, out));
    const asyncLoop = (async () => {
      for (let i = 0; !stopping; i++) {
        const value = `a-${i}`;
        // drained() never resolves once the call has ended: wait for it a little at a time.
        if (!pa.send({ stream: STREAM, value: Buffer.from(value), correlationId: value, ackPolicy: "LEADER" })) {
          await Promise.race([pa.drained(), new Promise((r) => setTimeout(r, 50))]);
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    const ackedBefore = out.acked.length + asyncAcked.length;
    assert.ok(ackedBefore > 100, `steady publishing before the signal (${ackedBefore} acks)`);
    const signalAt = performance.now();
    // Publishing goes on through the stop; SIGKILL only if it takes longer than the bound.
    const exitCode = await broker.stop("SIGTERM", EXIT_BOUND_MS);
    const exitMs = performance.now() - signalAt;
    stopping = true;
    await Promise.all([...loops, asyncLoop]);
    const subOutcome = await live;
    const asyncError = await within(asyncEnd, 5000, "the PublishAsync stream ends");
    pa.cancel();

    const all = [...out.acked, ...asyncAcked];
    const lastAckMs = Math.max(...all.map((a) => a.atMs)) - signalAt;
    const ackedAfter = all.filter((a) => a.atMs > signalAt).length;
    console.log(`SIGTERM: ${all.length} acks in all, ${ackedAfter} after the signal, the last ${Math.round(lastAckMs)} ms after it; exit after ${Math.round(exitMs)} ms (code ${exitCode}); errors after: ${summarize(out.errorCodes)}`);
    assert.equal(exitCode, 0, broker.output().slice(-2000));
    assert.ok(exitMs < EXIT_BOUND_MS, `exit within ${EXIT_BOUND_MS} ms`);
    assert.ok(lastAckMs < LAST_ACK_BOUND_MS, `no ack later than ${LAST_ACK_BOUND_MS} ms after the signal (last ${lastAckMs} ms)`);
    assert.ok(out.errorCodes.length > 0 && out.errorCodes.every((c) => c === (Status.UNAVAILABLE as number)), `publishes after the stop fail with UNAVAILABLE: ${summarize(out.errorCodes)}`);
    assert.equal(subOutcome.error?.code, Status.UNAVAILABLE, `live Subscribe ends with UNAVAILABLE, got ${subOutcome.error?.code} ${subOutcome.error?.details}`);
    assert.equal(asyncError?.code, Status.UNAVAILABLE, `PublishAsync ends with UNAVAILABLE, got ${asyncError?.code}`);
    assert.match(broker.output(), /intake stopped/);
    // Subscribers that do not read are not waited for: their streams are reset with REFUSED_STREAM (UNAVAILABLE).
    await waitUntil(() => idleOut.includes(`rst=${http2Constants.NGHTTP2_REFUSED_STREAM}x2`), 5000, `idle subscribers reset, got ${idleOut}`);
    idle.kill("SIGKILL");

    // Restart on the same data: every acked message is there, at its acked offset.
    const again = await startBrokerProcess({ dataDir });
    const client2 = createApiClient(again.grpcAddress);
    try {
      const newest = Math.max(...all.map((a) => a.offset));
      await waitForHighWatermark(client2, STREAM, 0, newest, 10_000);
      const read = await subscribeRead(client2, { stream: STREAM, partition: 0, startPosition: "EARLIEST" }, newest + 1, 20_000);
      const byOffset = new Map(read.messages.map((m) => [Number(m.offset), m.value.toString()]));
      const missing = all.filter((a) => byOffset.get(a.offset) !== a.value);
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acked messages missing or different after restart`);
    } finally {
      client2.close();
      await again.stop();
    }
  } finally {
    client.close();
    await broker.kill().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

function summarize(codes: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const c of codes) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${Status[c] ?? c} x${n}`).join(", ") || "none";
}
