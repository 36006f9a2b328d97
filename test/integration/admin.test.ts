// Integration: stream administration against a real broker process: CreateStream, DeleteStream,
// PauseStream, SetStreamReadonly with their errors, and FetchMetadata / FetchPartitionMetadata.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { status as Status } from "@grpc/grpc-js";
import { natsModes, startEnv, waitForHighWatermark, type IntegrationEnv } from "../../jepsen-like/integration-fixture.js";
import { rejection as rejects } from "../../jepsen-like/grpc-fixture.js";

const T = { timeout: 20_000 };
const HOOK = { timeout: 60_000 };

type Partition = Record<string, unknown> & { id: number; paused: boolean; readonly: boolean; highWatermark: string; newestOffset: string; leader: string; replicas: string[]; isr: string[] };
type StreamMeta = { name: string; subject: string; error: string; creationTimestamp: string; partitions: Record<string, Partition> };

for (const mode of natsModes()) {
  describe(`admin (${mode.name})`, { skip: mode.skip }, () => {
    let env: IntegrationEnv;
    before(async () => { env = await startEnv(mode); }, HOOK);
    after(async () => { await env?.stop(); }, HOOK);

    test("CreateStream defaults to one partition and rejects a duplicate with AlreadyExists", T, async () => {
      assert.deepEqual(await env.client.createStream({ name: "adm-a", subject: "adm.a" }), {});
      const dup = await rejects(env.client.createStream({ name: "adm-a", subject: "adm.other" }));
      assert.equal(dup.code, Status.ALREADY_EXISTS);
      assert.equal(dup.details, "stream already exists");
      const meta = await env.client.fetchMetadata({ streams: ["adm-a"] });
      const stream = (meta["streamMetadata"] as StreamMeta[])[0]!;
      assert.deepEqual(Object.keys(stream.partitions), ["0"]);
    });

    test("CreateStream validation errors", T, async () => {
      const cases: Array<[Record<string, unknown>, number, RegExp]> = [
        [{ name: "", subject: "adm.x" }, Status.INVALID_ARGUMENT, /Name cannot be empty/],
        [{ name: "adm-bad", subject: "" }, Status.INVALID_ARGUMENT, /Subject is invalid/],
        [{ name: "adm-bad", subject: "a..b" }, Status.INVALID_ARGUMENT, /Subject is invalid/],
        [{ name: "adm-bad", subject: "a b" }, Status.INVALID_ARGUMENT, /Subject is invalid/],
        [{ name: "adm-bad", subject: "a.>.b" }, Status.INVALID_ARGUMENT, /Subject is invalid/],
        [{ name: "adm-bad", subject: "adm.neg", partitions: -1 }, Status.INVALID_ARGUMENT, /partition/i],
        [{ name: "adm-bad", subject: "adm.rf", replicationFactor: 3 }, Status.INVALID_ARGUMENT, /Invalid replicationFactor 3/],
        [{ name: "__activity", subject: "adm.act" }, Status.INVALID_ARGUMENT, /Stream is reserved/],
        [{ name: "__cursors", subject: "adm.cur" }, Status.INVALID_ARGUMENT, /Stream is reserved/],
        [{ name: "adm-gt", subject: "adm.gt.>", partitions: 2 }, Status.INVALID_ARGUMENT, /./],
      ];
      for (const [request, code, message] of cases) {
        const e = await rejects(env.client.createStream(request));
        assert.equal(e.code, code, `${JSON.stringify(request)}: ${e.details}`);
        assert.match(e.details, message, JSON.stringify(request));
      }
      const meta = await env.client.fetchMetadata({ streams: ["adm-bad", "adm-gt"] });
      assert.deepEqual((meta["streamMetadata"] as StreamMeta[]).map((s) => s.error), ["UNKNOWN_STREAM", "UNKNOWN_STREAM"]);
    });

    test("FetchMetadata and FetchPartitionMetadata fields", T, async () => {
      const before = BigInt(Date.now()) * 1_000_000n;
      await env.client.createStream({ name: "adm-meta", subject: "adm.meta", partitions: 3 });
      const after = BigInt(Date.now()) * 1_000_000n;
      const meta = await env.client.fetchMetadata({ streams: ["adm-meta", "adm-nope"] });
      const brokers = meta["brokers"] as Array<{ id: string; host: string; port: number; partitionCount: number; leaderCount: number }>;
      assert.equal(brokers.length, 1);
      const broker = brokers[0]!;
      assert.equal(`${broker.host}:${broker.port}`, env.broker.grpcAddress);
      assert.ok(broker.id.length > 0);
      assert.ok(broker.partitionCount >= 3 && broker.leaderCount === broker.partitionCount, JSON.stringify(broker));
      const [stream, unknown] = meta["streamMetadata"] as StreamMeta[];
      assert.deepEqual(unknown, { name: "adm-nope", subject: "", error: "UNKNOWN_STREAM", partitions: {}, creationTimestamp: "0" });
      assert.equal(stream!.name, "adm-meta");
      assert.equal(stream!.subject, "adm.meta");
      assert.equal(stream!.error, "OK");
      const created = BigInt(stream!.creationTimestamp);
      assert.ok(created >= before - 1_000_000_000n && created <= after + 1_000_000_000n, `creationTimestamp ${created}`);
      assert.deepEqual(Object.keys(stream!.partitions).sort(), ["0", "1", "2"]);
      for (const [id, p] of Object.entries(stream!.partitions)) {
        assert.equal(p.id, Number(id));
        assert.equal(p.leader, broker.id);
        assert.deepEqual(p.replicas, [broker.id]);
        assert.deepEqual(p.isr, [broker.id]);
        assert.equal(p.highWatermark, "-1");
        assert.equal(p.newestOffset, "-1");
        assert.equal(p.paused, false);
        assert.equal(p.readonly, false);
      }
      assert.deepEqual(meta["groupMetadata"], []);
      const all = await env.client.fetchMetadata({});
      assert.ok((all["streamMetadata"] as StreamMeta[]).some((s) => s.name === "adm-meta"));

      await env.client.publish({ stream: "adm-meta", partition: 1, value: Buffer.from("x"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      await waitForHighWatermark(env.client, "adm-meta", 1, 0);
      const pm = await env.client.fetchPartitionMetadata("adm-meta", 1);
      const p = pm["metadata"] as Partition & { messagesReceivedTimestamps: { firstTimestamp: string; latestTimestamp: string } };
      assert.equal(p.id, 1);
      assert.equal(p.highWatermark, "0");
      assert.equal(p.newestOffset, "0");
      assert.equal(p.leader, broker.id);
      assert.ok(BigInt(p.messagesReceivedTimestamps.firstTimestamp) > 0n);
      assert.equal(p.messagesReceivedTimestamps.firstTimestamp, p.messagesReceivedTimestamps.latestTimestamp);
      const missing = await rejects(env.client.fetchPartitionMetadata("adm-meta", 7));
      assert.equal(missing.code, Status.NOT_FOUND);
      const noStream = await rejects(env.client.fetchPartitionMetadata("adm-none", 0));
      assert.equal(noStream.code, Status.NOT_FOUND);
    });

    test("PauseStream pauses all or some partitions; NotFound for unknown stream or partition", T, async () => {
      await env.client.createStream({ name: "adm-pause", subject: "adm.pause", partitions: 3 });
      await env.client.pauseStream({ name: "adm-pause", partitions: [1] });
      let pm = await env.client.fetchMetadata({ streams: ["adm-pause"] });
      let parts = (pm["streamMetadata"] as StreamMeta[])[0]!.partitions;
      assert.deepEqual([0, 1, 2].map((i) => parts[String(i)]!.paused), [false, true, false]);
      await env.client.pauseStream({ name: "adm-pause" });
      pm = await env.client.fetchMetadata({ streams: ["adm-pause"] });
      parts = (pm["streamMetadata"] as StreamMeta[])[0]!.partitions;
      assert.deepEqual([0, 1, 2].map((i) => parts[String(i)]!.paused), [true, true, true]);
      const p1 = parts["1"] as unknown as { pauseTimestamps: { firstTimestamp: string } };
      assert.ok(BigInt(p1.pauseTimestamps.firstTimestamp) > 0n);
      // Liftbridge: a paused partition has no running leader to answer FetchPartitionMetadata.
      const fpm = await rejects(env.client.fetchPartitionMetadata("adm-pause", 1));
      assert.deepEqual([fpm.code, fpm.details], [Status.FAILED_PRECONDITION, "The request should be sent to partition leader"]);
      assert.equal((await rejects(env.client.pauseStream({ name: "adm-none" }))).code, Status.NOT_FOUND);
      assert.equal((await rejects(env.client.pauseStream({ name: "adm-pause", partitions: [9] }))).code, Status.NOT_FOUND);
    });

    test("SetStreamReadonly sets and clears the flag; NotFound for unknown stream or partition", T, async () => {
      await env.client.createStream({ name: "adm-ro", subject: "adm.ro", partitions: 2 });
      await env.client.setStreamReadonly({ name: "adm-ro", partitions: [0], readonly: true });
      let parts = ((await env.client.fetchMetadata({ streams: ["adm-ro"] }))["streamMetadata"] as StreamMeta[])[0]!.partitions;
      assert.deepEqual([parts["0"]!.readonly, parts["1"]!.readonly], [true, false]);
      await env.client.setStreamReadonly({ name: "adm-ro", readonly: true });
      parts = ((await env.client.fetchMetadata({ streams: ["adm-ro"] }))["streamMetadata"] as StreamMeta[])[0]!.partitions;
      assert.deepEqual([parts["0"]!.readonly, parts["1"]!.readonly], [true, true]);
      await env.client.setStreamReadonly({ name: "adm-ro", readonly: false });
      parts = ((await env.client.fetchMetadata({ streams: ["adm-ro"] }))["streamMetadata"] as StreamMeta[])[0]!.partitions;
      assert.deepEqual([parts["0"]!.readonly, parts["1"]!.readonly], [false, false]);
      assert.equal((await rejects(env.client.setStreamReadonly({ name: "adm-none", readonly: true }))).code, Status.NOT_FOUND);
      assert.equal((await rejects(env.client.setStreamReadonly({ name: "adm-ro", partitions: [5], readonly: true }))).code, Status.NOT_FOUND);
    });

    test("DeleteStream removes the stream; the name can be reused; errors", T, async () => {
      await env.client.createStream({ name: "adm-del", subject: "adm.del" });
      await env.client.publish({ stream: "adm-del", value: Buffer.from("old"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assert.deepEqual(await env.client.deleteStream("adm-del"), {});
      const meta = await env.client.fetchMetadata({ streams: ["adm-del"] });
      assert.equal((meta["streamMetadata"] as StreamMeta[])[0]!.error, "UNKNOWN_STREAM");
      const again = await rejects(env.client.deleteStream("adm-del"));
      assert.equal(again.code, Status.NOT_FOUND);
      assert.match(again.details, /stream does not exist/);
      const reserved = await rejects(env.client.deleteStream("__activity"));
      assert.equal(reserved.code, Status.INVALID_ARGUMENT);
      // Recreated under the same name the stream starts empty.
      await env.client.createStream({ name: "adm-del", subject: "adm.del2" });
      const pm = (await env.client.fetchPartitionMetadata("adm-del", 0))["metadata"] as Partition;
      assert.equal(pm.newestOffset, "-1");
    });
  });
}
