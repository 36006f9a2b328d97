// NATS ingest, acks and subscriptions through the broker core (spec §1, §3).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import type { AckPolicy, PublishEnvelope } from "../../src/core/broker/wire-codec.js";
import { decodeAckForSim } from "../../src/io/broker-wire-codec.js";
import { BrokerHarness, testBrokerConfig } from "../../sim/testing/broker-harness.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const createS: ApiRequest = { kind: "createStream", name: "s", subject: "s", group: "", replicationFactor: 1, partitions: 1, overrides: {} };

function envelope(h: BrokerHarness, value: string, ackPolicy: AckPolicy, over: Partial<PublishEnvelope> = {}): Uint8Array {
  const e: PublishEnvelope = { key: utf8(`k-${value}`), value: utf8(value), headers: [["h", utf8("v")]], ackInbox: "acks", correlationId: value, ackPolicy, expectedOffset: -1, ...over };
  return h.codec.encodePublish(e, "s", "s");
}

function acks(h: BrokerHarness) {
  return h.sent.filter((s) => s.subject === "acks").map((s) => decodeAckForSim(s.data));
}

test("raw payloads are stored verbatim with subject and reply headers; no ack", () => {
  const h = new BrokerHarness();
  h.request(createS);
  h.publish("s", utf8("plain"), "reply.to");
  const { sub } = h.subscribe({ stream: "s" });
  assert.equal(sub.records.length, 1);
  const r = sub.records[0]!;
  assert.equal(r.offset, 0);
  assert.equal(r.key, null);
  assert.equal(text(r.value), "plain");
  assert.deepEqual(r.headers.map(([k, v]) => [k, text(v)]), [["subject", "s"], ["reply", "reply.to"]]);
  assert.deepEqual(h.sent, []);
});

test("enveloped publishes: LEADER and ALL are acked with offsets, NONE is not", () => {
  const h = new BrokerHarness();
  h.request(createS);
  h.publish("s", envelope(h, "a", "LEADER"));
  h.publish("s", envelope(h, "b", "ALL"));
  h.publish("s", envelope(h, "c", "NONE"));
  assert.deepEqual(acks(h), [
    { correlationId: "a", offset: 0, ackError: "OK" },
    { correlationId: "b", offset: 1, ackError: "OK" },
  ]);
  const { sub } = h.subscribe({ stream: "s" });
  assert.deepEqual(sub.records.map((r) => [r.offset, text(r.key), text(r.value)]), [[0, "k-a", "a"], [1, "k-b", "b"], [2, "k-c", "c"]]);
  assert.deepEqual(sub.records[0]!.headers.map(([k]) => k), ["h", "subject", "reply"]);
});

test("a corrupt envelope (bad CRC, truncated) is stored raw and never crashes", () => {
  const h = new BrokerHarness();
  h.request(createS);
  const good = envelope(h, "x", "LEADER");
  const truncated = good.subarray(0, 10);
  const withCrcFlag = Uint8Array.from(good);
  withCrcFlag[6] = 1; // claims a CRC with an 8-byte header: not a valid envelope
  h.publish("s", truncated);
  h.publish("s", withCrcFlag);
  const { sub } = h.subscribe({ stream: "s" });
  assert.deepEqual(sub.records.map((r) => r.value?.length), [truncated.length, withCrcFlag.length]);
  assert.deepEqual(acks(h), []);
});

test("an ack inbox that is no NATS publish subject gets no ack; the message is stored", () => {
  const h = new BrokerHarness();
  h.request(createS);
  const bad = ["x 0\r\nPUB y 2\r\nhi", "a b", "a..b", "a.*", "a.>", ".a", "a\tb"];
  for (const [i, ackInbox] of bad.entries()) h.publish("s", envelope(h, `bad${i}`, "LEADER", { ackInbox }));
  h.publish("s", envelope(h, "good", "LEADER"));
  assert.deepEqual(h.sent.map((s) => s.subject), ["acks"]);
  assert.deepEqual(acks(h), [{ correlationId: "good", offset: bad.length, ackError: "OK" }]);
  assert.equal(h.subscribe({ stream: "s" }).sub.records.length, bad.length + 1);
});

test("oversized messages get TOO_LARGE and are not stored", () => {
  const h = new BrokerHarness(testBrokerConfig({ replicationMaxBytes: 64 }));
  h.request(createS);
  h.publish("s", envelope(h, "y".repeat(100), "LEADER"));
  assert.deepEqual(acks(h).map((a) => a?.ackError), ["TOO_LARGE"]);
  assert.equal(h.subscribe({ stream: "s" }).sub.records.length, 0);
});

