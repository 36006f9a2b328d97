// The broker core's limits at the door (unit level): UTF-8 byte lengths, the directory-name limit of
// stream names, NATS's control line for subjects, groups and ack inboxes, max_payload for API
// publishes, streams saved past the limits by an older version, and Liftbridge's answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { MAX_STREAM_NAME_BYTES, streamDirNameProblem, unservableStreamReason } from "../../src/core/broker/create-stream-request.js";
import { DEFAULT_MAX_CONTROL_LINE, fitsControlLine, subscribeLineBytes, utf8ByteLength } from "../../src/core/nats/control-line.js";
import { BrokerHarness, testBrokerConfig } from "../../sim/testing/broker-harness.js";
import { legacyCreateStream, writeLegacyMetadataLog } from "../../sim/testing/legacy-metadata.js";

const enc = new TextEncoder();
const create = (over: Partial<Extract<ApiRequest, { kind: "createStream" }>> = {}): ApiRequest => ({
  kind: "createStream", name: "s", subject: "s", group: "", replicationFactor: 0, partitions: 0, overrides: {}, ...over,
});
const publish = (over: Partial<Extract<ApiRequest, { kind: "publish" }>> = {}): ApiRequest => ({
  kind: "publish", stream: "s", partition: 0, key: null, value: new Uint8Array(1), headers: [], ackInbox: "", correlationId: "",
  ackPolicy: "LEADER", expectedOffset: -1, ...over,
});
/** Longest subject whose SUB line (with a 20-digit sid) fits max_control_line. */
const MAX_SUBJECT = DEFAULT_MAX_CONTROL_LINE - 27;

test("utf8ByteLength agrees with TextEncoder on any string", () => {
  fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => utf8ByteLength(s) === enc.encode(s).length));
  fc.assert(fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }), (s) => utf8ByteLength(s) === enc.encode(s).length));
});

test("fitsControlLine is exactly the SUB line bound, fast path included", () => {
  for (const n of [0, 1, MAX_SUBJECT - 1, MAX_SUBJECT, MAX_SUBJECT + 1, 10_000]) {
    assert.equal(fitsControlLine("a".repeat(n), DEFAULT_MAX_CONTROL_LINE), n <= MAX_SUBJECT, `${n}`);
  }
  // Multi-byte: 1400 "€" are 4200 bytes, although only 1400 UTF-16 units.
  assert.equal(fitsControlLine("€".repeat(1400), DEFAULT_MAX_CONTROL_LINE), false);
  assert.equal(subscribeLineBytes("ab", "q"), "SUB ab q ".length + 20 + 2);
});

test("stream names: bytes, not characters, against the directory-name limit", () => {
  assert.equal(streamDirNameProblem("n".repeat(MAX_STREAM_NAME_BYTES)), undefined);
  assert.match(streamDirNameProblem("n".repeat(MAX_STREAM_NAME_BYTES + 1)) ?? "", /is 224 bytes, more than the 223 allowed/);
  // 112 two-byte characters: 112 UTF-16 units but 224 bytes.
  assert.match(streamDirNameProblem("ü".repeat(112)) ?? "", /224 bytes/);
  for (const bad of [".", "..", "a/b", "a\\b", "a\u0000b"]) assert.equal(streamDirNameProblem(bad), "Stream name is invalid");
  const h = new BrokerHarness();
  assert.match(h.request(create({ name: "😀".repeat(56) })).ok ? "" : "refused", /refused/); // 224 bytes
  assert.equal(h.request(create({ name: "😀".repeat(55) })).ok, true); // 220 bytes
});

