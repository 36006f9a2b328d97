// Subscribe through the gRPC server against a scripted BrokerService: request mapping, the empty
// handshake first, record fields, terminal statuses, cancellation, and flow control (ready()
// once per chunk, at most two chunks buffered, a client that stops reading stalls the broker).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import type { NatsConnection } from "nats";
import type { ApiRequest, ApiResponse, SubscribeRequest } from "../../src/core/broker/api-types.js";
import { crc32c } from "../../src/core/crc32c.js";
import { encodeStoredRecords, type RecordToStore } from "../../src/core/log/stored-records.js";
import { err, ok, type OperatingError, type Result } from "../../src/core/errors.js";
import type { Offset } from "../../src/core/types.js";
import type { BrokerService, SubscriptionHandle, SubscriptionSink } from "../../src/io/broker-service.js";
import { startGrpcFixture, type GrpcFixture } from "../../jepsen-like/grpc-fixture.js";
import { MAX_CHUNKS_IN_FLIGHT } from "../../src/io/grpc/subscribe-handler.js";
import { type ApiClient, type SubscribedMessage } from "../../jepsen-like/grpc-test-client.js";

const enc = new TextEncoder();
const TS = 1_712_345_678_901_234_567n;

/** A scripted subscription: chunks handed out one per ready(), then an end. */
class ScriptedSubscription implements SubscriptionHandle {
  readonly startOffset = 0 as Offset;
  readyCalls = 0;
  outstanding = 0;
  maxOutstanding = 0;
  chunksSent = 0;
  cancelled = false;
  constructor(
    private readonly sink: SubscriptionSink,
    private readonly chunks: RecordToStore[][],
    private readonly endWith: OperatingError | undefined,
  ) {}
  /** Sends the next chunk (or the end); the driver calls this once at start and after each ready(). */
  next(): void {
    if (this.cancelled) return;
    const chunk = this.chunks[this.chunksSent];
    if (chunk === undefined) {
      if (this.endWith !== undefined) this.sink.end(this.endWith);
      return;
    }
    this.chunksSent++;
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    this.sink.records("orders", 2, encodeStoredRecords(chunk, crc32c));
  }
  ready(): void {
    this.readyCalls++;
    this.outstanding--;
    assert.ok(this.outstanding >= 0, "ready() called more often than chunks were sent");
    setImmediate(() => this.next());
  }
  cancel(): void {
    this.cancelled = true;
  }
}

class FakeBroker implements BrokerService {
  readonly serverId = "fake-1";
  readonly namespace = "unit-ns";
  readonly subscribeRequests: SubscribeRequest[] = [];
  script: (r: SubscribeRequest, sink: SubscriptionSink) => Result<ScriptedSubscription> = () => err("Internal", "not scripted");
  last: ScriptedSubscription | undefined;
  constructor(readonly nats: NatsConnection) {}
  request(_r: ApiRequest): Promise<Result<ApiResponse>> {
    return Promise.resolve(ok({ kind: "done" }));
  }
  subscribe(request: SubscribeRequest, sink: SubscriptionSink): Promise<Result<SubscriptionHandle>> {
    this.subscribeRequests.push(request);
    const result = this.script(request, sink);
    if (result.ok) {
      this.last = result.value;
      setImmediate(() => result.value.next());
    }
    return Promise.resolve(result);
  }
}

let broker: FakeBroker;
let client: ApiClient;

let fixture: GrpcFixture<FakeBroker>;

before(async () => {
  fixture = await startGrpcFixture((c) => new FakeBroker(c));
  ({ broker, client } = fixture);
});

after(() => fixture.close());

function record(offset: number, valueSize = 8): RecordToStore {
  return {
    offset,
    timestampNs: TS + BigInt(offset),
    leaderEpoch: 0,
    key: offset % 2 === 0 ? enc.encode(`k${offset}`) : null,
    value: new Uint8Array(valueSize).fill(offset % 251),
    headers: [["subject", enc.encode("orders.in.2")], ["reply", enc.encode("_INBOX.r")], ["x", enc.encode(`h${offset}`)]],
  };
}

