// Publish, PublishAsync and PublishToSubject through the gRPC server against a scripted broker
// that acks over a real (embedded) NATS server from its own connection, as a partition leader does.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { status as Status } from "@grpc/grpc-js";
import { connect, type Msg, type NatsConnection } from "nats";
import type { ApiRequest, ApiResponse, SubscribeRequest } from "../../src/core/broker/api-types.js";
import { err, ok, type Result } from "../../src/core/errors.js";
import type { BrokerService, SubscriptionHandle, SubscriptionSink } from "../../src/io/broker-service.js";
import { AckError, AckPolicy } from "../../src/io/wire/api-types.js";
import { encodeAckEnvelope, parsePublishPayload } from "../../src/io/wire/envelope.js";
import { startGrpcFixture, rejection, type GrpcFixture } from "../../jepsen-like/grpc-fixture.js";
import { type ApiClient, type PublishResponse } from "../../jepsen-like/grpc-test-client.js";

type Publish = Extract<ApiRequest, { kind: "publish" }>;
const TS = 1_712_345_678_901_234_567n;
const enc = new TextEncoder();

/** A broker whose publish answers and acks each test scripts; acks leave on another connection. */
class FakeBroker implements BrokerService {
  readonly serverId = "fake-1";
  readonly namespace = "unit-ns";
  readonly publishes: Publish[] = [];
  /** The core's answer to a publish. */
  answer: (r: Publish) => Result<ApiResponse> = (r) => ok({ kind: "published", ackInbox: r.ackInbox, subject: r.stream });
  /** What to ack (undefined: no ack) and after how long. */
  ackOf: (r: Publish, n: number) => { ackError: number; delayMs: number } | undefined = () => ({ ackError: AckError.OK, delayMs: 0 });
  constructor(readonly nats: NatsConnection, private readonly ackConnection: NatsConnection) {}
  request(request: ApiRequest): Promise<Result<ApiResponse>> {
    if (request.kind !== "publish") return Promise.resolve(err("Internal", `unexpected ${request.kind}`));
    const n = this.publishes.push(request) - 1;
    const answer = this.answer(request);
    const ack = answer.ok && request.ackPolicy !== "NONE" ? this.ackOf(request, n) : undefined;
    if (ack !== undefined) setTimeout(() => this.sendAck(request, n, ack.ackError), ack.delayMs);
    return Promise.resolve(answer);
  }
  subscribe(_r: SubscribeRequest, _s: SubscriptionSink): Promise<Result<SubscriptionHandle>> {
    return Promise.resolve(err("Internal", "not scripted"));
  }
  sendAck(r: Publish, n: number, ackError: number): void {
    this.ackConnection.publish(r.ackInbox, encodeAckEnvelope({
      stream: r.stream, partitionSubject: `${r.stream}.subj`, msgSubject: `${r.stream}.subj`,
      offset: ackError === AckError.OK ? n : 0, ackInbox: r.ackInbox, correlationId: r.correlationId,
      ackPolicy: r.ackPolicy === "ALL" ? 1 : 0, receptionTimestamp: TS, commitTimestamp: TS + 1n, ackError,
    }));
  }
}

let leaderNc: NatsConnection;
let broker: FakeBroker;
let client: ApiClient;

let fixture: GrpcFixture<FakeBroker>;

before(async () => {
  fixture = await startGrpcFixture(async (c, n) => {
    leaderNc = await connect({ servers: `127.0.0.1:${n.port}`, reconnect: false });
    return new FakeBroker(c, leaderNc);
  });
  ({ broker, client } = fixture);
});

after(async () => {
  await leaderNc.close();
  await fixture.close();
});

function reset(): void {
  broker.publishes.length = 0;
  broker.answer = (r) => ok({ kind: "published", ackInbox: r.ackInbox, subject: r.stream });
  broker.ackOf = () => ({ ackError: AckError.OK, delayMs: 0 });
}

test("Publish without a deadline returns at once with no ack; the request maps field for field", async () => {
  reset();
  const r = await client.publish({
    stream: "orders", partition: 1, key: Buffer.from("k"), value: Buffer.from("v"), headers: { h: Buffer.from("x") },
    correlationId: "c1", ackPolicy: "ALL", expectedOffset: "17",
  });
  assert.equal(r.ack, null);
  assert.equal(broker.publishes.length, 1);
  const p = broker.publishes[0]!;
  assert.match(p.ackInbox, /^unit-ns\.ack\.[A-Za-z0-9]{22}$/);
  assert.deepEqual({ ...p, ackInbox: "" }, {
    kind: "publish", stream: "orders", partition: 1, key: Buffer.from("k"), value: Buffer.from("v"),
    headers: [["h", Buffer.from("x")]], ackInbox: "", correlationId: "c1", ackPolicy: "ALL", expectedOffset: 17,
  });
});

