// Core responses to protobuf bytes. The gRPC server hands grpc-js pre-encoded bytes (its response
// serializers pass them through), so each response is encoded exactly once, here.
import type { PartitionMetadataView, StreamMetadataView } from "../../core/broker/api-types.js";
import type { StoredRecords } from "../../core/log/stored-records.js";
import { encodeWire } from "../wire/api-codec.js";
import type { PartitionMetadata, StreamMetadata, WireInit } from "../wire/api-types.js";
import { ConsumerGroupMetadataError, StreamMetadataError } from "../wire/api-types.js";
import { encodeStoredAsFramedMessages } from "../wire/stored-message-encoder.js";
import {
  WIRE_LEN, stringFieldSize, tag, varint32Size, writeStringField, writeVarint32,
} from "../wire/pb-writer.js";
import type { AsyncError } from "./grpc-status.js";
import type { ApiResponse } from "../../core/broker/api-types.js";

/** The zero-length encoding of every empty response message (CreateStreamResponse, ...). */
export const EMPTY_RESPONSE: Uint8Array = new Uint8Array(0);

/** PartitionMetadata as it goes on the wire (event timestamps always present, as in Liftbridge). */
export function partitionMetadataOf(p: PartitionMetadataView): WireInit<PartitionMetadata> {
  return {
    id: p.id, leader: p.leader, replicas: p.replicas, isr: p.isr,
    highWatermark: BigInt(p.highWatermark), newestOffset: BigInt(p.newestOffset), paused: p.paused, readonly: p.readonly,
    messagesReceivedTimestamps: { firstTimestamp: p.messagesReceivedTimestamps.firstNs, latestTimestamp: p.messagesReceivedTimestamps.latestNs },
    pauseTimestamps: { firstTimestamp: p.pauseTimestamps.firstNs, latestTimestamp: p.pauseTimestamps.latestNs },
    readonlyTimestamps: { firstTimestamp: p.readonlyTimestamps.firstNs, latestTimestamp: p.readonlyTimestamps.latestNs },
  };
}

function streamMetadataOf(s: StreamMetadataView): WireInit<StreamMetadata> {
  return {
    name: s.name, subject: s.subject,
    error: s.error === "OK" ? StreamMetadataError.OK : StreamMetadataError.UNKNOWN_STREAM,
    partitions: s.partitions.map((p) => [p.id, partitionMetadataOf(p)] as const),
    creationTimestamp: s.creationTimestampNs,
  };
}

/** FetchMetadataResponse bytes; every requested group is UNKNOWN_GROUP until consumer groups exist. */
export function encodeMetadataResponse(response: Extract<ApiResponse, { kind: "metadata" }>, groups: readonly string[]): Uint8Array {
  return encodeWire("proto.FetchMetadataResponse", {
    brokers: response.brokers.map((b) => ({ id: b.id, host: b.host, port: b.port, partitionCount: b.partitionCount, leaderCount: b.leaderCount })),
    streamMetadata: response.streams.map(streamMetadataOf),
    groupMetadata: groups.map((groupId) => ({ groupId, error: ConsumerGroupMetadataError.UNKNOWN_GROUP })),
  });
}

/** FetchPartitionMetadataResponse bytes. */
export function encodePartitionMetadataResponse(metadata: PartitionMetadataView): Uint8Array {
  return encodeWire("proto.FetchPartitionMetadataResponse", { metadata: partitionMetadataOf(metadata) });
}

const T_ACK = tag(1, WIRE_LEN);
const T_ASYNC_ERROR = tag(2, WIRE_LEN);
const T_CORRELATION_ID = tag(3, WIRE_LEN);
const T_CODE = tag(1, 0);
const T_MESSAGE = tag(2, WIRE_LEN);

function asyncErrorSize(e: AsyncError): number {
  return (e.code === 0 ? 0 : 1 + varint32Size(e.code)) + stringFieldSize(e.message);
}

/**
 * PublishResponse bytes (also PublishToSubjectResponse, whose only field is the same `ack = 1`).
 * `ackPayload` is an encoded proto.Ack, passed through as the leader sent it; an empty array is an
 * empty but present Ack, undefined leaves the field unset.
 */
export function encodePublishResponse(ackPayload: Uint8Array | undefined, correlationId: string, asyncError?: AsyncError): Uint8Array {
  const errorSize = asyncError === undefined ? 0 : asyncErrorSize(asyncError);
  const size =
    (ackPayload === undefined ? 0 : 1 + varint32Size(ackPayload.length) + ackPayload.length) +
    (asyncError === undefined ? 0 : 1 + varint32Size(errorSize) + errorSize) +
    stringFieldSize(correlationId);
  const buf = new Uint8Array(size);
  let pos = 0;
  if (ackPayload !== undefined) {
    buf[pos++] = T_ACK;
    pos = writeVarint32(buf, pos, ackPayload.length);
    buf.set(ackPayload, pos);
    pos += ackPayload.length;
  }
  if (asyncError !== undefined) {
    buf[pos++] = T_ASYNC_ERROR;
    pos = writeVarint32(buf, pos, errorSize);
    if (asyncError.code !== 0) {
      buf[pos++] = T_CODE;
      pos = writeVarint32(buf, pos, asyncError.code);
    }
    pos = writeStringField(buf, pos, T_MESSAGE, asyncError.message);
  }
  writeStringField(buf, pos, T_CORRELATION_ID, correlationId);
  return buf;
}

const UTF8 = new TextEncoder();

/**
 * One proto.Message per record, as Liftbridge sends them to subscribers, gRPC-framed back to back
 * in one buffer; transcoded from the records as stored (subject and reply from their headers).
 */
export function encodeSubscriberFrames(stream: string, partition: number, records: StoredRecords, allocate?: (size: number) => Uint8Array): Uint8Array {
  return encodeStoredAsFramedMessages(UTF8.encode(stream), partition, records, allocate);
}