/** Reads the whole call: the messages and the status it ended with. */
async function drain(messages: AsyncIterableIterator<SubscribedMessage, undefined>): Promise<{ got: SubscribedMessage[]; error: ServiceError | undefined }> {
  const got: SubscribedMessage[] = [];
  try {
    for await (const m of messages) got.push(m);
  } catch (e) {
    return { got, error: e as ServiceError };
  }
  return { got, error: undefined };
}

test("Subscribe maps the request: positions by name, int64 offsets and exact timestamps", async () => {
  broker.subscribeRequests.length = 0;
  broker.script = () => err("PartitionNotFound", "No such partition");
  const call = client.subscribe({
    stream: "orders", partition: 2, startPosition: "OFFSET", startOffset: "12", startTimestamp: TS.toString(),
    stopPosition: "STOP_TIMESTAMP", stopOffset: "99", stopTimestamp: (TS + 5n).toString(), resume: true, readISRReplica: true,
  });
  await drain(call.messages);
  assert.deepEqual(broker.subscribeRequests, [{
    stream: "orders", partition: 2, startPosition: "OFFSET", startOffset: 12, startTimestampNs: TS,
    stopPosition: "STOP_TIMESTAMP", stopOffset: 99, stopTimestampNs: TS + 5n, resume: true, readIsrReplica: true,
  }]);
});

test("Subscribe errors before the subscription exists: status and message, no handshake", async () => {
  const cases: [Result<ScriptedSubscription>, Status, string][] = [
    [err("PartitionNotFound", "No such partition"), Status.NOT_FOUND, "No such partition"],
    [err("NotLeader", "Server not partition leader"), Status.FAILED_PRECONDITION, "Server not partition leader"],
    [err("InvalidArgument", "bad start"), Status.INVALID_ARGUMENT, "bad start"],
  ];
  for (const [answer, code, details] of cases) {
    broker.script = () => answer;
    const { got, error } = await drain(client.subscribe({ stream: "orders", partition: 2 }).messages);
    assert.deepEqual(got, []);
    assert.deepEqual([error?.code, error?.details], [code, details]);
  }
});

test("Subscribe rejects unknown positions and groups without a consumer id before asking the broker", async () => {
  broker.subscribeRequests.length = 0;
  const cases: [Record<string, unknown>, Status, string][] = [
    [{ startPosition: 9 }, Status.INVALID_ARGUMENT, "Unknown StartPosition 9"],
    [{ stopPosition: 7 }, Status.INVALID_ARGUMENT, "Unknown StopPosition 7"],
    [{ consumer: { groupId: "g", consumerId: "" } }, Status.INVALID_ARGUMENT, "Consumer id cannot be empty when group id is provided"],
    [{ consumer: { groupId: "g", consumerId: "c" } }, Status.UNIMPLEMENTED, "consumer groups are not implemented yet"],
  ];
  for (const [extra, code, details] of cases) {
    const { error } = await drain(client.subscribe({ stream: "orders", ...extra }).messages);
    assert.deepEqual([error?.code, error?.details], [code, details]);
  }
  assert.equal(broker.subscribeRequests.length, 0);
});

test("Subscribe: empty handshake first, then every record field, then the end status", async () => {
  const records = [record(0), record(1), record(2)];
  broker.script = (_r, sink) => ok(new ScriptedSubscription(sink, [records.slice(0, 2), records.slice(2)], { code: "StopOffsetReached", message: "Stop offset reached" }));
  const { got, error } = await drain(client.subscribe({ stream: "orders", partition: 2 }).messages);
  assert.deepEqual([error?.code, error?.details], [Status.RESOURCE_EXHAUSTED, "Stop offset reached"]);
  assert.equal(got.length, 4);
  const handshake = got[0]!;
  assert.equal(handshake.offset, "0");
  assert.equal(handshake.stream, "");
  assert.equal(handshake.value.length, 0);
  for (let i = 0; i < 3; i++) {
    const m = got[i + 1]!;
    assert.equal(m.offset, String(i));
    assert.equal(m.timestamp, (TS + BigInt(i)).toString());
    assert.deepEqual(m.key, Buffer.from(i % 2 === 0 ? `k${i}` : ""));
    assert.deepEqual(m.value, Buffer.from(records[i]!.value!));
    assert.equal(m.stream, "orders");
    assert.equal(m.partition, 2);
    assert.equal(m.subject, "orders.in.2");
    assert.equal(m.replySubject, "_INBOX.r");
    assert.deepEqual(m.headers, { subject: Buffer.from("orders.in.2"), reply: Buffer.from("_INBOX.r"), x: Buffer.from(`h${i}`) });
    assert.deepEqual([m.ackInbox, m.correlationId, m.ackPolicy], ["", "", "LEADER"]);
  }
  assert.equal(broker.last!.readyCalls, 2);
});