test("Publish with a deadline waits for the ack from the inbox and returns it exactly", async () => {
  reset();
  broker.ackOf = () => ({ ackError: AckError.OK, delayMs: 30 });
  const r = await client.publish({ stream: "orders", value: Buffer.from("v"), correlationId: "c2" }, { timeoutMs: 3000 });
  assert.ok(r.ack !== null);
  assert.equal(r.ack.stream, "orders");
  assert.equal(r.ack.offset, "0");
  assert.equal(r.ack.correlationId, "c2");
  assert.equal(r.ack.ackInbox, broker.publishes[0]!.ackInbox);
  assert.equal(r.ack.receptionTimestamp, TS.toString());
  assert.equal(r.ack.commitTimestamp, (TS + 1n).toString());
  assert.equal(r.ack.ackError, "OK");
});

test("Publish uses the client's ackInbox when given, and returns at once for AckPolicy NONE", async () => {
  reset();
  const r = await client.publish({ stream: "orders", value: Buffer.from("v"), ackInbox: "my.inbox.1" }, { timeoutMs: 3000 });
  assert.equal(r.ack?.ackInbox, "my.inbox.1");
  broker.ackOf = () => assert.fail("NONE must not be acked");
  const none = await client.publish({ stream: "orders", value: Buffer.from("v"), ackPolicy: "NONE" }, { timeoutMs: 3000 });
  assert.equal(none.ack, null);
});

test("Publish with a deadline and no ack ends DEADLINE_EXCEEDED", async () => {
  reset();
  broker.ackOf = () => undefined;
  const started = Date.now();
  const e = await rejection(client.publish({ stream: "orders", value: Buffer.from("v") }, { timeoutMs: 300 }));
  assert.equal(e.code, Status.DEADLINE_EXCEEDED);
  assert.ok(Date.now() - started >= 250);
});

test("Publish ack errors map to Liftbridge's statuses and messages", async () => {
  const cases: [number, Status, string][] = [
    [AckError.INCORRECT_OFFSET, Status.UNKNOWN, "incorrect expected offset"],
    [AckError.TOO_LARGE, Status.INVALID_ARGUMENT, "message exceeds max replication size"],
    [AckError.ENCRYPTION, Status.INTERNAL, "encryption failed on partition"],
    [AckError.UNKNOWN, Status.UNKNOWN, "unknown error"],
  ];
  for (const [ackError, code, details] of cases) {
    reset();
    broker.ackOf = () => ({ ackError, delayMs: 0 });
    const e = await rejection(client.publish({ stream: "orders", value: Buffer.from("v") }, { timeoutMs: 3000 }));
    assert.deepEqual([e.code, e.details], [code, details]);
  }
});

test("Publish precondition failures from the core map to statuses (with or without a deadline)", async () => {
  const cases: [Result<ApiResponse>, Status, string][] = [
    [err("InvalidArgument", "no stream provided"), Status.INVALID_ARGUMENT, "no stream provided"],
    [err("StreamNotFound", "no such stream: x"), Status.NOT_FOUND, "no such stream: x"],
    [err("PartitionNotFound", "no such partition: 4"), Status.NOT_FOUND, "no such partition: 4"],
    [err("ReadonlyPartition", "readonly partition: 0"), Status.FAILED_PRECONDITION, "readonly partition: 0"],
  ];
  for (const [answer, code, details] of cases) {
    for (const options of [{}, { timeoutMs: 3000 }]) {
      reset();
      broker.answer = () => answer;
      const e = await rejection(client.publish({ stream: "x", value: Buffer.from("v") }, options));
      assert.deepEqual([e.code, e.details], [code, details]);
    }
  }
});

async function collect(responses: AsyncIterableIterator<PublishResponse, undefined>): Promise<PublishResponse[]> {
  const out: PublishResponse[] = [];
  for await (const r of responses) out.push(r);
  return out;
}

test("PublishAsync: one inbox per stream, acks by correlationId, errors as asyncError, the stream goes on", async () => {
  reset();
  broker.answer = (r) => (r.stream === "missing" ? err("StreamNotFound", "no such stream: missing") : ok({ kind: "published", ackInbox: r.ackInbox, subject: r.stream }));
  broker.ackOf = (r) => ({ ackError: r.correlationId === "bad-offset" ? AckError.INCORRECT_OFFSET : AckError.OK, delayMs: 5 });
  const session = client.publishAsync();
  session.send({ stream: "orders", value: Buffer.from("1"), correlationId: "a", ackInbox: "ignored.inbox" });
  session.send({ stream: "missing", value: Buffer.from("2"), correlationId: "b" });
  session.send({ stream: "orders", value: Buffer.from("3"), correlationId: "bad-offset", expectedOffset: "5" });
  session.send({ stream: "orders", value: Buffer.from("4"), correlationId: "none", ackPolicy: "NONE" });
  session.send({ stream: "orders", value: Buffer.from("5"), correlationId: "e" });
  session.end();
  const responses = await collect(session.responses);
  const byId = new Map(responses.map((r) => [r.correlationId, r]));
  assert.deepEqual([...byId.keys()].sort(), ["a", "b", "bad-offset", "e"]);
  assert.equal(responses.length, 4);
  assert.equal(byId.get("a")!.ack?.correlationId, "a");
  assert.equal(byId.get("a")!.asyncError, null);
  assert.equal(byId.get("e")!.ack?.offset, "4");
  assert.deepEqual(byId.get("b")!.asyncError, { code: "NOT_FOUND", message: "no such stream: missing" });
  assert.equal(byId.get("b")!.ack?.correlationId, ""); // an empty Ack, as Liftbridge sends
  assert.deepEqual(byId.get("bad-offset")!.asyncError, { code: "INCORRECT_OFFSET", message: "incorrect expected offset" });
  const inboxes = new Set(broker.publishes.map((p) => p.ackInbox));
  assert.equal(inboxes.size, 1);
  assert.match([...inboxes][0]!, /^unit-ns\.ack\./);
  assert.equal(broker.publishes.length, 5);
  assert.deepEqual(broker.publishes.map((p) => p.correlationId), ["a", "b", "bad-offset", "none", "e"]);
});

