// Integration (issue 11): with 1,024 partitions, FetchPartitionMetadata stays fast while the high
// watermark checkpoints run (every 5 s) and another partition serves a catch-up read from offset 0
// of 64 MiB (its chunks are read in the thread pool and come back as inputs: no disk read inside a
// step). Publishes go to every partition so the high watermarks change between checkpoints. Before
// issue 11 each checkpoint rewrote all 1,024 checkpoints (write, fdatasync, directory fsync) in one
// persist, with nothing stepped meanwhile: the worst call took over a second. The figures (p50,
// p99, max) are printed always; the bounds are asserted when the machine is not oversubscribed.
//
// The data dir is a tmpfs the test mounts (root only). On ext4 an fdatasync here costs ~17 ms and
// the driver steps nothing while a step's persist runs (one pipeline until persist lanes land), so
// sync policy "always" with 64 partitions per publish batch holds every API call for about a second:
// that measures the single pipeline, not what this test is about (CPU work on the event loop).
// For the same reason publishes go to 16 partitions per 20 ms (every partition changes within
// 1.3 s): each partition's write is its own fdatasync round trip in that one pipeline. On a loaded
// machine (load average above the core count) the process waits for a CPU and the bounds can miss:
// LBTS_PROF=<dir> writes the broker's CPU profile to tell descheduling from work.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { startEnv, subscribeRead, syncBrokerNats, type IntegrationEnv } from "../../jepsen-like/integration-fixture.js";
import { AckPolicy } from "../../src/io/wire/api-types.js";
import { encodePublishEnvelope } from "../../src/io/wire/envelope.js";
import { mountTmpfs, unmountTmpfs } from "../../jepsen-like/tmpfs.js";

const PARTITIONS = 1024;
const CATCH_UP_MESSAGES = 65_536; // of 1 KiB: a 64 MiB partition read from offset 0
const MEASURE_MS = 11_000; // more than two checkpoint intervals of 5 s
const PUBLISHES_PER_TICK = 16; // every partition changes within 1.3 s, well inside a checkpoint interval
const T = { timeout: 240_000 };
// LBTS_PROF=<dir>: the broker writes a CPU profile there, and the test prints every call over 50 ms.
const PROFILE_DIR = process.env["LBTS_PROF"];

/** The subject of a partition (Liftbridge: the stream subject, then ".<partition>" past 0). */
const subjectOf = (partition: number) => (partition === 0 ? "lat" : `lat.${partition}`);

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

const prepared = mountTmpfs(1024, "lbts-latency-", "on a real disk the fsyncs of 1,024 partitions dominate");

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("1,024 partitions: FetchPartitionMetadata during checkpoints and a catch-up read (real process)", { skip: "skip" in prepared ? prepared.skip : false }, () => {
  const mountDir = "dir" in prepared ? prepared.dir : "";
  let env: IntegrationEnv;
  before(async () => {
    env = await startEnv({ name: "embedded NATS", external: false, skip: false }, { dataDir: join(mountDir, "data"), startTimeoutMs: 60_000, ...(PROFILE_DIR ? { launcher: ["sh", "-c", `exec "$0" --cpu-prof --cpu-prof-dir=${PROFILE_DIR} "$@"`] } : {}) });
  }, T);
  after(async () => {
    try {
      await env?.stop();
    } finally {
      unmountTmpfs(mountDir);
    }
  }, T);

  test("p99 under 50 ms, max under 200 ms over two checkpoint intervals", T, async (t) => {
    await env.client.createStream({ name: "lat", subject: "lat", partitions: PARTITIONS }, { timeoutMs: 180_000 });
    await env.client.createStream({ name: "big", subject: "big", partitions: 1 }, { timeoutMs: 30_000 });
    await syncBrokerNats(env);
    const value = new Uint8Array(1024).fill(7);
    const none = { key: null, headers: [], ackInbox: "", correlationId: "", ackPolicy: AckPolicy.NONE };
    for (let i = 0; i < CATCH_UP_MESSAGES; i++) {
      env.nc.publish("big", encodePublishEnvelope({ ...none, value }));
      if (i % 4096 === 4095) await env.nc.flush();
    }
    await env.nc.flush();
    // Everything published is in the log before the measurement starts (the read is a catch-up).
    const warm = await subscribeRead(env.client, { stream: "big", partition: 0, startPosition: "LATEST" }, 1, 30_000);
    assert.equal(warm.messages.length, 1);

    let publishing = true;
    let published = 0;
    const publisher = (async () => {
      let next = 0;
      while (publishing) {
        for (let i = 0; i < PUBLISHES_PER_TICK; i++) {
          env.nc.publish(subjectOf(next), encodePublishEnvelope({ ...none, value: value.subarray(0, 100) }));
          next = (next + 1) % PARTITIONS;
          published++;
        }
        await env.nc.flush();
        await sleep(20);
      }
    })();
    // Catch-up reads from offset 0, one after another, for the whole measurement (across checkpoints).
    const catchUpRead = () => new Promise<{ count: number; ms: number }>((resolve, reject) => {
      const reader = new Worker(new URL("../../jepsen-like/catch-up-reader-worker.js", import.meta.url), { workerData: { grpcAddress: env.broker.grpcAddress, stream: "big", count: CATCH_UP_MESSAGES } });
      reader.once("message", resolve);
      reader.once("error", reject);
    });
    const reads: Array<{ count: number; ms: number }> = [];
    const catchUp = (async () => {
      while (publishing) reads.push(await catchUpRead());
    })();

    const latenciesMs: number[] = [];
    const end = performance.now() + MEASURE_MS;
    for (let p = 0; performance.now() < end; p = (p + 97) % PARTITIONS) {
      const started = performance.now();
      await env.client.fetchPartitionMetadata("lat", p);
      latenciesMs.push(performance.now() - started);
      if (PROFILE_DIR !== undefined && performance.now() - started > 50) console.log(`# slow ${(performance.now() - started).toFixed(0)} ms at ${(started - end + MEASURE_MS).toFixed(0)}`);
      await sleep(2);
    }
    publishing = false;
    await publisher;
    await catchUp;
    latenciesMs.sort((a, b) => a - b);
    const p50 = percentile(latenciesMs, 0.5);
    const p99 = percentile(latenciesMs, 0.99);
    const max = latenciesMs[latenciesMs.length - 1] ?? NaN;
    console.log(
      `# FetchPartitionMetadata over ${MEASURE_MS} ms with ${PARTITIONS} partitions: ${latenciesMs.length} calls, ` +
        `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; ${published} publishes; ` +
        `${reads.length} catch-up reads of ${CATCH_UP_MESSAGES} records (${((CATCH_UP_MESSAGES * value.length) / 2 ** 20).toFixed(0)} MiB) from offset 0, ` +
        `in ${reads.map((r) => r.ms.toFixed(0)).join(", ")} ms`,
    );
    assert.ok(reads.length >= 1, "a catch-up read ran");
    for (const r of reads) assert.equal(r.count, CATCH_UP_MESSAGES, "each catch-up read completes");
    // More runnable processes than cores: the broker waits for a CPU, which no code change fixes
    // (profiles under load average 9 on 2 cores show the long gaps as single samples, not work).
    const load = loadavg()[0] ?? 0;
    if (load > availableParallelism()) {
      t.diagnostic(`bounds not asserted: load average ${load.toFixed(1)} on ${availableParallelism()} cores`);
      return;
    }
    assert.ok(p99 < 50, `p99 ${p99.toFixed(1)} ms is under 50 ms`);
    assert.ok(max < 200, `max ${max.toFixed(1)} ms is under 200 ms`);
  });
});
