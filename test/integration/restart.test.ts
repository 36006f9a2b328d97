// Integration: durability across restarts of the real process: a graceful stop (SIGTERM) and a
// start on the same data directory give back every stream, flag and record byte for byte; after
// kill -9 under the default sync policy `always`, every acked message is there.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createInbox } from "nats";
import type { PublishResponse, SubscribedMessage } from "../../jepsen-like/grpc-test-client.js";
import {
  collectNats, createStreamForNats, natsModes, startEnv, subscribeRead, waitForHighWatermark, within, type IntegrationEnv,
} from "../../jepsen-like/integration-fixture.js";
import { AckPolicy } from "../../src/io/wire/api-types.js";
import { encodePublishEnvelope } from "../../src/io/wire/envelope.js";

const T = { timeout: 60_000 };
const HOOK = { timeout: 60_000 };
const enc = new TextEncoder();

type StreamMeta = { name: string; subject: string; creationTimestamp: string; partitions: Record<string, { paused: boolean; readonly: boolean; highWatermark: string; newestOffset: string }> };

/** Every record of every partition, as Subscribe returns them. */
async function snapshot(env: IntegrationEnv, stream: string, partitions: number): Promise<SubscribedMessage[][]> {
  const out: SubscribedMessage[][] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const r = await subscribeRead(env.client, { stream, partition, startPosition: "EARLIEST", stopPosition: "STOP_LATEST", resume: true }, Infinity, 10_000);
    out.push(r.messages);
  }
  return out;
}

/**
 * Stream metadata without the partition event timestamps (last message received, paused, set
 * readonly): like Liftbridge's, those live in memory and start over with the process.
 */
async function metadata(env: IntegrationEnv): Promise<StreamMeta[]> {
  const r = await env.client.fetchMetadata({}, { timeoutMs: 5000 });
  const streams = (r["streamMetadata"] as StreamMeta[]).filter((s) => !s.name.startsWith("__")).sort((a, b) => a.name.localeCompare(b.name));
  for (const s of streams) {
    for (const p of Object.values(s.partitions) as Array<Record<string, unknown>>) {
      delete p["messagesReceivedTimestamps"];
      delete p["pauseTimestamps"];
      delete p["readonlyTimestamps"];
    }
  }
  return streams;
}

/** Publishes a mix of raw, enveloped (keys, headers) and gRPC messages over two partitions. */
async function publishMix(env: IntegrationEnv, stream: string, subject: string, n: number): Promise<void> {
  const inbox = createInbox();
  const acks = env.nc.subscribe(inbox);
  await env.nc.flush();
  let enveloped = 0;
  for (let i = 0; i < n; i++) {
    const target = i % 2 === 0 ? subject : `${subject}.1`;
    const bytes = new Uint8Array([i & 0xff, 0, 0xff, (i * 7) & 0xff]);
    if (i % 3 === 0) {
      env.nc.publish(target, bytes, { reply: `reply.${i}` });
    } else if (i % 3 === 1) {
      enveloped++;
      env.nc.publish(target, encodePublishEnvelope({
        key: enc.encode(`key-${i}`), value: bytes, headers: [["h-a", enc.encode(`a${i}`)], ["h-bin", new Uint8Array([0, i & 0xff])]],
        ackInbox: inbox, correlationId: `e${i}`, ackPolicy: AckPolicy.LEADER,
      }));
    } else {
      await env.client.publish({ stream, partition: i % 2, key: Buffer.from(`gk${i}`), value: Buffer.from(bytes), headers: { g: Buffer.from(`${i}`) }, ackPolicy: "ALL" }, { timeoutMs: 5000 });
    }
  }
  await env.nc.flush();
  assert.equal((await collectNats(acks, enveloped, 5000)).length, enveloped);
}