test("PublishAsync: after the client half-closes, in-flight acks still arrive, then the call ends", async () => {
  reset();
  broker.ackOf = () => ({ ackError: AckError.OK, delayMs: 300 });
  const session = client.publishAsync();
  session.send({ stream: "orders", value: Buffer.from("late"), correlationId: "late" });
  session.end();
  const started = Date.now();
  const responses = await collect(session.responses);
  assert.deepEqual(responses.map((r) => r.correlationId), ["late"]);
  assert.ok(Date.now() - started >= 250);
});

test("PublishAsync: thousands of messages on one stream, each acked once, in send order", async () => {
  reset();
  const N = 5000;
  const session = client.publishAsync();
  const started = Date.now();
  for (let i = 0; i < N; i++) {
    if (!session.send({ stream: "orders", value: Buffer.from(`m${i}`), correlationId: String(i) })) await session.drained();
  }
  session.end();
  const responses = await collect(session.responses);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(responses.length, N);
  assert.equal(new Set(responses.map((r) => r.correlationId)).size, N);
  assert.ok(responses.every((r) => r.asyncError === null && r.ack?.correlationId === r.correlationId));
  assert.deepEqual(broker.publishes.map((p) => p.correlationId), Array.from({ length: N }, (_, i) => String(i)));
  console.log(`# PublishAsync through the fake broker: ${Math.round(N / seconds)} msgs/s`);
});

async function nextMsg(messages: AsyncIterator<Msg>): Promise<Msg> {
  const r = await messages.next();
  if (r.done === true) throw new Error("subscription closed");
  return r.value;
}

test("PublishToSubject publishes an envelope on NATS and returns the first ack", async () => {
  const sub = leaderNc.subscribe("plain.subject", { max: 2 })[Symbol.asyncIterator]();
  await leaderNc.flush();
  const pending = client.publishToSubject({
    subject: "plain.subject", key: Buffer.from("k"), value: Buffer.from("v"), headers: { a: Buffer.from("b") }, correlationId: "p1", ackPolicy: "LEADER",
  }, { timeoutMs: 3000 });
  const msg = await nextMsg(sub);
  const parsed = parsePublishPayload(msg.data);
  assert.equal(parsed.kind, "envelope");
  assert.ok(parsed.kind === "envelope");
  const m = parsed.message;
  assert.deepEqual([Buffer.from(m.key).toString(), Buffer.from(m.value).toString(), m.correlationId, m.ackPolicy], ["k", "v", "p1", AckPolicy.LEADER]);
  assert.equal(Buffer.from(m.headers.get("a") ?? enc.encode("missing")).toString(), "b");
  assert.match(m.ackInbox, /^unit-ns\.ack\./);
  leaderNc.publish(m.ackInbox, encodeAckEnvelope({ stream: "any", correlationId: "p1", offset: 9, ackInbox: m.ackInbox, ackError: AckError.TOO_LARGE }));
  const r = await pending;
  // PublishToSubject hands back the first ack as it is, errors included.
  assert.deepEqual([r.ack?.stream, r.ack?.offset, r.ack?.correlationId, r.ack?.ackError], ["any", "9", "p1", "TOO_LARGE"]);

  const noDeadline = await client.publishToSubject({ subject: "plain.subject", value: Buffer.from("w") });
  assert.equal(noDeadline.ack, null);
  const second = parsePublishPayload((await nextMsg(sub)).data);
  assert.ok(second.kind === "envelope");
  assert.equal(Buffer.from(second.message.value).toString(), "w");
});

test("PublishToSubject rejects an invalid subject", async () => {
  for (const subject of ["", "a b", "foo.*"]) {
    const e = await rejection(client.publishToSubject({ subject, value: Buffer.from("v") }));
    assert.equal(e.code, Status.INVALID_ARGUMENT, subject);
    assert.match(e.details, /^invalid subject: /);
  }
});
