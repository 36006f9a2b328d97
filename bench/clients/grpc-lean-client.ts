// A lean grpc-js client of proto.API for the two hot RPCs: requests are encoded once by the caller
// and handed over as bytes; responses arrive as bytes and the caller decodes what it needs (the
// benchmark's JetStream client gets the same treatment from nats.js: raw bytes in, raw bytes out).
import type { Client, ClientDuplexStream, ClientReadableStream, ServiceDefinition } from "@grpc/grpc-js";
import { credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import { CLIENT_CHANNEL_OPTIONS } from "../../jepsen-like/grpc-test-client.js";

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const asIs = (b: Buffer): Buffer => b;

const LEAN_API: ServiceDefinition = {
  PublishAsync: {
    path: "/proto.API/PublishAsync", requestStream: true, responseStream: true,
    requestSerialize: toBuffer, requestDeserialize: asIs, responseSerialize: toBuffer, responseDeserialize: asIs,
  },
  Subscribe: {
    path: "/proto.API/Subscribe", requestStream: false, responseStream: true,
    requestSerialize: toBuffer, requestDeserialize: asIs, responseSerialize: toBuffer, responseDeserialize: asIs,
  },
};

/**
 * HTTP/2 receive window per stream and connection. Node's default is 64 KiB, about 60 messages of
 * 1 KiB in flight; 1 MiB matches what the JetStream reader has in flight (1,000 messages per pull).
 */
export const FLOW_CONTROL_WINDOW_BYTES = 1 << 20;

/** The two streaming RPCs over pre-encoded bytes. */
export interface LeanApiClient {
  publishAsync(): ClientDuplexStream<Uint8Array, Buffer>;
  subscribe(request: Uint8Array): ClientReadableStream<Buffer>;
  close(): void;
}

/** Connects to "host:port" (no retries, so grpc-js keeps no per-message retry buffer). */
export function createLeanApiClient(address: string, flowControlWindowBytes = FLOW_CONTROL_WINDOW_BYTES): LeanApiClient {
  const Ctor = makeGenericClientConstructor(LEAN_API, "API");
  const raw = new Ctor(address, credentials.createInsecure(), { ...CLIENT_CHANNEL_OPTIONS, "grpc-node.flow_control_window": flowControlWindowBytes }) as unknown as Client & {
    PublishAsync(): ClientDuplexStream<Uint8Array, Buffer>;
    Subscribe(request: Uint8Array): ClientReadableStream<Buffer>;
  };
  return {
    publishAsync: () => raw.PublishAsync(),
    subscribe: (request) => raw.Subscribe(request),
    close: () => raw.close(),
  };
}