for (const mode of natsModes()) {
  describe(`restart (${mode.name})`, { skip: mode.skip }, () => {
    let env: IntegrationEnv;
    before(async () => { env = await startEnv(mode); }, HOOK);
    after(async () => { await env?.stop(); }, HOOK);

    test("SIGTERM then restart on the same data dir: every stream, flag and record is back byte for byte", T, async () => {
      const n = 60;
      await createStreamForNats(env, { name: "rs-mix", subject: "rs.mix", partitions: 2 });
      await env.client.createStream({ name: "rs-paused", subject: "rs.paused" });
      await env.client.createStream({ name: "rs-ro", subject: "rs.ro" });
      await publishMix(env, "rs-mix", "rs.mix", n);
      await env.client.publish({ stream: "rs-ro", value: Buffer.from("ro"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      await env.client.pauseStream({ name: "rs-paused" });
      await env.client.setStreamReadonly({ name: "rs-ro", readonly: true });
      await waitForHighWatermark(env.client, "rs-mix", 0, n / 2 - 1);
      await waitForHighWatermark(env.client, "rs-mix", 1, n / 2 - 1);
      const beforeRecords = await snapshot(env, "rs-mix", 2);
      const roRecords = await snapshot(env, "rs-ro", 1);
      assert.deepEqual(beforeRecords.map((p) => p.length), [n / 2, n / 2]);
      const beforeMeta = await metadata(env);

      const code = await env.restart(false);
      assert.equal(code, 0, env.broker.output());
      assert.deepEqual(await metadata(env), beforeMeta);
      assert.deepEqual(await snapshot(env, "rs-mix", 2), beforeRecords);
      assert.deepEqual(await snapshot(env, "rs-ro", 1), roRecords);
      // Flags survived; paused streams stay paused until a publish resumes them.
      const flags = Object.fromEntries((await metadata(env)).map((s) => [s.name, [s.partitions["0"]!.paused, s.partitions["0"]!.readonly]]));
      assert.deepEqual(flags, { "rs-mix": [false, false], "rs-paused": [true, false], "rs-ro": [false, true] });
      // Offsets continue where they were; ingest over NATS resumes.
      const r = await env.client.publish({ stream: "rs-mix", value: Buffer.from("after"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assert.equal(r.ack?.offset, String(n / 2));
      env.nc.publish("rs.mix.1", enc.encode("after-nats"));
      await env.nc.flush();
      await waitForHighWatermark(env.client, "rs-mix", 1, n / 2);
      const tail = await subscribeRead(env.client, { stream: "rs-mix", partition: 1, startPosition: "LATEST", stopPosition: "STOP_LATEST" });
      assert.deepEqual(tail.messages.map((m) => [m.offset, m.value.toString()]), [[String(n / 2), "after-nats"]]);
    });

    test("kill -9 under sync policy always: every acked message survives, with no gaps", T, async () => {
      await env.client.createStream({ name: "rs-crash", subject: "rs.crash" });
      const session = env.client.publishAsync();
      const acked = new Map<string, string>(); // offset -> value
      const reading = (async () => {
        try {
          for await (const r of session.responses as AsyncIterable<PublishResponse>) {
            if (r.ack !== null && r.asyncError === null) acked.set(r.ack.offset, r.correlationId);
          }
        } catch {
          // the broker died under the call
        }
      })();
      let sent = 0;
      let crashing = false;
      const sending = (async () => {
        while (sent < 5000 && !crashing) {
          const ackPolicy = sent % 2 === 0 ? "LEADER" : "ALL";
          const more = session.send({ stream: "rs-crash", value: Buffer.from(`m${sent}`), correlationId: `m${sent}`, ackPolicy });
          sent++;
          // A dead broker never drains: do not wait on it for long.
          if (!more) await Promise.race([session.drained(), new Promise((resolve) => setTimeout(resolve, 100))]);
        }
      })();
      await within((async () => { while (acked.size < 300) await new Promise((resolve) => setTimeout(resolve, 5)); })(), 20_000, "300 acks");
      crashing = true;
      await env.restart(true);
      session.cancel();
      await within(sending, 5000, "the sender to stop");
      await within(reading, 5000, "the reader to stop");
      assert.ok(acked.size >= 300);
      const after = (await snapshot(env, "rs-crash", 1))[0]!;
      // Stored records are a gap-free prefix in publish order...
      assert.deepEqual(after.map((m) => m.offset), after.map((_, i) => String(i)));
      assert.deepEqual(after.map((m) => m.value.toString()), after.map((_, i) => `m${i}`));
      // ...that contains every acked message at its acked offset.
      for (const [offset, correlationId] of acked) assert.equal(after[Number(offset)]?.value.toString(), correlationId, `acked offset ${offset}`);
      assert.ok(after.length >= acked.size);
    });
  });
}
