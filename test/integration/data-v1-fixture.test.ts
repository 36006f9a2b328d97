// Integration: a data directory written by the single-node broker of session 5
// (test/fixtures/data-v1/, made by jepsen-like/make-data-v1.ts and committed) opens under the
// current broker with every stream, partition, offset, message, flag and per-stream setting, as
// seen by a real gRPC client. Later versions (the metadata Raft first) must keep this passing:
// the fixture is never regenerated to make it pass.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status as Status } from "@grpc/grpc-js";
import { startBrokerProcess, type BrokerProcess } from "../../jepsen-like/broker-process.js";
import { rejection as rejects } from "../../jepsen-like/grpc-fixture.js";
import { createApiClient, type ApiClient, type SubscribedMessage } from "../../jepsen-like/grpc-test-client.js";
import { subscribeRead, waitUntil } from "../../jepsen-like/integration-fixture.js";
import { FIXTURE_CONFIG_YAML, FIXTURE_DIR, FIXTURE_SERVER_ID, FIXTURE_STREAMS, fixtureMessage, type FixtureStream } from "../../jepsen-like/data-v1-content.js";

const T = { timeout: 60_000 };
const HOOK = { timeout: 60_000 };

type PartitionMeta = { id: number; leader: string; replicas: string[]; isr: string[]; highWatermark: string; newestOffset: string; paused: boolean; readonly: boolean };
type StreamMeta = { name: string; subject: string; partitions: Record<string, PartitionMeta> };
type BrokerMeta = { id: string };

function plain(m: SubscribedMessage): { offset: string; key: string; value: string; headers: Record<string, string> } {
  const headers = Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v.toString()]));
  return { offset: m.offset, key: m.key.toString(), value: m.value.toString(), headers };
}

/** What Subscribe returns for the fixture message at `offset`: the broker adds the subject and reply headers (as Liftbridge does). */
function expected(stream: FixtureStream, partition: number, offset: number, m = fixtureMessage(stream, partition, offset)): ReturnType<typeof plain> {
  const subject = partition === 0 ? stream.subject : `${stream.subject}.${partition}`;
  return { offset: String(offset), key: m.key, value: m.value, headers: { ...m.headers, subject, reply: "" } };
}

/** Every message of a partition, from the earliest to the newest. */
async function readAll(client: ApiClient, stream: string, partition: number): Promise<ReturnType<typeof plain>[]> {
  const read = await subscribeRead(client, { stream, partition, startPosition: "EARLIEST", stopPosition: "STOP_LATEST", resume: true }, Infinity, 10_000);
  // The call ends with RESOURCE_EXHAUSTED "Stop offset reached" once STOP_LATEST is read (as in Liftbridge).
  if (read.error !== undefined) assert.equal(read.error.code, Status.RESOURCE_EXHAUSTED, `${stream}/${partition}: ${String(read.error)}`);
  return read.messages.map(plain);
}

