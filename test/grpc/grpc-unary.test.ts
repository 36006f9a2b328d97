// The gRPC server's unary RPCs against a scripted BrokerService: request mapping, response
// encoding (int64 exact), status codes and messages, UNIMPLEMENTED RPCs, and the health service.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import type { NatsConnection } from "nats";
import type { ApiRequest, ApiResponse, PartitionMetadataView, SubscribeRequest } from "../../src/core/broker/api-types.js";
import { err, ok, type ErrorCode, type Result } from "../../src/core/errors.js";
import type { NodeId, Offset, TimestampNs } from "../../src/core/types.js";
import type { BrokerService, SubscriptionHandle, SubscriptionSink } from "../../src/io/broker-service.js";
import { startGrpcServer } from "../../src/io/grpc/grpc-server.js";
import { startGrpcFixture, rejection, type GrpcFixture } from "../../jepsen-like/grpc-fixture.js";
import { createApiClient, type ApiClient } from "../../jepsen-like/grpc-test-client.js";

/** A BrokerService whose answers each test scripts. */
class FakeBroker implements BrokerService {
  readonly serverId = "fake-1";
  readonly namespace = "unit-ns";
  readonly requests: ApiRequest[] = [];
  answer: (r: ApiRequest) => Result<ApiResponse> = () => ok({ kind: "done" });
  constructor(readonly nats: NatsConnection) {}
  request(request: ApiRequest): Promise<Result<ApiResponse>> {
    this.requests.push(request);
    return Promise.resolve(this.answer(request));
  }
  subscribe(_r: SubscribeRequest, _s: SubscriptionSink): Promise<Result<SubscriptionHandle>> {
    return Promise.resolve(err("Internal", "not scripted"));
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

const TS = 1_712_345_678_901_234_567n; // beyond 2^53: must arrive exactly

function partitionView(id: number): PartitionMetadataView {
  return {
    id, leader: "fake-1" as NodeId, replicas: ["fake-1" as NodeId], isr: ["fake-1" as NodeId],
    highWatermark: 41 as Offset, newestOffset: 42 as Offset, paused: false, readonly: true,
    messagesReceivedTimestamps: { firstNs: TS, latestNs: TS + 1n },
    pauseTimestamps: { firstNs: 0n, latestNs: 0n },
    readonlyTimestamps: { firstNs: TS + 2n, latestNs: TS + 3n },
  };
}

test("CreateStream maps every Nullable override (durations in ms) and leaves absent ones out", async () => {
  broker.requests.length = 0;
  await client.createStream({
    name: "orders", subject: "orders.in", group: "g", replicationFactor: 0, partitions: 3,
    retentionMaxBytes: { value: "1048576" }, retentionMaxAge: { value: "60000" }, cleanerInterval: { value: "1000" },
    segmentMaxAge: { value: "3600000" }, autoPauseTime: { value: "0" }, compactMaxGoroutines: { value: 4 },
    compactEnabled: { value: false }, optimisticConcurrencyControl: { value: true }, minIsr: { value: 1 }, encryption: { value: false },
  });
  assert.deepEqual(broker.requests, [{
    kind: "createStream", name: "orders", subject: "orders.in", group: "g", replicationFactor: 0, partitions: 3,
    overrides: {
      retentionMaxBytes: 1048576, retentionMaxAgeMs: 60000, cleanerIntervalMs: 1000, segmentMaxAgeMs: 3600000,
      autoPauseTimeMs: 0, compactMaxGoroutines: 4, minIsr: 1, compactEnabled: false, optimisticConcurrencyControl: true, encryption: false,
    },
  }]);
});

test("CreateStream refuses options of unimplemented features with InvalidArgument naming the option", async () => {
  broker.requests.length = 0;
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ encryption: { value: true } }, /^encryption: not supported yet/],
    [{ autoPauseTime: { value: "500" } }, /^autoPauseTime: not supported yet/],
    [{ minIsr: { value: 2 } }, /^minIsr: not supported yet/],
  ];
  for (const [options, expected] of cases) {
    const e = await rejection(client.createStream({ name: "s", subject: "s", ...options }));
    assert.equal(e.code, Status.INVALID_ARGUMENT);
    assert.match(e.details, expected);
  }
  assert.equal(broker.requests.length, 0, "nothing reached the broker");
});

test("CreateStream rejects an int64 override beyond 2^53 instead of rounding it", async () => {
  broker.requests.length = 0;
  const e = await rejection(client.createStream({ name: "s", subject: "s", retentionMaxBytes: { value: "9007199254740993" } }));
  assert.equal(e.code, Status.INVALID_ARGUMENT);
  assert.equal(e.details, "retentionMaxBytes 9007199254740993 is out of range");
  assert.equal(broker.requests.length, 0);
});

