// Integration: messages published with the official NATS client straight onto stream subjects:
// raw payloads, publish envelopes with each ack policy (acks on the inbox with every field),
// truncated and wrong-CRC envelopes (stored raw), oversized messages (TOO_LARGE ack).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createInbox, headers as natsHeaders } from "nats";
import { AckError, AckPolicy } from "../../src/io/wire/api-types.js";
import { encodeEnvelopeWithCrc, encodePublishEnvelope, MsgType } from "../../src/io/wire/envelope.js";
import { encodeWire } from "../../src/io/wire/api-codec.js";
import {
  collectNats, createStreamForNats, decodeAck, natsModes, startEnv, subscribeRead, waitForHighWatermark, within, type IntegrationEnv,
} from "../../jepsen-like/integration-fixture.js";

const T = { timeout: 20_000 };
const HOOK = { timeout: 60_000 };
const MAX_BYTES = 2048;
const enc = new TextEncoder();

for (const mode of natsModes()) {
  describe(`NATS ingest (${mode.name})`, { skip: mode.skip }, () => {
    let env: IntegrationEnv;
    before(async () => {
      env = await startEnv(mode, { configYaml: `clustering:\n  replication.max.bytes: ${MAX_BYTES}\n` });
    }, HOOK);
    after(async () => { await env?.stop(); }, HOOK);

    const readAll = async (stream: string, partition = 0, count = Infinity) =>
      (await subscribeRead(env.client, { stream, partition, startPosition: "EARLIEST", stopPosition: "STOP_LATEST" }, count)).messages;

    test("raw payloads are stored verbatim as the value with subject and reply headers", T, async () => {
      await createStreamForNats(env, { name: "ing-raw", subject: "ing.raw" });
      const payloads = [enc.encode("hello"), new Uint8Array([0, 1, 2, 255, 254]), new Uint8Array(0), new Uint8Array([0xb9, 0x0e])];
      env.nc.publish("ing.raw", payloads[0], { reply: "reply.to.me" });
      for (const p of payloads.slice(1)) env.nc.publish("ing.raw", p);
      // NATS headers are not part of a Liftbridge message: the payload alone is stored.
      const h = natsHeaders();
      h.set("X-Ignored", "yes");
      env.nc.publish("ing.raw", enc.encode("with-nats-headers"), { headers: h });
      await env.nc.flush();
      await waitForHighWatermark(env.client, "ing-raw", 0, 4);
      const got = await readAll("ing-raw");
      assert.deepEqual(got.map((m) => m.offset), ["0", "1", "2", "3", "4"]);
      assert.deepEqual(got.map((m) => [...m.value]), [...payloads, enc.encode("with-nats-headers")].map((p) => [...p]));
      for (const m of got) {
        assert.equal(m.key.length, 0);
        assert.equal(m.stream, "ing-raw");
        assert.equal(m.partition, 0);
        assert.equal(m.subject, "ing.raw");
        assert.equal(m.headers["subject"]?.toString(), "ing.raw");
        assert.ok(BigInt(m.timestamp) > 0n);
        assert.equal(m.ackInbox, "");
        assert.equal(m.correlationId, "");
      }
      assert.equal(got[0]!.replySubject, "reply.to.me");
      assert.equal(got[0]!.headers["reply"]?.toString(), "reply.to.me");
      assert.equal(got[1]!.replySubject, "");
    });

    for (const policy of ["LEADER", "ALL", "NONE"] as const) {
      test(`enveloped messages with ack policy ${policy}: acks carry every field`, T, async () => {
        const stream = `ing-env-${policy.toLowerCase()}`;
        const subject = `ing.env.${policy.toLowerCase()}`;
        await createStreamForNats(env, { name: stream, subject, partitions: 2 });
        const inbox = createInbox();
        const acks = env.nc.subscribe(inbox);
        await env.nc.flush();
        const sentAtNs = BigInt(Date.now()) * 1_000_000n;
        for (let i = 0; i < 4; i++) {
          const partitionSubject = i % 2 === 0 ? subject : `${subject}.1`;
          env.nc.publish(partitionSubject, encodePublishEnvelope({
            key: enc.encode(`k${i}`), value: enc.encode(`v${i}`), headers: [["h", enc.encode(`hv${i}`)]],
            ackInbox: inbox, correlationId: `c${i}`, ackPolicy: AckPolicy[policy], offset: -1,
          }), { reply: `r.${i}` });
        }
        await env.nc.flush();
        const received = (await collectNats(acks, 4, policy === "NONE" ? 700 : 5000)).map(decodeAck);
        await waitForHighWatermark(env.client, stream, 0, 1);
        await waitForHighWatermark(env.client, stream, 1, 1);
        if (policy === "NONE") {
          assert.deepEqual(received, []);
        } else {
          assert.equal(received.length, 4);
          received.sort((a, b) => a.correlationId.localeCompare(b.correlationId));
          for (const [i, ack] of received.entries()) {
            assert.equal(ack.stream, stream);
            // As in Liftbridge: the stream's base subject, and the subject the message came on.
            assert.equal(ack.partitionSubject, subject);
            assert.equal(ack.msgSubject, i % 2 === 0 ? subject : `${subject}.1`);
            assert.equal(ack.offset, BigInt(Math.floor(i / 2)));
            assert.equal(ack.ackInbox, inbox);
            assert.equal(ack.correlationId, `c${i}`);
            assert.equal(ack.ackPolicy, AckPolicy[policy]);
            assert.equal(ack.ackError, AckError.OK);
            assert.ok(ack.receptionTimestamp >= sentAtNs - 1_000_000_000n, `reception ${ack.receptionTimestamp}`);
            assert.ok(ack.commitTimestamp >= ack.receptionTimestamp, `commit ${ack.commitTimestamp} < reception ${ack.receptionTimestamp}`);
          }
        }
        for (const partition of [0, 1]) {
          const got = await readAll(stream, partition);
          assert.deepEqual(got.map((m) => m.offset), ["0", "1"]);
          for (const [j, m] of got.entries()) {
            const i = j * 2 + partition;
            assert.equal(m.key.toString(), `k${i}`);
            assert.equal(m.value.toString(), `v${i}`);
            assert.equal(m.headers["h"]?.toString(), `hv${i}`);
            assert.equal(m.subject, partition === 0 ? subject : `${subject}.1`);
            assert.equal(m.replySubject, `r.${i}`);
            assert.equal(m.partition, partition);
          }
        }
      });
    }

    test("a truncated or wrong-CRC envelope is stored raw; a good CRC envelope is decoded", T, async () => {
      await createStreamForNats(env, { name: "ing-bad-env", subject: "ing.badenv" });
      const good = encodePublishEnvelope({ key: enc.encode("key"), value: enc.encode("value-that-is-long-enough") });
      const truncatedHeader = good.slice(0, 6);
      const truncatedBody = good.slice(0, good.length - 5);
      const withCrc = encodeEnvelopeWithCrc(MsgType.Publish, encodeWire("proto.Message", { key: enc.encode("ck"), value: enc.encode("crc-ok") }));
      const wrongCrc = withCrc.slice();
      wrongCrc[8] = wrongCrc[8]! ^ 0xff;
      const badVersion = good.slice();
      badVersion[4] = 1;
      const ackType = good.slice();
      ackType[7] = MsgType.Ack;
      const sent = [truncatedHeader, truncatedBody, wrongCrc, badVersion, ackType, withCrc];
      for (const p of sent) env.nc.publish("ing.badenv", p);
      await env.nc.flush();
      await waitForHighWatermark(env.client, "ing-bad-env", 0, sent.length - 1);
      const got = await readAll("ing-bad-env");
      assert.equal(got.length, sent.length);
      for (const [i, raw] of sent.slice(0, -1).entries()) {
        assert.deepEqual([...got[i]!.value], [...raw], `message ${i} stored raw`);
        assert.equal(got[i]!.key.length, 0);
      }
      assert.equal(got.at(-1)!.key.toString(), "ck");
      assert.equal(got.at(-1)!.value.toString(), "crc-ok");
      // The broker is still ingesting.
      env.nc.publish("ing.badenv", enc.encode("after"));
      await env.nc.flush();
      await waitForHighWatermark(env.client, "ing-bad-env", 0, sent.length);
    });

    // Regression: the driver once replied to CreateStream before the NATS server had the
    // partition's SUB, so a publish on another connection right after could be lost (about 1 in
    // 40 against nats-server). The reply now waits for a NATS flush.
    test("a NATS publish right after CreateStream returns is captured", T, async () => {
      const n = 100;
      for (let i = 0; i < n; i++) {
        await env.client.createStream({ name: `ing-race-${i}`, subject: `ing.race.${i}` }, { timeoutMs: 5000 });
        env.nc.publish(`ing.race.${i}`, enc.encode("first"));
      }
      await env.nc.flush();
      const lost: number[] = [];
      for (let i = 0; i < n; i++) {
        try {
          await waitForHighWatermark(env.client, `ing-race-${i}`, 0, 0, i === 0 ? 2000 : 100);
        } catch {
          lost.push(i);
        }
      }
      assert.deepEqual(lost, [], `${lost.length} of ${n} first messages lost`);
    });

    test("an oversized message gets a TOO_LARGE ack and is not stored", T, async () => {
      await createStreamForNats(env, { name: "ing-big", subject: "ing.big" });
      const inbox = createInbox();
      const acks = env.nc.subscribe(inbox);
      await env.nc.flush();
      env.nc.publish("ing.big", encodePublishEnvelope({ value: new Uint8Array(MAX_BYTES + 10), ackInbox: inbox, correlationId: "big", ackPolicy: AckPolicy.LEADER }));
      env.nc.publish("ing.big", new Uint8Array(MAX_BYTES + 1)); // raw and oversized: dropped, no ack possible
      env.nc.publish("ing.big", encodePublishEnvelope({ value: enc.encode("small"), ackInbox: inbox, correlationId: "small", ackPolicy: AckPolicy.LEADER }));
      await env.nc.flush();
      const received = (await collectNats(acks, 2, 5000)).map(decodeAck);
      assert.equal(received.length, 2);
      const big = received.find((a) => a.correlationId === "big")!;
      const small = received.find((a) => a.correlationId === "small")!;
      assert.equal(big.ackError, AckError.TOO_LARGE);
      assert.equal(big.offset, 0n);
      assert.equal(big.stream, "ing-big");
      assert.equal(big.ackInbox, inbox);
      assert.equal(small.ackError, AckError.OK);
      assert.equal(small.offset, 0n);
      const got = await readAll("ing-big");
      assert.deepEqual(got.map((m) => m.value.toString()), ["small"]);
    });
    test("an oversized Publish is InvalidArgument; in PublishAsync a BAD_REQUEST asyncError", T, async () => {
      await env.client.createStream({ name: "ing-big-api", subject: "ing.bigapi" });
      const big = Buffer.alloc(MAX_BYTES + 10, 7);
      await assert.rejects(env.client.publish({ stream: "ing-big-api", value: big, ackPolicy: "LEADER" }, { timeoutMs: 5000 }),
        (e: { code?: number; details?: string }) => e.code === 3 && /message exceeds max replication size/.test(e.details ?? ""));
      const session = env.client.publishAsync();
      session.send({ stream: "ing-big-api", value: big, correlationId: "big", ackPolicy: "LEADER" });
      const first = await within(session.responses.next(), 5000, "PublishAsync response");
      session.cancel();
      assert.equal(first.value?.correlationId, "big");
      assert.equal(first.value?.asyncError?.code, "BAD_REQUEST");
      const meta = (await env.client.fetchPartitionMetadata("ing-big-api", 0))["metadata"] as { newestOffset: string };
      assert.equal(meta.newestOffset, "-1");
    });
  });
}
