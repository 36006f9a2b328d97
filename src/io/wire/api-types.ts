// TypeScript shapes of the protobuf messages in proto/api.proto and proto/internal.proto, as the
// codecs in this folder produce and accept them. Conventions (one rule for every message):
// - int64/uint64 are `bigint` (a 1.7e18 ns timestamp is exact); int32/uint32 are `number`.
// - bytes are `Uint8Array` (a zero-length array when absent).
// - maps are `ReadonlyMap` (insertion order = encoding order; protobuf maps carry no order, so a
//   decoded Map's order is not the wire order). Encoders also accept arrays of [key, value] pairs.
// - enums are plain numbers (proto3 enums are open: unknown values survive decoding); the named
//   values are the constant objects below.
// - scalars are always present after decoding (proto3 defaults); a nested message is present
//   only if it was on the wire.

/** proto.StartPosition values. */
export const StartPosition = { NEW_ONLY: 0, OFFSET: 1, EARLIEST: 2, LATEST: 3, TIMESTAMP: 4 } as const;
/** proto.StopPosition values. */
export const StopPosition = { STOP_ON_CANCEL: 0, STOP_OFFSET: 1, STOP_LATEST: 2, STOP_TIMESTAMP: 3 } as const;
/** proto.AckPolicy values. */
export const AckPolicy = { LEADER: 0, ALL: 1, NONE: 2 } as const;
/** proto.Ack.Error values. */
export const AckError = { OK: 0, UNKNOWN: 1, INCORRECT_OFFSET: 2, TOO_LARGE: 3, ENCRYPTION: 4 } as const;
/** proto.PublishAsyncError.Code values. */
export const PublishAsyncErrorCode = {
  UNKNOWN: 0, BAD_REQUEST: 1, NOT_FOUND: 2, INTERNAL: 3, READONLY: 4,
  INCORRECT_OFFSET: 5, ENCRYPTION_FAILED: 6, PERMISSION_DENIED: 7,
} as const;
/** proto.StreamMetadata.Error values. */
export const StreamMetadataError = { OK: 0, UNKNOWN_STREAM: 1 } as const;
/** proto.ConsumerGroupMetadata.Error values. */
export const ConsumerGroupMetadataError = { OK: 0, UNKNOWN_GROUP: 1 } as const;
/** proto.ActivityStreamOp values. */
export const ActivityStreamOp = {
  CREATE_STREAM: 0, DELETE_STREAM: 1, PAUSE_STREAM: 2, RESUME_STREAM: 3,
  SET_STREAM_READONLY: 4, JOIN_CONSUMER_GROUP: 5, LEAVE_CONSUMER_GROUP: 6,
} as const;

/** Message headers: name to value. */
export type Headers = ReadonlyMap<string, Uint8Array>;

/** proto.Message: a record as subscribers see it, or a publish envelope's payload. */
export interface Message {
  readonly offset: bigint;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly timestamp: bigint;
  readonly stream: string;
  readonly partition: number;
  readonly subject: string;
  readonly replySubject: string;
  readonly headers: Headers;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: number;
}

/** proto.Ack: the acknowledgement sent to a publisher's ackInbox. */
export interface Ack {
  readonly stream: string;
  readonly partitionSubject: string;
  readonly msgSubject: string;
  readonly offset: bigint;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: number;
  readonly receptionTimestamp: bigint;
  readonly commitTimestamp: bigint;
  readonly ackError: number;
}

/** proto.PublishRequest. */
export interface PublishRequest {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly stream: string;
  readonly partition: number;
  readonly headers: Headers;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: number;
  readonly expectedOffset: bigint;
}

/** proto.PublishAsyncError. */
export interface PublishAsyncError {
  readonly code: number;
  readonly message: string;
}

/** proto.PublishResponse. */
export interface PublishResponse {
  readonly ack?: Ack;
  readonly asyncError?: PublishAsyncError;
  readonly correlationId: string;
}

/** proto.PublishToSubjectRequest. */
export interface PublishToSubjectRequest {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly subject: string;
  readonly headers: Headers;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: number;
}

/** proto.PublishToSubjectResponse. */
export interface PublishToSubjectResponse {
  readonly ack?: Ack;
}

/** proto.Consumer: the consumer-group member a subscription belongs to. */
export interface Consumer {
  readonly groupId: string;
  readonly groupEpoch: bigint;
  readonly consumerId: string;
}

/** proto.SubscribeRequest. */
export interface SubscribeRequest {
  readonly stream: string;
  readonly partition: number;
  readonly startPosition: number;
  readonly startOffset: bigint;
  readonly startTimestamp: bigint;
  readonly readISRReplica: boolean;
  readonly resume: boolean;
  readonly stopPosition: number;
  readonly stopOffset: bigint;
  readonly stopTimestamp: bigint;
  readonly consumer?: Consumer;
}

/** proto.NullableInt64 (and NullableInt32/NullableBool below): "set" is "present". */
export interface NullableInt64 {
  readonly value: bigint;
}
/** proto.NullableInt32. */
export interface NullableInt32 {
  readonly value: number;
}
/** proto.NullableBool. */
export interface NullableBool {
  readonly value: boolean;
}

/** proto.CreateStreamRequest. */
export interface CreateStreamRequest {
  readonly subject: string;
  readonly name: string;
  readonly group: string;
  readonly replicationFactor: number;
  readonly partitions: number;
  readonly retentionMaxBytes?: NullableInt64;
  readonly retentionMaxMessages?: NullableInt64;
  readonly retentionMaxAge?: NullableInt64;
  readonly cleanerInterval?: NullableInt64;
  readonly segmentMaxBytes?: NullableInt64;
  readonly segmentMaxAge?: NullableInt64;
  readonly compactMaxGoroutines?: NullableInt32;
  readonly compactEnabled?: NullableBool;
  readonly autoPauseTime?: NullableInt64;
  readonly autoPauseDisableIfSubscribers?: NullableBool;
  readonly minIsr?: NullableInt32;
  readonly optimisticConcurrencyControl?: NullableBool;
  readonly encryption?: NullableBool;
}

