// Integration: limits checked at the door, on the real process. Stream names, subjects and ack
// inboxes at and just past the file system's and NATS's limits (UTF-8 bytes); a Publish at
// max_payload - 1, max_payload and max_payload + 1 bytes (envelope included); and a data
// directory whose metadata holds streams an older version saved past those limits.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { status as Status } from "@grpc/grpc-js";
import {
  natsModes, startEnv, subscribeRead, syncBrokerNats, waitForHighWatermark, within, type IntegrationEnv,
} from "../../jepsen-like/integration-fixture.js";
import { rejection } from "../../jepsen-like/grpc-fixture.js";
import { latestLeaderEpoch, singleNodeCreateStream, writeSingleNodeMetadata } from "../../jepsen-like/single-node-layout.js";
import type { MetadataOp } from "../../src/core/metadata/metadata-op.js";
import { join } from "node:path";
import { encodePublishEnvelope } from "../../src/io/wire/envelope.js";
import { MAX_STREAM_NAME_BYTES } from "../../src/core/broker/create-stream-request.js";
import { DEFAULT_MAX_CONTROL_LINE } from "../../src/core/nats/control-line.js";
import { AckPolicy } from "../../src/io/wire/api-types.js";

const T = { timeout: 30_000 };
const HOOK = { timeout: 60_000 };
const enc = new TextEncoder();
/** Longest subject whose `SUB <subject> <sid>\r\n` fits (the sid takes up to 20 digits). */
const MAX_SUBJECT_BYTES = DEFAULT_MAX_CONTROL_LINE - "SUB ".length - 1 - 20 - 2;

/** A subject of exactly `bytes` UTF-8 bytes: dotted tokens, some of them multi-byte. */
function subjectOf(bytes: number, seed: string): string {
  const head = `${seed}.é`;
  const token = ".tok€n"; // 8 bytes
  const headBytes = enc.encode(head).length;
  const tokens = Math.max(0, Math.floor((bytes - headBytes - 10) / 8));
  const s = head + token.repeat(tokens) + "x".repeat(bytes - headBytes - tokens * 8);
  assert.equal(enc.encode(s).length, bytes);
  return s;
}

/** A name of exactly `bytes` UTF-8 bytes, mostly 2-byte characters (so .length understates it). */
function nameOf(bytes: number): string {
  const s = "ü".repeat(Math.floor(bytes / 2)) + (bytes % 2 === 1 ? "n" : "");
  assert.equal(enc.encode(s).length, bytes);
  return s;
}

