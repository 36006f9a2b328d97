// API requests and responses as plain core types; src/io/grpc maps them to and from protobuf and
// maps OperatingError codes to gRPC status codes.
import type { StoredRecords } from "../log/stored-records.js";
import type { OperatingError, Result } from "../errors.js";
import type { StreamOverrides } from "../metadata/stream-config.js";
import type { NodeId, Offset, TimestampNs } from "../types.js";
import type { PublishEnvelope } from "./wire-codec.js";

/** Subscribe start positions (proto StartPosition). */
export type StartPosition = "NEW_ONLY" | "OFFSET" | "EARLIEST" | "LATEST" | "TIMESTAMP";
/** Subscribe stop positions (proto StopPosition). */
export type StopPosition = "STOP_ON_CANCEL" | "STOP_OFFSET" | "STOP_LATEST" | "STOP_TIMESTAMP";

/** A unary API call. */
export type ApiRequest =
  | {
      readonly kind: "createStream";
      readonly name: string;
      readonly subject: string;
      readonly group: string;
      readonly replicationFactor: number;
      readonly partitions: number;
      readonly overrides: StreamOverrides;
    }
  | { readonly kind: "deleteStream"; readonly name: string }
  | { readonly kind: "pauseStream"; readonly name: string; readonly partitions: readonly number[]; readonly resumeAll: boolean }
  | { readonly kind: "setStreamReadonly"; readonly name: string; readonly partitions: readonly number[]; readonly readonly: boolean }
  | { readonly kind: "fetchMetadata"; readonly streams: readonly string[] }
  | { readonly kind: "fetchPartitionMetadata"; readonly stream: string; readonly partition: number }
  // The shell fills in a fresh ackInbox when the client gave none and wants an ack.
  | ({ readonly kind: "publish"; readonly stream: string; readonly partition: number } & PublishEnvelope);

/** A Subscribe call. */
export interface SubscribeRequest {
  readonly stream: string;
  readonly partition: number;
  readonly startPosition: StartPosition;
  readonly startOffset: number;
  readonly startTimestampNs: bigint;
  readonly stopPosition: StopPosition;
  readonly stopOffset: number;
  readonly stopTimestampNs: bigint;
  readonly resume: boolean;
  readonly readIsrReplica: boolean;
}

/** First and latest time of an event (0 when never). */
export interface EventTimestampsView {
  readonly firstNs: bigint;
  readonly latestNs: bigint;
}

/** PartitionMetadata as the API reports it. */
export interface PartitionMetadataView {
  readonly id: number;
  readonly leader: NodeId;
  readonly replicas: readonly NodeId[];
  readonly isr: readonly NodeId[];
  readonly highWatermark: Offset;
  readonly newestOffset: Offset;
  readonly paused: boolean;
  readonly readonly: boolean;
  readonly messagesReceivedTimestamps: EventTimestampsView;
  readonly pauseTimestamps: EventTimestampsView;
  readonly readonlyTimestamps: EventTimestampsView;
}

/** StreamMetadata as the API reports it; `error` set for a stream that does not exist. */
export interface StreamMetadataView {
  readonly name: string;
  readonly subject: string;
  readonly error: "OK" | "UNKNOWN_STREAM";
  readonly partitions: readonly PartitionMetadataView[];
  readonly creationTimestampNs: TimestampNs | 0n;
}

/** A broker as FetchMetadata lists it. */
export interface BrokerView {
  readonly id: NodeId;
  readonly host: string;
  readonly port: number;
  readonly partitionCount: number;
  readonly leaderCount: number;
}

/** The successful answer to an ApiRequest. */
export type ApiResponse =
  | { readonly kind: "done" }
  | { readonly kind: "metadata"; readonly brokers: readonly BrokerView[]; readonly streams: readonly StreamMetadataView[] }
  | { readonly kind: "partitionMetadata"; readonly metadata: PartitionMetadataView }
  | { readonly kind: "published"; readonly ackInbox: string; readonly subject: string };

/** Everything the broker asks its shell to do besides disk and NATS sends. */
export type BrokerEffect =
  | { readonly kind: "apiResponse"; readonly requestId: number; readonly result: Result<ApiResponse> }
  | { readonly kind: "subscribed"; readonly subscriptionId: number; readonly result: Result<{ readonly startOffset: Offset }> }
  | {
      readonly kind: "subscriptionRecords";
      readonly subscriptionId: number;
      readonly stream: string;
      readonly partition: number;
      /** Verified records as the log stores them (the shell transcodes them to its wire format). */
      readonly records: StoredRecords;
    }
  | { readonly kind: "subscriptionEnded"; readonly subscriptionId: number; readonly error: OperatingError };