test("optimistic concurrency: a wrong expected offset gets INCORRECT_OFFSET", () => {
  const h = new BrokerHarness();
  h.request({ ...createS, overrides: { optimisticConcurrencyControl: true } });
  h.publish("s", envelope(h, "a", "LEADER", { expectedOffset: 0 }));
  h.publish("s", envelope(h, "b", "LEADER", { expectedOffset: 5 }));
  h.publish("s", envelope(h, "c", "LEADER", { expectedOffset: -1 }));
  assert.deepEqual(acks(h).map((a) => [a?.correlationId, a?.ackError]), [["a", "OK"], ["b", "INCORRECT_OFFSET"], ["c", "OK"]]);
});

test("subscribe start positions and stop positions", () => {
  const h = new BrokerHarness();
  h.request(createS);
  for (let i = 0; i < 5; i++) {
    h.nowMs += 10;
    h.publish("s", utf8(`m${i}`));
  }
  const offsets = (req: Parameters<BrokerHarness["subscribe"]>[0]) => {
    const { sub, result } = h.subscribe(req);
    return result.ok ? { offsets: sub.records.map((r) => r.offset), end: sub.ended?.message } : { error: result.error };
  };
  assert.deepEqual(offsets({ stream: "s", startPosition: "EARLIEST" }), { offsets: [0, 1, 2, 3, 4], end: undefined });
  assert.deepEqual(offsets({ stream: "s", startPosition: "OFFSET", startOffset: 3 }), { offsets: [3, 4], end: undefined });
  assert.deepEqual(offsets({ stream: "s", startPosition: "LATEST" }), { offsets: [4], end: undefined });
  assert.deepEqual(offsets({ stream: "s", startPosition: "NEW_ONLY" }), { offsets: [], end: undefined });
  // Timestamps: record i was stamped at 1.7e18 + (i+1)*10 ms.
  const ts = (ms: number) => 1_700_000_000_000_000_000n + BigInt(ms) * 1_000_000n;
  assert.deepEqual(offsets({ stream: "s", startPosition: "TIMESTAMP", startTimestampNs: ts(25) }), { offsets: [2, 3, 4], end: undefined });
  assert.deepEqual(offsets({ stream: "s", stopPosition: "STOP_OFFSET", stopOffset: 1 }), { offsets: [0, 1], end: "Stop offset reached" });
  assert.deepEqual(offsets({ stream: "s", startPosition: "OFFSET", startOffset: 2, stopPosition: "STOP_LATEST" }), { offsets: [2, 3, 4], end: "Stop offset reached" });
  assert.deepEqual(offsets({ stream: "s", stopPosition: "STOP_TIMESTAMP", stopTimestampNs: ts(30) }), { offsets: [0, 1, 2], end: "Stop offset reached" });
  assert.deepEqual(offsets({ stream: "s", startPosition: "OFFSET", startOffset: 3, stopPosition: "STOP_OFFSET", stopOffset: 1 }), { error: { code: "InvalidArgument", message: "Stop offset is before start offset: 1 < 3" } });
  assert.deepEqual(offsets({ stream: "s", partition: 3 }), { error: { code: "PartitionNotFound", message: "No such partition" } });
  h.request({ ...createS, name: "empty", subject: "e" });
  assert.deepEqual(offsets({ stream: "empty", stopPosition: "STOP_LATEST" }), { error: { code: "StreamEmpty", message: "Stream is empty" } });
});

test("subscriptions get one bounded chunk at a time and new records as they commit", () => {
  const h = new BrokerHarness(testBrokerConfig({ subscriberBatchMaxBytes: 200 }));
  h.request(createS);
  for (let i = 0; i < 20; i++) h.publish("s", utf8(`message-${i}`));
  const { sub } = h.subscribe({ stream: "s" });
  const first = sub.records.length;
  assert.ok(first > 0 && first < 20, `one chunk, not everything (${first})`);
  h.publish("s", utf8("more"));
  assert.equal(sub.records.length, first, "nothing more until the shell is ready");
  h.drain(sub);
  assert.deepEqual(sub.records.map((r) => r.offset), Array.from({ length: 21 }, (_, i) => i));
  h.publish("s", utf8("live"));
  h.ready(sub);
  assert.equal(text(sub.records.at(-1)!.value), "live");
});
