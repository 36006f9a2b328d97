// proto/api.proto and proto/internal.proto against the spec (§2, §4.7): service, RPC kinds, and
// every field's number and type, so a renumbering can never slip in unnoticed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadSync } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { API_PROTO_PATH, INTERNAL_PROTO_PATH, protoRoot } from "../../src/io/wire/proto-root.js";

test("api.proto loads with @grpc/proto-loader and exposes proto.API with the 16 RPCs in order", () => {
  const def = loadSync(API_PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const service = def["proto.API"] as Record<string, { requestStream: boolean; responseStream: boolean; path: string }>;
  const expected: [string, boolean, boolean][] = [
    ["CreateStream", false, false], ["DeleteStream", false, false], ["PauseStream", false, false],
    ["SetStreamReadonly", false, false], ["Subscribe", false, true], ["FetchMetadata", false, false],
    ["FetchPartitionMetadata", false, false], ["Publish", false, false], ["PublishAsync", true, true],
    ["PublishToSubject", false, false], ["SetCursor", false, false], ["FetchCursor", false, false],
    ["JoinConsumerGroup", false, false], ["LeaveConsumerGroup", false, false],
    ["FetchConsumerGroupAssignments", false, false], ["ReportConsumerGroupCoordinator", false, false],
  ];
  assert.deepEqual(Object.keys(service), expected.map(([name]) => name));
  for (const [name, requestStream, responseStream] of expected) {
    assert.deepEqual([service[name]!.requestStream, service[name]!.responseStream, service[name]!.path],
      [requestStream, responseStream, `/proto.API/${name}`], name);
  }
  const api = protoRoot.lookupService("proto.API");
  const rpc = (n: string): [string, string] => [api.methods[n]!.requestType, api.methods[n]!.responseType];
  assert.deepEqual(rpc("Subscribe"), ["SubscribeRequest", "Message"]);
  assert.deepEqual(rpc("PublishAsync"), ["PublishRequest", "PublishResponse"]);
});

test("api.proto: package, java_package, no go_package", () => {
  const root = protobuf.parse(readFileSync(API_PROTO_PATH, "utf8"), { keepCase: true });
  assert.equal(root.package, "proto");
  assert.equal(root.root.lookup("proto")?.options?.["java_package"], "io.liftbridge.proto");
  assert.equal(root.root.lookup("proto")?.options?.["go_package"], undefined);
});

// "field number type" per message, in spec order; S marks [jstype = JS_STRING]; map<K,V> as written.
const API_FIELDS: Record<string, string> = {
  NullableInt64: "value 1 int64", NullableInt32: "value 1 int32", NullableBool: "value 1 bool",
  CreateStreamRequest: "subject 1 string, name 2 string, group 3 string, replicationFactor 4 int32, partitions 5 int32, " +
    "retentionMaxBytes 6 NullableInt64, retentionMaxMessages 7 NullableInt64, retentionMaxAge 8 NullableInt64, " +
    "cleanerInterval 9 NullableInt64, segmentMaxBytes 10 NullableInt64, segmentMaxAge 11 NullableInt64, " +
    "compactMaxGoroutines 12 NullableInt32, compactEnabled 13 NullableBool, autoPauseTime 14 NullableInt64, " +
    "autoPauseDisableIfSubscribers 15 NullableBool, minIsr 16 NullableInt32, optimisticConcurrencyControl 17 NullableBool, " +
    "encryption 18 NullableBool",
  CreateStreamResponse: "", DeleteStreamRequest: "name 1 string", DeleteStreamResponse: "",
  PauseStreamRequest: "name 1 string, partitions 2 repeated int32, resumeAll 3 bool", PauseStreamResponse: "",
  SetStreamReadonlyRequest: "name 1 string, partitions 2 repeated int32, readonly 3 bool", SetStreamReadonlyResponse: "",
  Consumer: "groupId 1 string, groupEpoch 2 uint64, consumerId 3 string",
  SubscribeRequest: "stream 1 string, partition 2 int32, startPosition 3 StartPosition, startOffset 4 int64 S, " +
    "startTimestamp 5 int64 S, readISRReplica 6 bool, resume 7 bool, stopPosition 8 StopPosition, stopOffset 9 int64 S, " +
    "stopTimestamp 10 int64 S, consumer 11 Consumer",
  FetchMetadataRequest: "streams 1 repeated string, groups 2 repeated string",
  FetchMetadataResponse: "brokers 1 repeated Broker, streamMetadata 2 repeated StreamMetadata, groupMetadata 3 repeated ConsumerGroupMetadata",
  FetchPartitionMetadataRequest: "stream 1 string, partition 2 int32",
  FetchPartitionMetadataResponse: "metadata 1 PartitionMetadata",
  PublishRequest: "key 1 bytes, value 2 bytes, stream 3 string, partition 4 int32, headers 5 map<string,bytes>, " +
    "ackInbox 6 string, correlationId 7 string, ackPolicy 8 AckPolicy, expectedOffset 9 int64 S",
  PublishAsyncError: "code 1 Code, message 2 string",
  PublishResponse: "ack 1 Ack, asyncError 2 PublishAsyncError, correlationId 3 string",
  PublishToSubjectRequest: "key 1 bytes, value 2 bytes, subject 3 string, headers 4 map<string,bytes>, ackInbox 5 string, " +
    "correlationId 6 string, ackPolicy 7 AckPolicy",
  PublishToSubjectResponse: "ack 1 Ack",
  SetCursorRequest: "stream 1 string, partition 2 int32, cursorId 3 string, offset 4 int64 S", SetCursorResponse: "",
  FetchCursorRequest: "stream 1 string, partition 2 int32, cursorId 3 string", FetchCursorResponse: "offset 1 int64 S",
  JoinConsumerGroupRequest: "groupId 1 string, consumerId 2 string, streams 3 repeated string",
  JoinConsumerGroupResponse: "coordinator 1 string, epoch 2 uint64 S, consumerTimeout 3 int64 S, coordinatorTimeout 4 int64 S",
  LeaveConsumerGroupRequest: "groupId 1 string, consumerId 2 string", LeaveConsumerGroupResponse: "",
  FetchConsumerGroupAssignmentsRequest: "groupId 1 string, consumerId 2 string, epoch 3 uint64 S",
  PartitionAssignment: "stream 1 string, partitions 2 repeated int32",
  FetchConsumerGroupAssignmentsResponse: "epoch 1 uint64 S, assignments 2 repeated PartitionAssignment",
  ReportConsumerGroupCoordinatorRequest: "groupId 1 string, consumerId 2 string, coordinator 3 string, epoch 4 uint64 S",
  ReportConsumerGroupCoordinatorResponse: "",
  Broker: "id 1 string, host 2 string, port 3 int32, partitionCount 4 int32, leaderCount 5 int32",
  StreamMetadata: "name 1 string, subject 2 string, error 3 Error, partitions 4 map<int32,PartitionMetadata>, creationTimestamp 5 int64 S",
  ConsumerGroupMetadata: "groupId 1 string, error 2 Error, coordinator 3 string, epoch 4 uint64 S",
  PartitionEventTimestamps: "firstTimestamp 1 int64 S, latestTimestamp 2 int64 S",
  PartitionMetadata: "id 1 int32, leader 2 string, replicas 3 repeated string, isr 4 repeated string, highWatermark 5 int64 S, " +
    "newestOffset 6 int64 S, paused 7 bool, readonly 8 bool, messagesReceivedTimestamps 9 PartitionEventTimestamps, " +
    "pauseTimestamps 10 PartitionEventTimestamps, readonlyTimestamps 11 PartitionEventTimestamps",
  Message: "offset 1 int64 S, key 2 bytes, value 3 bytes, timestamp 4 int64 S, stream 5 string, partition 6 int32, " +
    "subject 7 string, replySubject 8 string, headers 9 map<string,bytes>, ackInbox 10 string, correlationId 11 string, " +
    "ackPolicy 12 AckPolicy",
  Ack: "stream 1 string, partitionSubject 2 string, msgSubject 3 string, offset 4 int64 S, ackInbox 5 string, " +
    "correlationId 6 string, ackPolicy 7 AckPolicy, receptionTimestamp 8 int64 S, commitTimestamp 9 int64 S, ackError 10 Error",
  CreateStreamOp: "stream 1 string, partitions 2 repeated int32", DeleteStreamOp: "stream 1 string",
  PauseStreamOp: "stream 1 string, partitions 2 repeated int32, resumeAll 3 bool",
  ResumeStreamOp: "stream 1 string, partitions 2 repeated int32",
  SetStreamReadonlyOp: "stream 1 string, partitions 2 repeated int32, readonly 3 bool",
  JoinConsumerGroupOp: "groupId 1 string, consumerId 2 string, streams 3 repeated string",
  LeaveConsumerGroupOp: "groupId 1 string, consumerId 2 string, expired 3 bool",
  ActivityStreamEvent: "id 1 uint64 S, op 2 ActivityStreamOp, createStreamOp 3 CreateStreamOp, deleteStreamOp 4 DeleteStreamOp, " +
    "pauseStreamOp 5 PauseStreamOp, resumeStreamOp 6 ResumeStreamOp, setStreamReadonlyOp 7 SetStreamReadonlyOp, " +
    "joinConsumerGroupOp 8 JoinConsumerGroupOp, leaveConsumerGroupOp 9 LeaveConsumerGroupOp",
};

const API_ENUMS: Record<string, string> = {
  StartPosition: "NEW_ONLY 0, OFFSET 1, EARLIEST 2, LATEST 3, TIMESTAMP 4",
  StopPosition: "STOP_ON_CANCEL 0, STOP_OFFSET 1, STOP_LATEST 2, STOP_TIMESTAMP 3",
  AckPolicy: "LEADER 0, ALL 1, NONE 2",
  ActivityStreamOp: "CREATE_STREAM 0, DELETE_STREAM 1, PAUSE_STREAM 2, RESUME_STREAM 3, SET_STREAM_READONLY 4, " +
    "JOIN_CONSUMER_GROUP 5, LEAVE_CONSUMER_GROUP 6",
  "PublishAsyncError.Code": "UNKNOWN 0, BAD_REQUEST 1, NOT_FOUND 2, INTERNAL 3, READONLY 4, INCORRECT_OFFSET 5, " +
    "ENCRYPTION_FAILED 6, PERMISSION_DENIED 7",
  "StreamMetadata.Error": "OK 0, UNKNOWN_STREAM 1",
  "ConsumerGroupMetadata.Error": "OK 0, UNKNOWN_GROUP 1",
  "Ack.Error": "OK 0, UNKNOWN 1, INCORRECT_OFFSET 2, TOO_LARGE 3, ENCRYPTION 4",
};

const INTERNAL_FIELDS: Record<string, string> = {
  ServerState: "serverID 1 string",
  ReplicationRequest: "replicaID 1 string, offset 2 int64, leaderEpoch 3 uint64",
  LeaderEpochOffsetRequest: "leaderEpoch 1 uint64", LeaderEpochOffsetResponse: "endOffset 1 int64",
  PartitionNotification: "stream 1 string, partition 2 int32",
  RaftJoinRequest: "nodeID 1 string, nodeAddr 2 string", RaftJoinResponse: "error 1 string",
  ServerInfoRequest: "id 1 string", ServerInfoResponse: "id 1 string, host 2 string, port 3 int32",
  PartitionStatusRequest: "stream 1 string, partition 2 int32", PartitionStatusResponse: "exists 1 bool, isLeader 2 bool",
  RaftLog: "op 1 Op, createStreamOp 2 CreateStreamOp, shrinkISROp 3 ShrinkISROp, changeLeaderOp 4 ChangeLeaderOp, " +
    "expandISROp 5 ExpandISROp, deleteStreamOp 6 DeleteStreamOp, pauseStreamOp 7 PauseStreamOp, resumeStreamOp 8 ResumeStreamOp, " +
    "publishActivityOp 9 PublishActivityOp, setStreamReadonlyOp 10 SetStreamReadonlyOp, " +
    "createConsumerGroupOp 11 CreateConsumerGroupOp, joinConsumerGroupOp 12 JoinConsumerGroupOp, " +
    "leaveConsumerGroupOp 13 LeaveConsumerGroupOp, changeConsumerGroupCoordinatorOp 14 ChangeConsumerGroupCoordinatorOp",
  PropagatedRequest: "op 1 Op, createStreamOp 2 CreateStreamOp, shrinkISROp 3 ShrinkISROp, reportLeaderOp 4 ReportLeaderOp, " +
    "expandISROp 5 ExpandISROp, deleteStreamOp 6 DeleteStreamOp, pauseStreamOp 7 PauseStreamOp, resumeStreamOp 8 ResumeStreamOp, " +
    "setStreamReadonlyOp 9 SetStreamReadonlyOp, joinConsumerGroupOp 10 JoinConsumerGroupOp, " +
    "leaveConsumerGroupOp 11 LeaveConsumerGroupOp, reportConsumerGroupCoordinatorOp 12 ReportConsumerGroupCoordinatorOp",
  PropagatedResponse: "op 1 Op, error 2 Error, joinConsumerGroupResp 11 JoinConsumerGroupResponse",
  "PropagatedResponse.JoinConsumerGroupResponse": "coordinator 1 string, epoch 2 uint64",
  Error: "code 1 uint32, msg 2 string",
  ShrinkISROp: "stream 1 string, partition 2 int32, replicaToRemove 3 string, leader 4 string, leaderEpoch 5 uint64",
  ExpandISROp: "stream 1 string, partition 2 int32, replicaToAdd 3 string, leader 4 string, leaderEpoch 5 uint64",
  ReportLeaderOp: "stream 1 string, partition 2 int32, replica 3 string, leader 4 string, leaderEpoch 5 uint64",
  ChangeLeaderOp: "stream 1 string, partition 2 int32, leader 3 string",
  Partition: "subject 1 string, stream 2 string, id 3 int32, group 4 string, replicationFactor 5 int32, replicas 6 repeated string, " +
    "leader 7 string, isr 8 repeated string, leaderEpoch 9 uint64, epoch 10 uint64, paused 11 bool, readonly 12 bool",
  Stream: "name 1 string, subject 2 string, partitions 3 repeated Partition, config 4 StreamConfig, creationTimestamp 5 int64",
  StreamConfig: "retentionMaxBytes 1 NullableInt64, retentionMaxMessages 2 NullableInt64, retentionMaxAge 3 NullableInt64, " +
    "cleanerInterval 4 NullableInt64, segmentMaxBytes 5 NullableInt64, segmentMaxAge 6 NullableInt64, " +
    "compactMaxGoroutines 7 NullableInt32, compactEnabled 8 NullableBool, autoPauseTime 9 NullableInt64, " +
    "autoPauseDisableIfSubscribers 10 NullableBool, minIsr 11 NullableInt32, optimisticConcurrencyControl 12 NullableBool, " +
    "encryption 13 NullableBool",
  Consumer: "id 1 string, streams 2 repeated string",
  ConsumerGroup: "id 1 string, members 2 repeated Consumer, coordinator 3 string, epoch 4 uint64",
  MetadataSnapshot: "streams 1 repeated Stream, groups 2 repeated ConsumerGroup",
  PublishActivityOp: "raftIndex 1 uint64",
  ReportConsumerGroupCoordinatorOp: "groupId 1 string, consumerId 2 string, coordinator 3 string, epoch 4 uint64",
  ChangeConsumerGroupCoordinatorOp: "groupId 1 string, coordinator 2 string",
  CreateConsumerGroupOp: "consumerGroup 1 ConsumerGroup",
  Cursor: "stream 1 string, partition 2 int32, cursorId 3 string, offset 4 int64",
  CreateStreamOp: "stream 1 Stream", DeleteStreamOp: "stream 1 string",
  PauseStreamOp: "stream 1 string, partitions 2 repeated int32, resumeAll 3 bool",
  ResumeStreamOp: "stream 1 string, partitions 2 repeated int32",
  SetStreamReadonlyOp: "stream 1 string, partitions 2 repeated int32, readonly 3 bool",
  JoinConsumerGroupOp: "groupId 1 string, consumerId 2 string, streams 3 repeated string",
  LeaveConsumerGroupOp: "groupId 1 string, consumerId 2 string, expired 3 bool",
  NullableInt64: "value 1 int64", NullableInt32: "value 1 int32", NullableBool: "value 1 bool",
};

function describeField(f: protobuf.Field): string {
  const type = f.map ? `map<${(f as unknown as protobuf.MapField).keyType},${f.type}>` : f.repeated ? `repeated ${f.type}` : f.type;
  const jsString = f.options?.["jstype"] === "JS_STRING" ? " S" : "";
  return `${f.name} ${f.id} ${type}${jsString}`;
}

function checkFields(pkg: string, table: Record<string, string>): void {
  for (const [name, spec] of Object.entries(table)) {
    const type = protoRoot.lookupType(`${pkg}.${name}`);
    const actual = type.fieldsArray.map(describeField).join(", ");
    assert.equal(actual, spec, `${pkg}.${name}`);
  }
  const declared = protoRoot.lookup(pkg) as protobuf.Namespace;
  const messages = declared.nestedArray.filter((n) => n instanceof protobuf.Type).map((n) => n.name);
  const topLevel = Object.keys(table).filter((n) => !n.includes("."));
  assert.deepEqual(messages.sort(), topLevel.sort(), `${pkg}: no message missing or extra`);
}

test("every api.proto message has exactly the spec's fields, numbers, types and JS_STRING marks", () => {
  checkFields("proto", API_FIELDS);
});

test("api.proto enums, including the nested ones, have the spec's values", () => {
  for (const [name, spec] of Object.entries(API_ENUMS)) {
    const e = protoRoot.lookupEnum(`proto.${name}`);
    assert.equal(Object.entries(e.values).map(([k, v]) => `${k} ${v}`).join(", "), spec, name);
  }
});

test("internal.proto (package protocol) messages and the Op enum match spec §4.7", () => {
  checkFields("protocol", INTERNAL_FIELDS);
  const op = protoRoot.lookupEnum("protocol.Op");
  assert.deepEqual(Object.entries(op.values), [
    "CREATE_STREAM", "SHRINK_ISR", "REPORT_LEADER", "CHANGE_LEADER", "EXPAND_ISR", "DELETE_STREAM", "PAUSE_STREAM",
    "RESUME_STREAM", "PUBLISH_ACTIVITY", "SET_STREAM_READONLY", "CREATE_CONSUMER_GROUP", "JOIN_CONSUMER_GROUP",
    "LEAVE_CONSUMER_GROUP", "REPORT_CONSUMER_GROUP_COORDINATOR", "CHANGE_CONSUMER_GROUP_COORDINATOR",
  ].map((k, i) => [k, i]));
  assert.ok(INTERNAL_PROTO_PATH.endsWith("proto/internal.proto"));
});