test("CreateStream: the longest partition subject and the group must fit a NATS control line; nothing refused is saved", () => {
  const h = new BrokerHarness();
  const s = (n: number): string => `a.${"b".repeat(n - 2)}`;
  assert.equal(h.request(create({ name: "max", subject: s(MAX_SUBJECT) })).ok, true);
  const over = h.request(create({ name: "over", subject: s(MAX_SUBJECT + 1) }));
  assert.ok(!over.ok && over.error.code === "InvalidArgument" && /max_control_line of 4096/.test(over.error.message));
  // 10 partitions: "<subject>.9" is two bytes longer.
  assert.equal(h.request(create({ name: "p10", subject: s(MAX_SUBJECT - 2), partitions: 10 })).ok, true);
  const p10 = h.request(create({ name: "p10-over", subject: s(MAX_SUBJECT - 1), partitions: 10 }));
  assert.ok(!p10.ok && /Subject of partition 9 is/.test(p10.error.message));
  const group = h.request(create({ name: "g", subject: s(MAX_SUBJECT - 3), group: "grp" }));
  assert.equal(group.ok, false);
  assert.equal(h.request(create({ name: "g-ok", subject: s(MAX_SUBJECT - 4), group: "grp" })).ok, true);
  const ws = h.request(create({ name: "ws", subject: "w", group: "a\tb" }));
  assert.ok(!ws.ok && /Group is invalid/.test(ws.error.message));
  // Liftbridge's order: an invalid subject is reported before a reserved or too-long name.
  const order = h.request(create({ name: "n".repeat(300), subject: "a b" }));
  assert.ok(!order.ok && order.error.message === "Subject is invalid");
  const md = h.request({ kind: "fetchMetadata", streams: [] });
  assert.ok(md.ok && md.value.kind === "metadata");
  assert.deepEqual(md.value.streams.map((x) => x.name).sort(), ["g-ok", "max", "p10"]);
  // Every SUB the broker sent fits.
  for (const sub of h.natsSubs.values()) assert.ok(subscribeLineBytes(sub.subject, sub.queue) <= DEFAULT_MAX_CONTROL_LINE);
});