test("DeleteStream, PauseStream and SetStreamReadonly map to core requests", async () => {
  broker.requests.length = 0;
  await client.deleteStream("a");
  await client.pauseStream({ name: "b", partitions: [0, 2], resumeAll: true });
  await client.setStreamReadonly({ name: "c", partitions: [], readonly: true });
  assert.deepEqual(broker.requests, [
    { kind: "deleteStream", name: "a" },
    { kind: "pauseStream", name: "b", partitions: [0, 2], resumeAll: true },
    { kind: "setStreamReadonly", name: "c", partitions: [], readonly: true },
  ]);
});

const EXPECTED_CODES: Record<ErrorCode, Status> = {
  InvalidArgument: Status.INVALID_ARGUMENT,
  StreamNotFound: Status.NOT_FOUND,
  StreamExists: Status.ALREADY_EXISTS,
  PartitionNotFound: Status.NOT_FOUND,
  NotLeader: Status.FAILED_PRECONDITION,
  PartitionPaused: Status.FAILED_PRECONDITION,
  ReadonlyPartition: Status.FAILED_PRECONDITION,
  IncorrectOffset: Status.UNKNOWN,
  Unavailable: Status.UNAVAILABLE,
  MessageTooLarge: Status.INVALID_ARGUMENT,
  PayloadTooLarge: Status.UNKNOWN,
  OffsetOutOfRange: Status.INTERNAL,
  EndOfReadonlyPartition: Status.RESOURCE_EXHAUSTED,
  StopOffsetReached: Status.RESOURCE_EXHAUSTED,
  StreamEmpty: Status.RESOURCE_EXHAUSTED,
  CorruptRecord: Status.INTERNAL,
  DiskFull: Status.RESOURCE_EXHAUSTED,
  DiskFailed: Status.INTERNAL,
  Unimplemented: Status.UNIMPLEMENTED,
  Internal: Status.INTERNAL,
};

test("every operating error code maps to its gRPC status, message passed through", async () => {
  for (const [code, expected] of Object.entries(EXPECTED_CODES) as [ErrorCode, Status][]) {
    const message = `message for ${code}`;
    broker.answer = () => err(code, message);
    const e = await rejection(client.deleteStream("x"));
    assert.equal(e.code, expected, code);
    assert.equal(e.details, message, code);
  }
  broker.answer = () => ok({ kind: "done" });
});

test("Liftbridge's messages reach clients verbatim (stream already exists, stream does not exist, partition not found)", async () => {
  broker.answer = () => err("StreamExists", "stream already exists");
  let e = await rejection(client.createStream({ name: "dup", subject: "dup" }));
  assert.deepEqual([e.code, e.details], [Status.ALREADY_EXISTS, "stream already exists"]);
  broker.answer = () => err("StreamNotFound", "stream does not exist");
  e = await rejection(client.deleteStream("nope"));
  assert.deepEqual([e.code, e.details], [Status.NOT_FOUND, "stream does not exist"]);
  broker.answer = () => err("PartitionNotFound", "partition not found");
  e = await rejection(client.fetchPartitionMetadata("s", 9));
  assert.deepEqual([e.code, e.details], [Status.NOT_FOUND, "partition not found"]);
  broker.answer = () => err("NotLeader", "The request should be sent to partition leader");
  e = await rejection(client.fetchPartitionMetadata("s", 0));
  assert.deepEqual([e.code, e.details], [Status.FAILED_PRECONDITION, "The request should be sent to partition leader"]);
  broker.answer = () => ok({ kind: "done" });
});

test("FetchMetadata encodes brokers, streams (partition map, exact ns timestamps) and unknown groups", async () => {
  broker.requests.length = 0;
  broker.answer = () => ok({
    kind: "metadata",
    brokers: [{ id: "fake-1" as NodeId, host: "127.0.0.1", port: 9292, partitionCount: 2, leaderCount: 2 }],
    streams: [
      { name: "orders", subject: "orders.in", error: "OK", partitions: [partitionView(0), partitionView(1)], creationTimestampNs: TS as TimestampNs },
      { name: "ghost", subject: "", error: "UNKNOWN_STREAM", partitions: [], creationTimestampNs: 0n },
    ],
  });
  const m = (await client.fetchMetadata({ streams: ["orders", "ghost"], groups: ["g1"] })) as Record<string, unknown>;
  broker.answer = () => ok({ kind: "done" });
  assert.deepEqual(broker.requests, [{ kind: "fetchMetadata", streams: ["orders", "ghost"] }]);
  assert.deepEqual(m["brokers"], [{ id: "fake-1", host: "127.0.0.1", port: 9292, partitionCount: 2, leaderCount: 2 }]);
  const streams = m["streamMetadata"] as Record<string, unknown>[];
  assert.equal(streams[0]!["creationTimestamp"], TS.toString());
  assert.equal(streams[0]!["error"], "OK");
  assert.equal(streams[1]!["error"], "UNKNOWN_STREAM");
  const partitions = streams[0]!["partitions"] as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(partitions).sort(), ["0", "1"]);
  const p1 = partitions["1"]!;
  assert.equal(p1["id"], 1);
  assert.equal(p1["highWatermark"], "41");
  assert.equal(p1["newestOffset"], "42");
  assert.equal(p1["readonly"], true);
  assert.deepEqual(p1["messagesReceivedTimestamps"], { firstTimestamp: TS.toString(), latestTimestamp: (TS + 1n).toString() });
  assert.deepEqual(p1["pauseTimestamps"], { firstTimestamp: "0", latestTimestamp: "0" });
  assert.deepEqual(m["groupMetadata"], [{ groupId: "g1", error: "UNKNOWN_GROUP", coordinator: "", epoch: "0" }]);
});

