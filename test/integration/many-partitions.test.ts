// Integration: 10,000 partitions on one broker started under the default descriptor limit (soft and
// hard 1024, set with prlimit), issue 10. Descriptors are a budget: the broker keeps an LRU of
// open files, so it creates 10 streams of 1,000 partitions, takes publishes on a sample of
// partitions across all streams, reads them back, and does so again after a restart. The data dir
// is a tmpfs the test mounts (root only): on ext4, creating 10,000 partitions is ~3 minutes of
// fsyncs (about 17 ms each), which measures the disk, not the descriptor budget under test.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { createInbox } from "nats";
import { collectNats, decodeAck, startEnv, subscribeRead, syncBrokerNats, type IntegrationEnv } from "../../jepsen-like/integration-fixture.js";
import { AckError, AckPolicy } from "../../src/io/wire/api-types.js";
import { encodePublishEnvelope } from "../../src/io/wire/envelope.js";
import { mountTmpfs, unmountTmpfs } from "../../jepsen-like/tmpfs.js";

const STREAMS = 10;
const PARTITIONS = 1000;
const SAMPLE_PER_STREAM = 25;
const MESSAGES = 2;
const FD_LIMIT = 1024;
const T = { timeout: 180_000 };

/** A tmpfs for the data (on a real disk, creating 10,000 partitions is minutes of fsyncs), or why the test is skipped. */
function prepare(): { dir: string } | { skip: string } {
  try {
    execFileSync("prlimit", ["--version"], { stdio: "pipe" });
  } catch {
    return { skip: "prlimit (util-linux) is not installed: it sets the broker's descriptor limit" };
  }
  return mountTmpfs(1024, "lbts-many-", "on a real disk, creating 10,000 partitions is minutes of fsyncs");
}

const prepared = prepare();

/** The partitions published to: spread over each stream, the first and last included. */
function sample(): number[] {
  const step = Math.floor(PARTITIONS / SAMPLE_PER_STREAM);
  return Array.from({ length: SAMPLE_PER_STREAM }, (_, i) => (i === SAMPLE_PER_STREAM - 1 ? PARTITIONS - 1 : i * step));
}

/** The subject of a partition (Liftbridge: the stream subject, then ".<partition>" past 0). */
const subjectOf = (stream: number, partition: number) => (partition === 0 ? `many${stream}` : `many${stream}.${partition}`);

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Reads every sampled partition and checks it holds exactly the values published to it. */
async function readSample(env: IntegrationEnv, when: string): Promise<void> {
  for (let s = 0; s < STREAMS; s++) {
    for (const p of sample()) {
      const r = await subscribeRead(env.client, { stream: `many${s}`, partition: p, startPosition: "EARLIEST", stopPosition: "STOP_LATEST" }, MESSAGES, 10_000);
      const values = r.messages.map((m) => m.value.toString("utf8"));
      assert.deepEqual(values, Array.from({ length: MESSAGES }, (_, i) => `m-${s}-${p}-${i}`), `${when}: many${s}/${p}`);
    }
  }
}

describe("10,000 partitions under a 1024-descriptor limit (real process)", { skip: "skip" in prepared ? prepared.skip : false }, () => {
  const mountDir = "dir" in prepared ? prepared.dir : "";
  let env: IntegrationEnv;
  before(async () => {
    const options = { dataDir: join(mountDir, "data"), launcher: ["prlimit", `--nofile=${FD_LIMIT}:${FD_LIMIT}`], startTimeoutMs: 120_000 };
    env = await startEnv({ name: "embedded NATS", external: false, skip: false }, options);
  }, T);
  after(async () => {
    try {
      await env?.stop();
    } finally {
      unmountTmpfs(mountDir);
    }
  }, T);

  test("create 10 x 1000 partitions, publish to a sample in every stream, read back, restart, read back", T, async () => {
    const limits = execFileSync("prlimit", ["--nofile", "--pid", String(env.broker.pid), "--raw", "--noheadings"], { encoding: "utf8" });
    assert.match(limits, new RegExp(`\\b${FD_LIMIT}\\s+${FD_LIMIT}\\b`), "the broker runs under the 1024 limit");
    const started = Date.now();
    for (let s = 0; s < STREAMS; s++) await env.client.createStream({ name: `many${s}`, subject: `many${s}`, partitions: PARTITIONS }, { timeoutMs: 120_000 });
    const createdMs = Date.now() - started;
    await syncBrokerNats(env);
    const md = await env.client.fetchMetadata({}, { timeoutMs: 30_000 });
    const counted = (md["streamMetadata"] as Array<{ name: string; partitions: Record<string, unknown> }>)
      .filter((m) => m.name.startsWith("many")).reduce((n, m) => n + Object.keys(m.partitions).length, 0);
    assert.equal(counted, STREAMS * PARTITIONS);
    assert.ok(openDescriptors(env.broker.pid) < FD_LIMIT, "below the limit");

    const inbox = createInbox();
    const acks = env.nc.subscribe(inbox);
    await env.nc.flush();
    let sent = 0;
    for (let i = 0; i < MESSAGES; i++) {
      for (let s = 0; s < STREAMS; s++) {
        for (const p of sample()) {
          const value = new TextEncoder().encode(`m-${s}-${p}-${i}`);
          env.nc.publish(subjectOf(s, p), encodePublishEnvelope({ key: null, value, headers: [], ackInbox: inbox, correlationId: `${s}-${p}-${i}`, ackPolicy: AckPolicy.LEADER }));
          sent++;
        }
      }
      await env.nc.flush();
    }
    const got = (await collectNats(acks, sent, 60_000)).map(decodeAck);
    assert.equal(got.length, sent, "every publish acked");
    assert.ok(got.every((a) => a.ackError === AckError.OK), "every ack is OK");
    const fdsUnderLoad = openDescriptors(env.broker.pid);
    assert.ok(fdsUnderLoad < FD_LIMIT, `open descriptors ${fdsUnderLoad} stay below the limit`);
    await readSample(env, "before restart");

    const restartStarted = Date.now();
    await env.restart(false);
    const restartMs = Date.now() - restartStarted;
    await readSample(env, "after restart");
    const fdsAfter = openDescriptors(env.broker.pid);
    assert.ok(fdsAfter < FD_LIMIT);
    // Writes still work after the restart, on a partition never touched before.
    await syncBrokerNats(env);
    const late = env.nc.subscribe(inbox);
    await env.nc.flush();
    env.nc.publish(subjectOf(9, 777), encodePublishEnvelope({ key: null, value: new Uint8Array([1]), headers: [], ackInbox: inbox, correlationId: "late", ackPolicy: AckPolicy.ALL }));
    const lateAck = (await collectNats(late, 1, 10_000)).map(decodeAck);
    assert.equal(lateAck[0]?.ackError, AckError.OK, "a cold partition takes a write after the restart");
    console.log(`# 10,000 partitions: created in ${createdMs} ms; ${sent} publishes; open descriptors ${fdsUnderLoad} under load, ${fdsAfter} after a restart of ${restartMs} ms`);
  });
});
