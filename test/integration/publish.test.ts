// Integration: the gRPC publish RPCs against a real broker: Publish (with and without a deadline),
// PublishAsync (correlation ids, async errors), PublishToSubject, each ack policy, and the
// preconditions (readonly, paused streams resumed, wildcard subjects, unknown streams).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { status as Status } from "@grpc/grpc-js";
import type { PublishResponse, ReceivedAck } from "../../jepsen-like/grpc-test-client.js";
import { natsModes, startEnv, subscribeRead, waitForHighWatermark, within, type IntegrationEnv } from "../../jepsen-like/integration-fixture.js";
import { rejection as rejects } from "../../jepsen-like/grpc-fixture.js";

const T = { timeout: 20_000 };
const HOOK = { timeout: 60_000 };
const POLICIES = ["LEADER", "ALL", "NONE"] as const;

function assertAck(ack: ReceivedAck | null, expected: { stream: string; subject: string; offset: number; correlationId: string; ackPolicy: string }): void {
  assert.ok(ack !== null, "an ack");
  assert.equal(ack.stream, expected.stream);
  assert.equal(ack.partitionSubject, expected.subject);
  assert.equal(ack.msgSubject, expected.subject);
  assert.equal(ack.offset, String(expected.offset));
  assert.equal(ack.correlationId, expected.correlationId);
  assert.equal(ack.ackPolicy, expected.ackPolicy);
  assert.equal(ack.ackError, "OK");
  assert.ok(ack.ackInbox.length > 0);
  assert.ok(BigInt(ack.receptionTimestamp) > 0n);
  assert.ok(BigInt(ack.commitTimestamp) >= BigInt(ack.receptionTimestamp));
}

