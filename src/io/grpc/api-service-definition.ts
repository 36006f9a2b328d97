// The proto.API service for grpc-js, with our own (de)serializers instead of proto-loader's:
// requests decode through the wire codecs (int64 as exact bigint, malformed input as an error
// value), and responses are bytes the handlers already encoded, passed through without a copy.
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type { Result } from "../../core/errors.js";
import { decodeProtoObject, decodeWire } from "../wire/api-codec.js";
import type {
  CreateStreamRequest, FetchMetadataRequest, PublishRequest, PublishToSubjectRequest, SubscribeRequest,
} from "../wire/api-types.js";
import { decodePublishRequest } from "./publish-request-decoder.js";

/** proto.DeleteStreamRequest. */
export interface DeleteStreamRequest { readonly name: string }
/** proto.PauseStreamRequest. */
export interface PauseStreamRequest { readonly name: string; readonly partitions: readonly number[]; readonly resumeAll: boolean }
/** proto.SetStreamReadonlyRequest. */
export interface SetStreamReadonlyRequest { readonly name: string; readonly partitions: readonly number[]; readonly readonly: boolean }
/** proto.FetchPartitionMetadataRequest. */
export interface FetchPartitionMetadataRequest { readonly stream: string; readonly partition: number }

/** The decoded request type of every RPC, by method name. */
export interface ApiRequests {
  CreateStream: CreateStreamRequest;
  DeleteStream: DeleteStreamRequest;
  PauseStream: PauseStreamRequest;
  SetStreamReadonly: SetStreamReadonlyRequest;
  Subscribe: SubscribeRequest;
  FetchMetadata: FetchMetadataRequest;
  FetchPartitionMetadata: FetchPartitionMetadataRequest;
  Publish: PublishRequest;
  PublishAsync: PublishRequest;
  PublishToSubject: PublishToSubjectRequest;
  SetCursor: unknown;
  FetchCursor: unknown;
  JoinConsumerGroup: unknown;
  LeaveConsumerGroup: unknown;
  FetchConsumerGroupAssignments: unknown;
  ReportConsumerGroupCoordinator: unknown;
}

/** An RPC of proto.API. */
export type ApiMethod = keyof ApiRequests;

/** What a handler receives: the decoded request, or why it could not be decoded. */
export type Decoded<M extends ApiMethod> = Result<ApiRequests[M]>;

function untyped<T>(typeName: string): (data: Uint8Array) => Result<T> {
  return (data) => decodeProtoObject(typeName, data) as Result<T>;
}

/** Each RPC in service order: [name, request decoder, client streams, server streams]. */
const METHODS: { readonly [M in ApiMethod]: readonly [(data: Uint8Array) => Decoded<M>, boolean, boolean] } = {
  CreateStream: [(d) => decodeWire("proto.CreateStreamRequest", d), false, false],
  DeleteStream: [untyped("proto.DeleteStreamRequest"), false, false],
  PauseStream: [untyped("proto.PauseStreamRequest"), false, false],
  SetStreamReadonly: [untyped("proto.SetStreamReadonlyRequest"), false, false],
  Subscribe: [(d) => decodeWire("proto.SubscribeRequest", d), false, true],
  FetchMetadata: [(d) => decodeWire("proto.FetchMetadataRequest", d), false, false],
  FetchPartitionMetadata: [untyped("proto.FetchPartitionMetadataRequest"), false, false],
  Publish: [decodePublishRequest, false, false],
  PublishAsync: [decodePublishRequest, true, true],
  PublishToSubject: [(d) => decodeWire("proto.PublishToSubjectRequest", d), false, false],
  SetCursor: [untyped("proto.SetCursorRequest"), false, false],
  FetchCursor: [untyped("proto.FetchCursorRequest"), false, false],
  JoinConsumerGroup: [untyped("proto.JoinConsumerGroupRequest"), false, false],
  LeaveConsumerGroup: [untyped("proto.LeaveConsumerGroupRequest"), false, false],
  FetchConsumerGroupAssignments: [untyped("proto.FetchConsumerGroupAssignmentsRequest"), false, false],
  ReportConsumerGroupCoordinator: [untyped("proto.ReportConsumerGroupCoordinatorRequest"), false, false],
};

/** Every RPC name of proto.API, in service order. */
export const API_METHODS: readonly ApiMethod[] = Object.keys(METHODS) as ApiMethod[];

/** Wraps encoded bytes as the Buffer grpc-js frames, without copying. */
function passThrough(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function notAClient(): Buffer {
  throw new Error("proto.API server definition: requests are never serialized by the server");
}

function methodDefinition<M extends ApiMethod>(name: M): MethodDefinition<Decoded<M>, Uint8Array> {
  const [decode, requestStream, responseStream] = METHODS[name] as unknown as readonly [(d: Uint8Array) => Decoded<M>, boolean, boolean];
  return {
    path: `/proto.API/${name}`,
    requestStream,
    responseStream,
    requestSerialize: notAClient,
    requestDeserialize: decode,
    responseSerialize: passThrough,
    responseDeserialize: (b: Buffer) => b,
    originalName: name.charAt(0).toLowerCase() + name.slice(1),
  };
}

/** The service definition of proto.API (16 RPCs) to add to a grpc-js Server. */
export function apiServiceDefinition(): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, Uint8Array>> = {};
  for (const name of API_METHODS) definition[name] = methodDefinition(name) as MethodDefinition<unknown, Uint8Array>;
  return definition;
}