/** proto.FetchMetadataRequest. */
export interface FetchMetadataRequest {
  readonly streams: readonly string[];
  readonly groups: readonly string[];
}

/** proto.Broker. */
export interface Broker {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly partitionCount: number;
  readonly leaderCount: number;
}

/** proto.PartitionEventTimestamps. */
export interface PartitionEventTimestamps {
  readonly firstTimestamp: bigint;
  readonly latestTimestamp: bigint;
}

/** proto.PartitionMetadata. */
export interface PartitionMetadata {
  readonly id: number;
  readonly leader: string;
  readonly replicas: readonly string[];
  readonly isr: readonly string[];
  readonly highWatermark: bigint;
  readonly newestOffset: bigint;
  readonly paused: boolean;
  readonly readonly: boolean;
  readonly messagesReceivedTimestamps?: PartitionEventTimestamps;
  readonly pauseTimestamps?: PartitionEventTimestamps;
  readonly readonlyTimestamps?: PartitionEventTimestamps;
}

/** proto.StreamMetadata. */
export interface StreamMetadata {
  readonly name: string;
  readonly subject: string;
  readonly error: number;
  readonly partitions: ReadonlyMap<number, PartitionMetadata>;
  readonly creationTimestamp: bigint;
}

/** proto.ConsumerGroupMetadata. */
export interface ConsumerGroupMetadata {
  readonly groupId: string;
  readonly error: number;
  readonly coordinator: string;
  readonly epoch: bigint;
}

/** proto.FetchMetadataResponse. */
export interface FetchMetadataResponse {
  readonly brokers: readonly Broker[];
  readonly streamMetadata: readonly StreamMetadata[];
  readonly groupMetadata: readonly ConsumerGroupMetadata[];
}

/** proto.FetchPartitionMetadataResponse. */
export interface FetchPartitionMetadataResponse {
  readonly metadata?: PartitionMetadata;
}

/** protocol.ReplicationRequest: a follower's fetch (offset = its newest offset, -1 if empty). */
export interface ReplicationRequest {
  readonly replicaID: string;
  readonly offset: bigint;
  readonly leaderEpoch: bigint;
}

/** protocol.LeaderEpochOffsetRequest. */
export interface LeaderEpochOffsetRequest {
  readonly leaderEpoch: bigint;
}

/** protocol.LeaderEpochOffsetResponse. */
export interface LeaderEpochOffsetResponse {
  readonly endOffset: bigint;
}

/** protocol.PartitionNotification: the leader has new data for a waiting follower. */
export interface PartitionNotification {
  readonly stream: string;
  readonly partition: number;
}

/** protocol.ServerInfoRequest. */
export interface ServerInfoRequest {
  readonly id: string;
}

/** protocol.ServerInfoResponse. */
export interface ServerInfoResponse {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

/** protocol.PartitionStatusRequest. */
export interface PartitionStatusRequest {
  readonly stream: string;
  readonly partition: number;
}

/** protocol.PartitionStatusResponse. */
export interface PartitionStatusResponse {
  readonly exists: boolean;
  readonly isLeader: boolean;
}

/** protocol.RaftJoinRequest. */
export interface RaftJoinRequest {
  readonly nodeID: string;
  readonly nodeAddr: string;
}

/** protocol.RaftJoinResponse. */
export interface RaftJoinResponse {
  readonly error: string;
}

/** Every message with a typed shape, by protobuf full name. */
export interface WireTypes {
  "proto.Message": Message;
  "proto.Ack": Ack;
  "proto.PublishRequest": PublishRequest;
  "proto.PublishResponse": PublishResponse;
  "proto.PublishToSubjectRequest": PublishToSubjectRequest;
  "proto.PublishToSubjectResponse": PublishToSubjectResponse;
  "proto.SubscribeRequest": SubscribeRequest;
  "proto.CreateStreamRequest": CreateStreamRequest;
  "proto.FetchMetadataRequest": FetchMetadataRequest;
  "proto.FetchMetadataResponse": FetchMetadataResponse;
  "proto.FetchPartitionMetadataResponse": FetchPartitionMetadataResponse;
  "protocol.ReplicationRequest": ReplicationRequest;
  "protocol.LeaderEpochOffsetRequest": LeaderEpochOffsetRequest;
  "protocol.LeaderEpochOffsetResponse": LeaderEpochOffsetResponse;
  "protocol.PartitionNotification": PartitionNotification;
  "protocol.ServerInfoRequest": ServerInfoRequest;
  "protocol.ServerInfoResponse": ServerInfoResponse;
  "protocol.PartitionStatusRequest": PartitionStatusRequest;
  "protocol.PartitionStatusResponse": PartitionStatusResponse;
  "protocol.RaftJoinRequest": RaftJoinRequest;
  "protocol.RaftJoinResponse": RaftJoinResponse;
}

/** A message as encoders accept it: every field optional (absent = proto3 default), maps as Map or pairs. */
export type WireInit<T> = T extends Uint8Array | bigint | string | number | boolean
  ? T
  : T extends ReadonlyMap<infer K, infer V>
    ? ReadonlyMap<K, WireInit<V>> | ReadonlyArray<readonly [K, WireInit<V>]>
    : T extends ReadonlyArray<infer E>
      ? ReadonlyArray<WireInit<E>>
      : { readonly [P in keyof T]?: WireInit<T[P]> };