describe("data-v1 fixture (a data directory written by the session-5 single-node broker)", () => {
  let workDir: string;
  let broker: BrokerProcess;
  let client: ApiClient;
  before(async () => {
    assert.ok(existsSync(join(FIXTURE_DIR, "metadata", "metadata.log")), `fixture missing at ${FIXTURE_DIR}`);
    workDir = mkdtempSync(join(tmpdir(), "data-v1-"));
    cpSync(FIXTURE_DIR, join(workDir, "data"), { recursive: true });
    // No --server-id: the id stored in the fixture must be the one the broker takes.
    broker = await startBrokerProcess({ dataDir: join(workDir, "data"), configYaml: FIXTURE_CONFIG_YAML });
    client = createApiClient(broker.grpcAddress);
  }, HOOK);
  after(async () => {
    client?.close();
    await broker?.stop();
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  }, HOOK);

  test("every stream, partition, offset and flag is back, under the stored server id", T, async () => {
    const r = await client.fetchMetadata({}, { timeoutMs: 5000 });
    assert.deepEqual((r["brokers"] as BrokerMeta[]).map((b) => b.id), [FIXTURE_SERVER_ID]);
    const streams = (r["streamMetadata"] as StreamMeta[]).filter((s) => !s.name.startsWith("__"));
    assert.deepEqual(streams.map((s) => s.name).sort(), FIXTURE_STREAMS.map((s) => s.name).sort());
    for (const expected of FIXTURE_STREAMS) {
      const got = streams.find((s) => s.name === expected.name)!;
      assert.equal(got.subject, expected.subject);
      assert.equal(Object.keys(got.partitions).length, expected.partitions, `${expected.name} partitions`);
      for (let p = 0; p < expected.partitions; p++) {
        const meta = got.partitions[String(p)]!;
        const newest = String((expected.counts[p] ?? 0) - 1);
        const where = `${expected.name}/${p}`;
        const paused = expected.pausedPartitions.includes(p);
        assert.equal(meta.paused, paused, `${where} paused`);
        // A paused partition's log stays closed, so it reports no offsets (its offsets are checked once resumed, below).
        if (!paused) assert.deepEqual([meta.newestOffset, meta.highWatermark], [newest, newest], `${where} newest offset, high watermark`);
        assert.equal(meta.readonly, expected.readonly, `${where} readonly`);
        assert.deepEqual([meta.leader, meta.replicas, meta.isr], [FIXTURE_SERVER_ID, [FIXTURE_SERVER_ID], [FIXTURE_SERVER_ID]], `${where} replicas`);
      }
    }
  });

  test("every message reads back byte for byte, across segment files", T, async () => {
    for (const stream of FIXTURE_STREAMS) {
      for (let p = 0; p < stream.partitions; p++) {
        const count = stream.counts[p] ?? 0;
        if (count === 0 || stream.pausedPartitions.includes(p)) continue;
        const want = Array.from({ length: count }, (_, offset) => expected(stream, p, offset));
        assert.deepEqual(await readAll(client, stream.name, p), want, `${stream.name}/${p}`);
      }
    }
  });

  test("per-stream settings and flags still act: readonly refuses, OCC checks offsets, offsets continue", T, async () => {
    const frozen = await rejects(client.publish({ stream: "frozen", value: Buffer.from("no"), ackPolicy: "LEADER" }, { timeoutMs: 5000 }));
    assert.notEqual(frozen.code, Status.OK);
    assert.match(frozen.details, /readonly/i);
    const occ = FIXTURE_STREAMS.find((s) => s.name === "occ")!;
    const wrong = await rejects(client.publish({ stream: "occ", value: Buffer.from("w"), expectedOffset: "2", ackPolicy: "LEADER" }, { timeoutMs: 5000 }));
    assert.match(wrong.details, /incorrect expected offset/);
    const next = String(occ.counts[0]);
    const right = await client.publish({ stream: "occ", value: Buffer.from("r"), expectedOffset: next, ackPolicy: "LEADER" }, { timeoutMs: 5000 });
    assert.equal(right.ack?.offset, next);
    const seg = await client.publish({ stream: "segments", value: Buffer.from("tail"), ackPolicy: "ALL" }, { timeoutMs: 5000 });
    assert.equal(seg.ack?.offset, "24");
    const empty = await client.publish({ stream: "orders", partition: 2, value: Buffer.from("first"), ackPolicy: "ALL" }, { timeoutMs: 5000 });
    assert.equal(empty.ack?.offset, "0");
    // A publish resumes a paused partition (Liftbridge), at the offset after the fixture's last.
    const resumed = await client.publish({ stream: "paused", partition: 1, value: Buffer.from("again"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
    assert.equal(resumed.ack?.offset, "2");
    const paused = FIXTURE_STREAMS.find((s) => s.name === "paused")!;
    const want = [0, 1, 2].map((offset) => expected(paused, 1, offset, offset < 2 ? undefined : { key: "", value: "again", headers: {} }));
    assert.deepEqual(await readAll(client, "paused", 1), want);
  });

  test("per-stream retention still applies after a restart with a fast cleaner, and only where it was set", T, async () => {
    client.close();
    assert.equal(await broker.stop(), 0, broker.output());
    broker = await startBrokerProcess({ dataDir: join(workDir, "data"), configYaml: FIXTURE_CONFIG_YAML + "streams.cleaner.interval: 200ms\n" });
    client = createApiClient(broker.grpcAddress);
    const retained = FIXTURE_STREAMS.find((s) => s.name === "retained")!;
    // retentionMaxMessages 4 over one-message segments: the cleaner keeps the newest four.
    const want = [8, 9, 10, 11].map((offset) => expected(retained, 0, offset));
    await waitUntil(async () => (await readAll(client, "retained", 0)).length === want.length, 10_000, "the cleaner to apply retained's retention");
    assert.deepEqual(await readAll(client, "retained", 0), want);
    // The server default (no count limit) still keeps every message of the other streams.
    const segments = FIXTURE_STREAMS.find((s) => s.name === "segments")!;
    assert.deepEqual((await readAll(client, "segments", 0)).slice(0, 2), [0, 1].map((offset) => expected(segments, 0, offset)));
  });
});