for (const mode of natsModes()) {
  describe(`publish RPCs (${mode.name})`, { skip: mode.skip }, () => {
    let env: IntegrationEnv;
    before(async () => { env = await startEnv(mode); }, HOOK);
    after(async () => { await env?.stop(); }, HOOK);

    const values = async (stream: string, partition = 0) =>
      (await subscribeRead(env.client, { stream, partition, startPosition: "EARLIEST", stopPosition: "STOP_LATEST" })).messages;

    test("Publish with a deadline waits for the ack under LEADER and ALL, not under NONE", T, async () => {
      await env.client.createStream({ name: "pub-dl", subject: "pub.dl", partitions: 2 });
      let next = 0;
      for (const ackPolicy of POLICIES) {
        const r = await env.client.publish({
          stream: "pub-dl", key: Buffer.from(`k-${ackPolicy}`), value: Buffer.from(`v-${ackPolicy}`),
          headers: { h: Buffer.from([1, 2, 3]) }, correlationId: `c-${ackPolicy}`, ackPolicy,
        }, { timeoutMs: 5000 });
        if (ackPolicy === "NONE") assert.equal(r.ack, null);
        else assertAck(r.ack, { stream: "pub-dl", subject: "pub.dl", offset: next, correlationId: `c-${ackPolicy}`, ackPolicy });
        next++;
      }
      // A given ack inbox is used (the ack also goes there over NATS).
      const inbox = "pub.my.inbox";
      const natsAcks = env.nc.subscribe(inbox, { max: 1 });
      await env.nc.flush();
      const r = await env.client.publish({ stream: "pub-dl", partition: 1, value: Buffer.from("p1"), ackInbox: inbox, correlationId: "p1", ackPolicy: "ALL" }, { timeoutMs: 5000 });
      assert.equal(r.ack?.ackInbox, inbox);
      assert.equal(r.ack?.msgSubject, "pub.dl.1");
      assert.equal(r.ack?.offset, "0");
      const viaNats = await within((async () => { for await (const m of natsAcks) return m.data.length; return 0; })(), 5000, "ack on the given inbox");
      assert.ok(viaNats > 0);
      await waitForHighWatermark(env.client, "pub-dl", 0, 2);
      const got = await values("pub-dl");
      assert.deepEqual(got.map((m) => [m.offset, m.key.toString(), m.value.toString(), [...(m.headers["h"] ?? [])]]), [
        ["0", "k-LEADER", "v-LEADER", [1, 2, 3]], ["1", "k-ALL", "v-ALL", [1, 2, 3]], ["2", "k-NONE", "v-NONE", [1, 2, 3]],
      ]);
      assert.equal(got[0]!.subject, "pub.dl");
    });

    test("Publish without a deadline returns at once with no ack; the message is stored", T, async () => {
      await env.client.createStream({ name: "pub-nodl", subject: "pub.nodl" });
      for (const ackPolicy of POLICIES) {
        const r = await env.client.publish({ stream: "pub-nodl", value: Buffer.from(ackPolicy), ackPolicy });
        assert.equal(r.ack, null);
      }
      await waitForHighWatermark(env.client, "pub-nodl", 0, 2);
      assert.deepEqual((await values("pub-nodl")).map((m) => m.value.toString()), [...POLICIES]);
    });

    test("PublishAsync answers by correlation id for LEADER and ALL, nothing for NONE, errors in-band", T, async () => {
      await env.client.createStream({ name: "pub-async", subject: "pub.async" });
      const session = env.client.publishAsync();
      const sent: string[] = [];
      for (let i = 0; i < 30; i++) {
        const ackPolicy = POLICIES[i % 3]!;
        sent.push(`a${i}`);
        session.send({ stream: "pub-async", value: Buffer.from(`m${i}`), correlationId: `a${i}`, ackPolicy });
      }
      session.send({ stream: "pub-nope", value: Buffer.from("x"), correlationId: "missing" });
      session.send({ stream: "pub-async", partition: 3, value: Buffer.from("x"), correlationId: "no-partition" });
      session.send({ stream: "pub-async", value: Buffer.from("last"), correlationId: "last", ackPolicy: "ALL" });
      const responses: PublishResponse[] = [];
      await within((async () => {
        for await (const r of session.responses) {
          responses.push(r);
          if (responses.length === 23) break;
        }
      })(), 10_000, "PublishAsync responses");
      session.end();
      session.cancel();
      const byId = new Map(responses.map((r) => [r.correlationId, r]));
      assert.equal(byId.size, 23);
      for (let i = 0; i < 30; i++) {
        const r = byId.get(`a${i}`);
        if (i % 3 === 2) {
          assert.equal(r, undefined, `no response for NONE a${i}`);
          continue;
        }
        assert.equal(r?.asyncError, null);
        assertAck(r.ack, { stream: "pub-async", subject: "pub.async", offset: i, correlationId: `a${i}`, ackPolicy: POLICIES[i % 3]! });
      }
      assert.equal(byId.get("missing")?.asyncError?.code, "NOT_FOUND");
      assert.match(byId.get("missing")!.asyncError!.message, /no such stream: pub-nope/);
      assert.equal(byId.get("no-partition")?.asyncError?.code, "NOT_FOUND");
      assert.equal(byId.get("last")?.ack?.offset, "30");
      // Acks of one stream share one inbox.
      assert.equal(new Set(responses.filter((r) => r.asyncError === null).map((r) => r.ack!.ackInbox)).size, 1);
      await waitForHighWatermark(env.client, "pub-async", 0, 30);
      const got = await values("pub-async");
      assert.deepEqual(got.map((m) => m.value.toString()), [...sent.map((_, i) => `m${i}`), "last"]);
    });

    test("PublishToSubject publishes to any subject and returns the first ack", T, async () => {
      await env.client.createStream({ name: "pub-subj", subject: "pub.subj", partitions: 2 });
      let offset = 0;
      for (const ackPolicy of POLICIES) {
        const r = await env.client.publishToSubject({
          subject: "pub.subj.1", key: Buffer.from("k"), value: Buffer.from(ackPolicy), headers: { x: Buffer.from("y") },
          correlationId: `s-${ackPolicy}`, ackPolicy,
        }, { timeoutMs: 5000 });
        if (ackPolicy === "NONE") {
          assert.equal(r.ack, null);
        } else {
          assert.ok(r.ack);
          assert.equal(r.ack.stream, "pub-subj");
          assert.equal(r.ack.msgSubject, "pub.subj.1");
          assert.equal(r.ack.partitionSubject, "pub.subj");
          assert.equal(r.ack.offset, String(offset));
          assert.equal(r.ack.correlationId, `s-${ackPolicy}`);
          assert.equal(r.ack.ackPolicy, ackPolicy);
        }
        offset++;
      }
      const noDeadline = await env.client.publishToSubject({ subject: "pub.subj.1", value: Buffer.from("nodl"), ackPolicy: "LEADER" });
      assert.equal(noDeadline.ack, null);
      await waitForHighWatermark(env.client, "pub-subj", 1, 3);
      const got = await values("pub-subj", 1);
      assert.deepEqual(got.map((m) => m.value.toString()), [...POLICIES, "nodl"]);
      assert.equal(got[0]!.headers["x"]?.toString(), "y");
      assert.equal(got[0]!.key.toString(), "k");
    });

    test("Publish preconditions: readonly, unknown stream/partition, no stream, wildcard subject", T, async () => {
      await env.client.createStream({ name: "pub-ro", subject: "pub.ro" });
      await env.client.setStreamReadonly({ name: "pub-ro", readonly: true });
      const ro = await rejects(env.client.publish({ stream: "pub-ro", value: Buffer.from("x"), ackPolicy: "LEADER" }, { timeoutMs: 3000 }));
      assert.equal(ro.code, Status.FAILED_PRECONDITION);
      assert.match(ro.details, /readonly partition: 0/);
      const unknown = await rejects(env.client.publish({ stream: "pub-nope", value: Buffer.from("x") }, { timeoutMs: 3000 }));
      assert.equal(unknown.code, Status.NOT_FOUND);
      assert.match(unknown.details, /no such stream: pub-nope/);
      const part = await rejects(env.client.publish({ stream: "pub-ro", partition: 4, value: Buffer.from("x") }, { timeoutMs: 3000 }));
      assert.equal(part.code, Status.NOT_FOUND);
      assert.match(part.details, /no such partition: 4/);
      const none = await rejects(env.client.publish({ value: Buffer.from("x") }, { timeoutMs: 3000 }));
      assert.equal(none.code, Status.INVALID_ARGUMENT);
      assert.match(none.details, /no stream provided/);
      await env.client.createStream({ name: "pub-wild", subject: "pub.wild.*" });
      const wild = await rejects(env.client.publish({ stream: "pub-wild", value: Buffer.from("x"), ackPolicy: "LEADER" }, { timeoutMs: 3000 }));
      assert.equal(wild.code, Status.INVALID_ARGUMENT);
    });

    test("Publish resumes a paused stream", T, async () => {
      await env.client.createStream({ name: "pub-paused", subject: "pub.paused", partitions: 2 });
      await env.client.publish({ stream: "pub-paused", value: Buffer.from("before"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      await env.client.pauseStream({ name: "pub-paused" });
      // Liftbridge: a paused partition has no running leader to answer FetchPartitionMetadata.
      assert.equal((await rejects(env.client.fetchPartitionMetadata("pub-paused", 0))).code, Status.FAILED_PRECONDITION);
      const r = await env.client.publish({ stream: "pub-paused", value: Buffer.from("after"), correlationId: "resume", ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assertAck(r.ack, { stream: "pub-paused", subject: "pub.paused", offset: 1, correlationId: "resume", ackPolicy: "LEADER" });
      const p0 = (await env.client.fetchPartitionMetadata("pub-paused", 0))["metadata"] as { paused: boolean };
      assert.equal(p0.paused, false);
      assert.deepEqual((await values("pub-paused")).map((m) => m.value.toString()), ["before", "after"]);
    });
    test("optimistic concurrency: a wrong expectedOffset is Unknown \"incorrect expected offset\"", T, async () => {
      await env.client.createStream({ name: "pub-occ", subject: "pub.occ", optimisticConcurrencyControl: { value: true } });
      const first = await env.client.publish({ stream: "pub-occ", value: Buffer.from("a"), expectedOffset: "0", ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assert.equal(first.ack?.offset, "0");
      const wrong = await rejects(env.client.publish({ stream: "pub-occ", value: Buffer.from("b"), expectedOffset: "5", ackPolicy: "LEADER" }, { timeoutMs: 5000 }));
      assert.equal(wrong.code, Status.UNKNOWN);
      assert.match(wrong.details, /incorrect expected offset/);
      const none = await rejects(env.client.publish({ stream: "pub-occ", value: Buffer.from("c"), expectedOffset: "1", ackPolicy: "NONE" }, { timeoutMs: 5000 }));
      assert.equal(none.code, Status.INVALID_ARGUMENT);
      const second = await env.client.publish({ stream: "pub-occ", value: Buffer.from("d"), expectedOffset: "1", ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assert.equal(second.ack?.offset, "1");
      assert.deepEqual((await values("pub-occ")).map((m) => m.value.toString()), ["a", "d"]);
    });
  });
}
