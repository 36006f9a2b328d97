// A gRPC client of proto.API built the way Liftbridge users build one: from proto/api.proto with
// @grpc/proto-loader and grpc-js (int64 as decimal strings, so nothing is rounded; bytes as
// Buffer; enums as their names). Promise helpers for the unary RPCs, an async iterator for
// Subscribe, a session object for PublishAsync, and the standard health service.
import type { CallOptions, Client, ClientDuplexStream, ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import { credentials, loadPackageDefinition, makeGenericClientConstructor, Metadata } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { service as healthService } from "grpc-health-check";
import { API_PROTO_PATH } from "../src/io/wire/proto-root.js";

/** Options for loading proto/api.proto the way the test client (and most JS clients) do. */
export const PROTO_LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

/** A message as proto-loader renders it (int64 as strings, bytes as Buffer, enums as names). */
export type ProtoObject = Record<string, unknown>;

/** proto.Message as received from Subscribe. */
export interface SubscribedMessage {
  offset: string;
  key: Buffer;
  value: Buffer;
  timestamp: string;
  stream: string;
  partition: number;
  subject: string;
  replySubject: string;
  headers: Record<string, Buffer>;
  ackInbox: string;
  correlationId: string;
  ackPolicy: string;
}

/** proto.Ack as received. */
export interface ReceivedAck {
  stream: string;
  partitionSubject: string;
  msgSubject: string;
  offset: string;
  ackInbox: string;
  correlationId: string;
  ackPolicy: string;
  receptionTimestamp: string;
  commitTimestamp: string;
  ackError: string;
}

/** proto.PublishResponse as received. */
export interface PublishResponse {
  ack: ReceivedAck | null;
  asyncError: { code: string; message: string } | null;
  correlationId: string;
}

/** Per-call options: a deadline in ms from now. */
export interface CallTimeout {
  readonly timeoutMs?: number;
}

/** A live Subscribe call. */
export interface SubscribeCall {
  /** Every message in order, the empty handshake first; throws the ServiceError the call ends with. */
  readonly messages: AsyncIterableIterator<SubscribedMessage, undefined>;
  /** Cancels the call (the iterator then throws CANCELLED). */
  cancel(): void;
  /** The underlying grpc-js stream. */
  readonly call: ClientReadableStream<SubscribedMessage>;
}

/** A live PublishAsync call. */
export interface PublishAsyncCall {
  /** Sends one PublishRequest; false when the caller should await drained() before sending more. */
  send(request: ProtoObject): boolean;
  /**
   * Resolves once grpc-js has sent what it buffered. Senders of many messages should honour it:
   * grpc-js rescans its whole send buffer per message, so blasting makes sending quadratic.
   */
  drained(): Promise<void>;
  /** Half-closes the request side; responses keep coming until the server ends the call. */
  end(): void;
  /** Every response in order; completes when the server ends the call, throws on an error status. */
  readonly responses: AsyncIterableIterator<PublishResponse, undefined>;
  cancel(): void;
  readonly call: ClientDuplexStream<ProtoObject, PublishResponse>;
}

/** The unary RPCs of proto.API (method names as in the service). */
export type UnaryMethod =
  | "CreateStream" | "DeleteStream" | "PauseStream" | "SetStreamReadonly" | "FetchMetadata" | "FetchPartitionMetadata"
  | "Publish" | "PublishToSubject" | "SetCursor" | "FetchCursor" | "JoinConsumerGroup" | "LeaveConsumerGroup"
  | "FetchConsumerGroupAssignments" | "ReportConsumerGroupCoordinator";

/** A typed-enough proto.API client. Unary promises reject with the grpc-js ServiceError (code, details). */
export interface ApiClient {
  unary<T = ProtoObject>(method: UnaryMethod, request: ProtoObject, options?: CallTimeout): Promise<T>;
  createStream(request: ProtoObject, options?: CallTimeout): Promise<ProtoObject>;
  deleteStream(name: string, options?: CallTimeout): Promise<ProtoObject>;
  pauseStream(request: ProtoObject, options?: CallTimeout): Promise<ProtoObject>;
  setStreamReadonly(request: ProtoObject, options?: CallTimeout): Promise<ProtoObject>;
  fetchMetadata(request?: ProtoObject, options?: CallTimeout): Promise<ProtoObject>;
  fetchPartitionMetadata(stream: string, partition: number, options?: CallTimeout): Promise<ProtoObject>;
  publish(request: ProtoObject, options?: CallTimeout): Promise<PublishResponse>;
  publishToSubject(request: ProtoObject, options?: CallTimeout): Promise<{ ack: ReceivedAck | null }>;
  subscribe(request: ProtoObject, options?: CallTimeout): SubscribeCall;
  publishAsync(): PublishAsyncCall;
  /** grpc.health.v1.Health/Check: "SERVING", "NOT_SERVING", ... */
  healthCheck(service?: string): Promise<string>;
  /** grpc.health.v1.Health/Watch: each status as it changes. */
  healthWatch(service?: string): { readonly statuses: AsyncIterableIterator<string, undefined>; cancel(): void };
  /** The raw grpc-js client of proto.API. */
  readonly raw: Client;
  close(): void;
}

type Callback = (error: ServiceError | null, response: unknown) => void;
type UnaryFn = (request: ProtoObject, metadata: Metadata, options: CallOptions, callback: Callback) => void;

function callOptions(options: CallTimeout | undefined): CallOptions {
  return options?.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

/**
 * Channel options: no transparent retries. grpc-js keeps every message of a retryable streaming
 * call in a buffer it rescans per message, which makes a long PublishAsync stream quadratic.
 */
export const CLIENT_CHANNEL_OPTIONS = { "grpc.enable_retries": 0, "grpc.per_rpc_retry_buffer_size": 4096 } as const;

type ClientConstructor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options: object) => Client;

function apiClientConstructor(): ClientConstructor {
  const pkg = loadPackageDefinition(loadSync(API_PROTO_PATH, PROTO_LOADER_OPTIONS)) as unknown as { proto: { API: ClientConstructor } };
  return pkg.proto.API;
}

/** Connects a client to `address` ("host:port"). */
export function createApiClient(address: string): ApiClient {
  const ApiConstructor = apiClientConstructor();
  const raw = new ApiConstructor(address, credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
  const HealthClient = makeGenericClientConstructor(healthService, "Health");
  const health = new HealthClient(address, credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS) as unknown as Record<string, UnaryFn> & Client;
  const methods = raw as unknown as Record<string, UnaryFn>;
  const unary = <T>(method: UnaryMethod, request: ProtoObject, options?: CallTimeout): Promise<T> =>
    new Promise((resolve, reject) => {
      methods[method]!.call(raw, request, new Metadata(), callOptions(options), (error, response) =>
        error ? reject(error) : resolve(response as T));
    });
  const streaming = raw as unknown as {
    Subscribe(request: ProtoObject, options: CallOptions): ClientReadableStream<SubscribedMessage>;
    PublishAsync(): ClientDuplexStream<ProtoObject, PublishResponse>;
  };
  return {
    unary,
    createStream: (r, o) => unary("CreateStream", r, o),
    deleteStream: (name, o) => unary("DeleteStream", { name }, o),
    pauseStream: (r, o) => unary("PauseStream", r, o),
    setStreamReadonly: (r, o) => unary("SetStreamReadonly", r, o),
    fetchMetadata: (r = {}, o) => unary("FetchMetadata", r, o),
    fetchPartitionMetadata: (stream, partition, o) => unary("FetchPartitionMetadata", { stream, partition }, o),
    publish: (r, o) => unary("Publish", r, o),
    publishToSubject: (r, o) => unary("PublishToSubject", r, o),
    subscribe: (request, options) => {
      const call = streaming.Subscribe(request, callOptions(options));
      return { call, messages: call[Symbol.asyncIterator]() as AsyncIterableIterator<SubscribedMessage, undefined>, cancel: () => call.cancel() };
    },
    publishAsync: () => {
      const call = streaming.PublishAsync();
      return {
        call,
        send: (r) => call.write(r),
        drained: () => (call.writableNeedDrain ? new Promise((resolve) => call.once("drain", () => resolve())) : Promise.resolve()),
        end: () => call.end(),
        responses: call[Symbol.asyncIterator]() as AsyncIterableIterator<PublishResponse, undefined>,
        cancel: () => call.cancel(),
      };
    },
    healthCheck: (service = "") =>
      new Promise((resolve, reject) => {
        health["Check"]!.call(health, { service }, new Metadata(), {}, (error, response) =>
          error ? reject(error) : resolve((response as { status: string }).status));
      }),
    healthWatch: (service = "") => {
      const call = (health as unknown as { Watch(r: ProtoObject): ClientReadableStream<{ status: string }> }).Watch({ service });
      const statuses = (async function* (): AsyncGenerator<string, undefined> {
        for await (const m of call) yield (m as { status: string }).status;
        return undefined;
      })();
      return { statuses, cancel: () => call.cancel() };
    },
    raw,
    close: () => {
      raw.close();
      health.close();
    },
  };
}