test("Subscribe end statuses map as in Liftbridge", async () => {
  const ends: [OperatingError, Status][] = [
    [{ code: "EndOfReadonlyPartition", message: "End of readonly partition" }, Status.RESOURCE_EXHAUSTED],
    [{ code: "StreamEmpty", message: "Stream is empty" }, Status.RESOURCE_EXHAUSTED],
    [{ code: "StreamNotFound", message: "stream deleted" }, Status.NOT_FOUND],
    [{ code: "PartitionPaused", message: "partition paused" }, Status.FAILED_PRECONDITION],
    [{ code: "Internal", message: "read failed" }, Status.INTERNAL],
    [{ code: "Unavailable", message: "Server shutting down" }, Status.UNAVAILABLE],
  ];
  for (const [end, code] of ends) {
    broker.script = (_r, sink) => ok(new ScriptedSubscription(sink, [[record(0)]], end));
    const { got, error } = await drain(client.subscribe({ stream: "orders", partition: 2 }).messages);
    assert.equal(got.length, 2, end.code); // handshake + the record written before the end
    assert.deepEqual([error?.code, error?.details], [code, end.message]);
  }
});

test("Subscribe flow control: ready() once per chunk, at most MAX_CHUNKS_IN_FLIGHT buffered, a non-reading client stalls", async () => {
  const CHUNKS = 40;
  const PER_CHUNK = 50;
  const chunks: RecordToStore[][] = [];
  for (let c = 0; c < CHUNKS; c++) chunks.push(Array.from({ length: PER_CHUNK }, (_, i) => record(c * PER_CHUNK + i, 2048)));
  broker.script = (_r, sink) => ok(new ScriptedSubscription(sink, chunks, { code: "StopOffsetReached", message: "Stop offset reached" }));
  const call = client.subscribe({ stream: "orders", partition: 2 });
  // Read the handshake, then stop reading: HTTP/2 flow control must stop the writes, and so the
  // broker's chunks (4 MB in all). (grpc-js clients buffer without limit until the first read.)
  assert.equal((await call.messages.next()).value?.value.length, 0);
  await new Promise((r) => setTimeout(r, 300));
  const stalledAt = broker.last!.chunksSent;
  assert.ok(stalledAt <= MAX_CHUNKS_IN_FLIGHT, `the broker sent ${stalledAt} of ${CHUNKS} chunks to a client that stopped reading`);
  const { got, error } = await drain(call.messages);
  const sub = broker.last!;
  assert.deepEqual([error?.code, error?.details], [Status.RESOURCE_EXHAUSTED, "Stop offset reached"]);
  assert.equal(got.length, CHUNKS * PER_CHUNK);
  got.forEach((m, i) => assert.equal(m.offset, String(i)));
  assert.equal(sub.chunksSent, CHUNKS);
  assert.equal(sub.readyCalls, CHUNKS);
  assert.equal(sub.maxOutstanding, 1);
});

test("Subscribe: a client cancel reaches handle.cancel()", async () => {
  broker.script = (_r, sink) => ok(new ScriptedSubscription(sink, [[record(0)]], undefined));
  const call = client.subscribe({ stream: "orders", partition: 2 });
  const first = await call.messages.next();
  assert.equal(first.done, false);
  const second = await call.messages.next();
  assert.equal(second.value?.offset, "0");
  call.cancel();
  const { error } = await drain(call.messages);
  assert.equal(error?.code, Status.CANCELLED);
  const deadline = Date.now() + 2000;
  while (!broker.last!.cancelled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(broker.last!.cancelled, true);
});