test("FetchPartitionMetadata maps the request and encodes the partition", async () => {
  broker.requests.length = 0;
  broker.answer = () => ok({ kind: "partitionMetadata", metadata: partitionView(3) });
  const r = (await client.fetchPartitionMetadata("orders", 3)) as { metadata: Record<string, unknown> };
  broker.answer = () => ok({ kind: "done" });
  assert.deepEqual(broker.requests, [{ kind: "fetchPartitionMetadata", stream: "orders", partition: 3 }]);
  assert.equal(r.metadata["id"], 3);
  assert.equal(r.metadata["leader"], "fake-1");
  assert.deepEqual(r.metadata["isr"], ["fake-1"]);
  assert.deepEqual(r.metadata["readonlyTimestamps"], { firstTimestamp: (TS + 2n).toString(), latestTimestamp: (TS + 3n).toString() });
});

test("a core that throws answers INTERNAL with the error's message", async () => {
  broker.answer = () => {
    throw new Error("driver exploded");
  };
  const e = await rejection(client.deleteStream("x"));
  broker.answer = () => ok({ kind: "done" });
  assert.deepEqual([e.code, e.details], [Status.INTERNAL, "driver exploded"]);
});

test("cursor and consumer-group RPCs answer UNIMPLEMENTED saying so", async () => {
  const calls = [
    ["SetCursor", { stream: "s", cursorId: "c", offset: "1" }],
    ["FetchCursor", { stream: "s", cursorId: "c" }],
    ["JoinConsumerGroup", { groupId: "g", consumerId: "c", streams: ["s"] }],
    ["LeaveConsumerGroup", { groupId: "g", consumerId: "c" }],
    ["FetchConsumerGroupAssignments", { groupId: "g", consumerId: "c", epoch: "1" }],
    ["ReportConsumerGroupCoordinator", { groupId: "g", consumerId: "c", coordinator: "x", epoch: "1" }],
  ] as const;
  for (const [method, request] of calls) {
    const e = await rejection(client.unary(method, request));
    assert.equal(e.code, Status.UNIMPLEMENTED, method);
    assert.match(e.details, new RegExp(`^${method} is not implemented yet`), method);
  }
});

test("health: SERVING for \"\" and proto.API, unknown services NOT_FOUND", async () => {
  assert.equal(await client.healthCheck(""), "SERVING");
  assert.equal(await client.healthCheck("proto.API"), "SERVING");
  const e = await rejection(client.healthCheck("nope"));
  assert.equal(e.code, Status.NOT_FOUND);
});

test("health: a watcher sees NOT_SERVING when the server closes", async () => {
  const own = await startGrpcServer(broker, { host: "127.0.0.1", port: 0 });
  const c = createApiClient(`127.0.0.1:${own.port}`);
  try {
    const watch = c.healthWatch("proto.API");
    assert.deepEqual(await watch.statuses.next(), { value: "SERVING", done: false });
    const closed = own.close(2000);
    assert.deepEqual(await watch.statuses.next(), { value: "NOT_SERVING", done: false });
    watch.cancel();
    await closed;
    await assert.rejects(c.healthCheck(""), (e: ServiceError) => e.code === Status.UNAVAILABLE);
  } finally {
    c.close();
    await own.close(0);
  }
});

test("malformed protobuf requests are INVALID_ARGUMENT and never reach the broker", async () => {
  broker.requests.length = 0;
  const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]); // field 1, length far past the end
  for (const method of ["DeleteStream", "CreateStream", "Publish"]) {
    const e = await new Promise<ServiceError>((resolve, reject) => {
      client.raw.makeUnaryRequest(`/proto.API/${method}`, (b: Buffer) => b, (b: Buffer) => b, garbage, (error) =>
        error ? resolve(error) : reject(new Error(`${method} accepted garbage`)));
    });
    assert.equal(e.code, Status.INVALID_ARGUMENT, method);
    assert.match(e.details, /^invalid proto\.\w+Request/, method);
  }
  assert.equal(broker.requests.length, 0);
});