test("Publish: ack inbox and correlation id limits, then max_payload with the envelope", () => {
  const h = new BrokerHarness(testBrokerConfig({ natsMaxPayload: 1024 * 1024 }));
  assert.equal(h.request(create()).ok, true);
  const inbox = (n: number): string => `i.${"x".repeat(n - 2)}`;
  assert.equal(h.request(publish({ ackInbox: inbox(MAX_SUBJECT) })).ok, true);
  const long = h.request(publish({ ackInbox: inbox(MAX_SUBJECT + 1) }));
  assert.ok(!long.ok && long.error.code === "InvalidArgument" && /^ack inbox is 4070 bytes/.test(long.error.message));
  const corr = h.request(publish({ correlationId: "é".repeat(2049) }));
  assert.ok(!corr.ok && /correlationId is 4098 bytes, more than the 4096 allowed/.test(corr.error.message));
  // A small max_payload: find the value size at which the envelope is exactly max_payload.
  const small = new BrokerHarness(testBrokerConfig({ natsMaxPayload: 1000 }));
  assert.equal(small.request(create()).ok, true);
  let n = 900;
  while (small.request(publish({ value: new Uint8Array(n + 1) })).ok) n++;
  const sent = small.sent.filter((x) => x.subject === "s").map((x) => x.data.length);
  assert.equal(Math.max(...sent), 1000, "the largest envelope sent is exactly max_payload");
  const tooBig = small.request(publish({ value: new Uint8Array(n + 1) }));
  assert.ok(!tooBig.ok && tooBig.error.code === "PayloadTooLarge");
  assert.match(tooBig.error.message, /^failed to publish to NATS: nats: maximum payload exceeded \(the message is 1001 bytes/);
});

test("acks to an inbox past the control line are not sent (a NATS envelope's inbox)", () => {
  const h = new BrokerHarness();
  assert.equal(h.request(create()).ok, true);
  h.deliverOwnPublishes();
  h.sent.length = 0;
  const { codec } = h;
  const envelope = (ackInbox: string): Uint8Array => codec.encodePublish({ key: null, value: enc.encode("v"), headers: [], ackInbox, correlationId: "c", ackPolicy: "LEADER", expectedOffset: -1 }, "s", "s");
  h.publish("s", envelope(`i.${"x".repeat(MAX_SUBJECT - 2)}`));
  h.publish("s", envelope(`i.${"x".repeat(MAX_SUBJECT - 1)}`));
  assert.deepEqual(h.sent.map((x) => x.subject.length), [MAX_SUBJECT], "only the ack that fits is sent");
});

test("streams saved past the limits by an older version: not opened nor subscribed; the rest serve; delete works", () => {
  // The older version's directory: its metadata log only (no Raft state); the first open migrates it.
  const old = (name: string, subject: string) => legacyCreateStream(name, { subject, creationTimestampNs: "1" });
  const h = new BrokerHarness(testBrokerConfig(), 1, (disk) => {
    writeLegacyMetadataLog(disk, [old("good", "good"), old("n".repeat(300), "old.name"), old("old-subject", `a.${"b".repeat(5000)}`), old("../escape", "old.escape")]);
    disk.mkdir("escape");
    disk.create("escape/keep");
  });
  assert.equal(h.broker.view.metadata.streams.size, 4, "every stream of the old log is in the metadata");
  h.restart();
  assert.deepEqual([...h.natsSubs.values()].map((s) => s.subject), ["good"]);
  assert.equal(unservableStreamReason({ name: "old-subject", subject: `a.${"b".repeat(5000)}`, group: "", partitions: [0] }, DEFAULT_MAX_CONTROL_LINE)?.startsWith("Subject is 5002 bytes"), true);
  for (const name of ["n".repeat(300), "old-subject", "../escape"]) {
    const fpm = h.request({ kind: "fetchPartitionMetadata", stream: name, partition: 0 });
    assert.ok(!fpm.ok && fpm.error.code === "NotLeader", name.slice(0, 10));
    // A name with "/" no version ever accepted: not opened, but Publish is not checked for it.
    if (name !== "../escape") {
      const pub = h.request(publish({ stream: name }));
      assert.ok(!pub.ok && pub.error.code === "Internal" && /is not served/.test(pub.error.message));
    }
    assert.equal(h.request({ kind: "deleteStream", name }).ok, true);
  }
  assert.equal(h.request(publish({ stream: "good" })).ok, true);
  assert.ok(h.disk.stat("escape/keep") !== undefined, "deleting \"../escape\" removed nothing outside streams/");
  assert.ok(h.disk.stat("streams/good/0") !== undefined, "the good stream's data is untouched");
});

test("Liftbridge's answers: paused FetchPartitionMetadata, stop before start, pause of an unknown stream", () => {
  const h = new BrokerHarness();
  assert.equal(h.request(create()).ok, true);
  h.deliverOwnPublishes();
  for (let i = 0; i < 3; i++) h.publish("s", enc.encode(`m${i}`));
  assert.equal(h.request({ kind: "setStreamReadonly", name: "s", partitions: [], readonly: true }).ok, true);
  const newOnly = h.subscribe({ stream: "s", startPosition: "NEW_ONLY" });
  assert.deepEqual(newOnly.result, { ok: false, error: { code: "InvalidArgument", message: "Stop offset is before start offset: 2 < 3" } });
  assert.equal(h.subscribe({ stream: "s", startPosition: "LATEST" }).result.ok, true);
  const negative = h.subscribe({ stream: "s", startPosition: "EARLIEST", stopPosition: "STOP_OFFSET", stopOffset: -5 });
  assert.deepEqual(negative.result, { ok: false, error: { code: "InvalidArgument", message: "Stop offset is before start offset: -5 < 0" } });
  assert.equal(h.request({ kind: "pauseStream", name: "s", partitions: [], resumeAll: false }).ok, true);
  const fpm = h.request({ kind: "fetchPartitionMetadata", stream: "s", partition: 0 });
  assert.deepEqual(fpm, { ok: false, error: { code: "NotLeader", message: "The request should be sent to partition leader" } });
  const unknown = h.request({ kind: "pauseStream", name: "nope", partitions: [], resumeAll: false });
  assert.deepEqual(unknown, { ok: false, error: { code: "StreamNotFound", message: "stream not found" } });
});