for (const mode of natsModes()) {
  describe(`limits at the door (${mode.name})`, { skip: mode.skip }, () => {
    let env: IntegrationEnv;
    before(async () => {
      env = await startEnv(mode);
    }, HOOK);
    after(async () => { await env?.stop(); }, HOOK);

    test("stream names: the directory-name limit in UTF-8 bytes", T, async () => {
      await env.client.createStream({ name: nameOf(MAX_STREAM_NAME_BYTES), subject: "lim.name.ok" }, { timeoutMs: 5000 });
      for (const bytes of [MAX_STREAM_NAME_BYTES + 1, 255, 256, 1000]) {
        const e = await rejection(env.client.createStream({ name: nameOf(bytes), subject: `lim.name.${bytes}` }, { timeoutMs: 5000 }));
        assert.equal(e.code, Status.INVALID_ARGUMENT, `${bytes} bytes`);
        assert.match(e.details, new RegExp(`Stream name is ${bytes} bytes, more than the ${MAX_STREAM_NAME_BYTES} allowed`));
      }
      const meta = await env.client.fetchMetadata({});
      const names = (meta["streamMetadata"] as Array<{ name: string }>).map((s) => s.name);
      assert.deepEqual(names.filter((n) => n.startsWith("ü")).map((n) => enc.encode(n).length), [MAX_STREAM_NAME_BYTES]);
      // The longest name works end to end: its directory exists, it takes and serves messages.
      await env.client.publish({ stream: nameOf(MAX_STREAM_NAME_BYTES), value: Buffer.from("m"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      const read = await subscribeRead(env.client, { stream: nameOf(MAX_STREAM_NAME_BYTES), startPosition: "EARLIEST", stopPosition: "STOP_LATEST" });
      assert.deepEqual(read.messages.map((m) => m.value.toString()), ["m"]);
    });

    test("subjects: the NATS control line of the longest partition subject, group included", T, async () => {
      const fits = subjectOf(MAX_SUBJECT_BYTES, "lim.s1");
      await env.client.createStream({ name: "lim-subject-max", subject: fits }, { timeoutMs: 5000 });
      const over = await rejection(env.client.createStream({ name: "lim-subject-over", subject: subjectOf(MAX_SUBJECT_BYTES + 1, "lim.s2") }, { timeoutMs: 5000 }));
      assert.equal(over.code, Status.INVALID_ARGUMENT);
      assert.match(over.details, /max_control_line of 4096/);
      // Three partitions: `<subject>.2` must fit too; a group takes its own bytes plus a blank.
      const three = subjectOf(MAX_SUBJECT_BYTES - 2, "lim.s3");
      await env.client.createStream({ name: "lim-subject-p3", subject: three, partitions: 3 }, { timeoutMs: 5000 });
      const p3 = await rejection(env.client.createStream({ name: "lim-subject-p3-over", subject: subjectOf(MAX_SUBJECT_BYTES - 1, "lim.s4"), partitions: 3 }, { timeoutMs: 5000 }));
      assert.match(p3.details, /Subject of partition 2 is/);
      await env.client.createStream({ name: "lim-subject-group", subject: subjectOf(MAX_SUBJECT_BYTES - 4, "lim.s5"), group: "grp" }, { timeoutMs: 5000 });
      const grouped = await rejection(env.client.createStream({ name: "lim-subject-group-over", subject: subjectOf(MAX_SUBJECT_BYTES - 3, "lim.s6"), group: "grp" }, { timeoutMs: 5000 }));
      assert.equal(grouped.code, Status.INVALID_ARGUMENT);
      const ws = await rejection(env.client.createStream({ name: "lim-group-ws", subject: "lim.g", group: "a b" }, { timeoutMs: 5000 }));
      assert.match(ws.details, /Group is invalid/);
      // The refused streams were not saved; the accepted ones ingest over NATS (their SUB worked).
      const names = ((await env.client.fetchMetadata({}))["streamMetadata"] as Array<{ name: string }>).map((s) => s.name);
      assert.deepEqual(names.filter((n) => n.startsWith("lim-subject") || n.startsWith("lim-group")).sort(), ["lim-subject-group", "lim-subject-max", "lim-subject-p3"]);
      await syncBrokerNats(env);
      env.nc.publish(fits, enc.encode("raw-0"));
      env.nc.publish(`${three}.2`, enc.encode("raw-2"));
      await env.nc.flush();
      await waitForHighWatermark(env.client, "lim-subject-max", 0, 0);
      await waitForHighWatermark(env.client, "lim-subject-p3", 2, 0);
    });

    test("ack inboxes: refused past the control line, and Publish keeps working for everyone", T, async () => {
      await env.client.createStream({ name: "lim-inbox", subject: "lim.inbox" }, { timeoutMs: 5000 });
      const longest = subjectOf(MAX_SUBJECT_BYTES, "lim.ack");
      const acked = await env.client.publish({ stream: "lim-inbox", value: Buffer.from("a"), ackInbox: longest, ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assert.equal(acked.ack?.offset, "0");
      for (const bytes of [MAX_SUBJECT_BYTES + 1, 5000, 100_000]) {
        const inbox = subjectOf(bytes, "lim.ack");
        const sync = await rejection(env.client.publish({ stream: "lim-inbox", value: Buffer.from("x"), ackInbox: inbox, ackPolicy: "LEADER" }, { timeoutMs: 5000 }));
        assert.equal(sync.code, Status.INVALID_ARGUMENT, `${bytes}`);
        assert.match(sync.details, /ack inbox is \d+ bytes.*max_control_line/);
        const noDeadline = await rejection(env.client.publish({ stream: "lim-inbox", value: Buffer.from("x"), ackInbox: inbox, ackPolicy: "LEADER" }));
        assert.equal(noDeadline.code, Status.INVALID_ARGUMENT, `${bytes} without a deadline`);
        // Through NATS: stored, no ack sent (an oversize PUB would cost the broker its connection).
        env.nc.publish("lim.inbox", encodePublishEnvelope({ value: enc.encode(`nats-${bytes}`), ackInbox: inbox, correlationId: "c", ackPolicy: AckPolicy.LEADER }));
      }
      await env.nc.flush();
      await waitForHighWatermark(env.client, "lim-inbox", 0, 3);
      const after = await env.client.publish({ stream: "lim-inbox", value: Buffer.from("b"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assert.equal(after.ack?.offset, "4");
      const read = await subscribeRead(env.client, { stream: "lim-inbox", startPosition: "EARLIEST", stopPosition: "STOP_LATEST" });
      assert.deepEqual(read.messages.map((m) => m.value.toString()), ["a", `nats-${MAX_SUBJECT_BYTES + 1}`, "nats-5000", "nats-100000", "b"]);
      const big = await rejection(env.client.publish({ stream: "lim-inbox", value: Buffer.from("x"), correlationId: "c".repeat(5000), ackPolicy: "LEADER" }, { timeoutMs: 5000 }));
      assert.match(big.details, /correlationId is 5000 bytes, more than the 4096 allowed/);
    });

    test("an oversize Publish is refused at once: max_payload - 1 and max_payload pass, + 1 fails", T, async () => {
      await env.client.createStream({ name: "lim-size", subject: "lim.size" }, { timeoutMs: 5000 });
      const maxPayload = env.nc.info!.max_payload;
      const fields = { stream: "lim-size", subject: "lim.size", ackInbox: "lim.size.acks", correlationId: "c", ackPolicy: AckPolicy.LEADER };
      const overhead = encodePublishEnvelope({ ...fields, value: new Uint8Array(maxPayload - 64) }).length - (maxPayload - 64);
      const valueFor = (envelopeBytes: number): Buffer => {
        const value = Buffer.alloc(envelopeBytes - overhead, envelopeBytes % 251);
        assert.equal(encodePublishEnvelope({ ...fields, value }).length, envelopeBytes);
        return value;
      };
      for (const [i, bytes] of [maxPayload - 1, maxPayload].entries()) {
        const r = await env.client.publish({ stream: "lim-size", value: valueFor(bytes), ackInbox: fields.ackInbox, correlationId: "c", ackPolicy: "LEADER" }, { timeoutMs: 10_000 });
        assert.equal(r.ack?.offset, String(i));
      }
      const started = Date.now();
      const e = await rejection(env.client.publish({ stream: "lim-size", value: valueFor(maxPayload + 1), ackInbox: fields.ackInbox, correlationId: "c", ackPolicy: "LEADER" }, { timeoutMs: 10_000 }));
      assert.equal(e.code, Status.UNKNOWN);
      assert.match(e.details, new RegExp(`^failed to publish to NATS: nats: maximum payload exceeded .*${maxPayload + 1} bytes.*max_payload is ${maxPayload}`));
      assert.ok(Date.now() - started < 5000, "answered at once, not at the deadline");
      const toSubject = await rejection(env.client.publishToSubject({ subject: "lim.size", value: Buffer.alloc(maxPayload), ackPolicy: "LEADER" }, { timeoutMs: 10_000 }));
      assert.equal(toSubject.code, Status.UNKNOWN);
      // PublishAsync: an error answer for that correlationId, and the stream goes on.
      const call = env.client.publishAsync();
      call.send({ stream: "lim-size", value: valueFor(maxPayload + 1), correlationId: "big", ackPolicy: "LEADER" });
      call.send({ stream: "lim-size", value: Buffer.from("small"), correlationId: "small", ackPolicy: "LEADER" });
      call.end();
      const answers: Array<{ correlationId: string; code?: string; offset?: string | undefined }> = [];
      for await (const r of call.responses) {
        answers.push({ correlationId: r.correlationId, ...(r.asyncError ? { code: r.asyncError.code } : { offset: r.ack?.offset }) });
      }
      assert.deepEqual(answers.sort((a, b) => a.correlationId.localeCompare(b.correlationId)), [
        { correlationId: "big", code: "INTERNAL" },
        { correlationId: "small", offset: "2" },
      ]);
    });

    test("Liftbridge's answers: paused FetchPartitionMetadata, new-only Subscribe to a readonly partition", T, async () => {
      await env.client.createStream({ name: "lim-answers", subject: "lim.answers" }, { timeoutMs: 5000 });
      for (const v of ["a", "b", "c"]) await env.client.publish({ stream: "lim-answers", value: Buffer.from(v), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      await env.client.setStreamReadonly({ name: "lim-answers", readonly: true }, { timeoutMs: 5000 });
      const newOnly = await subscribeRead(env.client, { stream: "lim-answers", startPosition: "NEW_ONLY" });
      assert.equal(newOnly.handshake, undefined, "refused up front, before the handshake");
      assert.equal(newOnly.error?.code, Status.INVALID_ARGUMENT);
      assert.equal(newOnly.error?.details, "Stop offset is before start offset: 2 < 3");
      const latest = await subscribeRead(env.client, { stream: "lim-answers", startPosition: "LATEST" });
      assert.deepEqual(latest.messages.map((m) => m.value.toString()), ["c"]);
      assert.equal(latest.error?.code, Status.RESOURCE_EXHAUSTED);
      await env.client.pauseStream({ name: "lim-answers" }, { timeoutMs: 5000 });
      const paused = await rejection(env.client.fetchPartitionMetadata("lim-answers", 0));
      assert.equal(paused.code, Status.FAILED_PRECONDITION);
      assert.equal(paused.details, "The request should be sent to partition leader");
      const unknown = await rejection(env.client.pauseStream({ name: "lim-nope" }, { timeoutMs: 5000 }));
      assert.deepEqual([unknown.code, unknown.details], [Status.NOT_FOUND, "stream not found"]);
    });

    test("streams an older version saved past the limits: not served, logged, the rest keeps working", T, async () => {
      await env.client.createStream({ name: "lim-good", subject: "lim.good" }, { timeoutMs: 5000 });
      await env.client.publish({ stream: "lim-good", value: Buffer.from("before"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      const meta = await env.client.fetchMetadata({});
      const serverId = (meta["brokers"] as Array<{ id: string }>)[0]!.id;
      const streams = (meta["streamMetadata"] as Array<{ name: string; subject: string; partitions: Record<string, unknown> }>);
      await env.broker.stop("SIGTERM", 10_000);
      // An older (single-node) version's metadata log: today's other streams, lim-good at the index
      // its log's leader epoch names (a partition's epoch is its createStream's index; fillers
      // created and deleted pad up to it), then two streams past the limits.
      const others = streams.filter((st) => st.name !== "lim-good").map((st) => singleNodeCreateStream(serverId, st.name, st.subject, Object.keys(st.partitions).length));
      const ops: MetadataOp[] = [...others];
      const epoch = latestLeaderEpoch(join(env.broker.dataDir, "streams", "lim-good", "0"));
      for (let i = 0; ops.length < epoch - 2; i++) ops.push(singleNodeCreateStream(serverId, `lim-filler-${i}`, `lim.filler.${i}`), { op: "deleteStream", name: `lim-filler-${i}` });
      if (ops.length < epoch - 1) ops.push({ op: "deleteStream", name: "lim-filler-none" });
      assert.equal(ops.length, epoch - 1);
      writeSingleNodeMetadata(env.broker.dataDir, [
        ...ops, singleNodeCreateStream(serverId, "lim-good", "lim.good"),
        singleNodeCreateStream(serverId, "lim-old-subject", subjectOf(5000, "lim.old")),
        singleNodeCreateStream(serverId, "o".repeat(300), "lim.old.name"),
      ]);
      const restartedAt = Date.now();
      await env.restart();
      assert.ok(Date.now() - restartedAt < 15_000);
      await syncBrokerNats(env);
      env.nc.publish("lim.good", enc.encode("after"));
      await env.nc.flush();
      await waitForHighWatermark(env.client, "lim-good", 0, 1);
      for (const name of ["lim-old-subject", "o".repeat(300)]) {
        const fpm = await rejection(env.client.fetchPartitionMetadata(name, 0));
        assert.equal(fpm.code, Status.FAILED_PRECONDITION, name.slice(0, 20));
        const pub = await rejection(env.client.publish({ stream: name, value: Buffer.from("x"), ackPolicy: "LEADER" }, { timeoutMs: 3000 }));
        assert.equal(pub.code, Status.INTERNAL);
        assert.match(pub.details, /is not served/);
      }
      const log = env.broker.output();
      assert.equal(log.split("\n").filter((l) => l.includes("stream not served")).length, 2, "one error per refused stream");
      assert.doesNotMatch(log, /re-established|Maximum Control Line/);
      // The operator can delete them (no directory to remove for the long name) and carry on.
      await env.client.deleteStream("o".repeat(300), { timeoutMs: 5000 });
      await env.client.deleteStream("lim-old-subject", { timeoutMs: 5000 });
      const r = await within(env.client.publish({ stream: "lim-good", value: Buffer.from("end"), ackPolicy: "LEADER" }, { timeoutMs: 5000 }), 6000, "publish");
      assert.equal(r.ack?.offset, "2");
      assert.doesNotThrow(() => process.kill(env.broker.pid, 0));
    });
  });
}
