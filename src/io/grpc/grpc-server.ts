// The gRPC API server: proto.API (every Liftbridge RPC) over a BrokerService, plus the standard
// gRPC health service (SERVING for "" and "proto.API" while up, NOT_SERVING once closing).
// Limits (grpc.* keys): connections are capped and closed when idle, Subscribe and PublishAsync
// buffers are capped, and a graceful close ends streaming calls with UNAVAILABLE.
import type { sendUnaryData, ServerOptions, ServerUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import { Server, ServerCredentials, status as Status } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { BrokerService } from "../broker-service.js";
import type { GrpcTlsMaterial } from "../config/grpc-tls.js";
import type { Logger } from "../logger.js";
import { apiServiceDefinition } from "./api-service-definition.js";
import { handlePublishAsync } from "./publish-async-handler.js";
import { handlePublish, handlePublishToSubject } from "./publish-handlers.js";
import { handleSubscribe } from "./subscribe-handler.js";
import { coreUnaryHandler, UNIMPLEMENTED_METHODS, unimplementedHandler } from "./unary-handlers.js";
import type { GrpcLimits } from "../config/config-schema.js";
import { listenForGrpc } from "./grpc-listener.js";
import { OpenCalls, type StoppableCall } from "./open-calls.js";
import { SubscriberBufferPool } from "./subscriber-buffer-pool.js";
import type { SubscriberLimits } from "./subscribe-handler.js";

/** Where and how the gRPC server listens. */
export interface GrpcServerOptions {
  readonly host: string;
  /** 0 picks an ephemeral port. */
  readonly port: number;
  readonly logger?: Logger;
  /** TLS (and mutual TLS when it holds a client CA); plaintext when absent. */
  readonly tls?: GrpcTlsMaterial;
  /** Connection and buffer limits (default: DEFAULT_GRPC_LIMITS). */
  readonly limits?: GrpcLimits;
}

/** The defaults of the grpc.* keys (docs/configuration.md). */
export const DEFAULT_GRPC_LIMITS: GrpcLimits = {
  maxConnections: 4096,
  connectionIdleTimeoutMs: 10 * 60_000,
  keepaliveTimeMs: 2 * 60_000,
  subscriberMaxBufferedBytes: 5 * 512 * 1024,
  subscribersMaxBufferedBytes: 128 * 1024 * 1024,
  subscriberStallTimeoutMs: 30_000,
  publishAsyncMaxBufferedBytes: 8 * 1024 * 1024,
};
/** How long a close waits for the acks in flight over NATS before answering what is left UNAVAILABLE. */
const ACK_FLUSH_WAIT_MS = 1000;
/** How long a keepalive ping may go unanswered before the connection is closed. */
const KEEPALIVE_TIMEOUT_MS = 20_000;

/** A running gRPC server. */
export interface GrpcServer {
  /** The port actually bound. */
  readonly port: number;
  /** Open TCP connections. */
  connectionCount(): number;
  /** Reports NOT_SERVING to health checks (the first step of a graceful stop). */
  stopServing(): void;
  /**
   * Reports NOT_SERVING, ends Subscribe and PublishAsync calls with UNAVAILABLE (after answering
   * what they took), lets unary calls finish for up to `graceMs` (default 5000), then cancels the rest.
   */
  close(graceMs?: number): Promise<void>;
}

/** The health-checked service names. */
export const HEALTH_SERVICES: readonly string[] = ["", "proto.API"];
const DEFAULT_GRACE_MS = 5000;

function apiImplementation(service: BrokerService, logger: Logger | undefined, limits: GrpcLimits, calls: OpenCalls): UntypedServiceImplementation {
  const subscriberLimits: SubscriberLimits = {
    maxBufferedBytes: limits.subscriberMaxBufferedBytes,
    stallTimeoutMs: limits.subscriberStallTimeoutMs,
    pool: new SubscriberBufferPool(limits.subscribersMaxBufferedBytes),
    ...(logger !== undefined ? { logger } : {}),
  };
  const impl: UntypedServiceImplementation = {
    CreateStream: coreUnaryHandler(service, "CreateStream"),
    DeleteStream: coreUnaryHandler(service, "DeleteStream"),
    PauseStream: coreUnaryHandler(service, "PauseStream"),
    SetStreamReadonly: coreUnaryHandler(service, "SetStreamReadonly"),
    FetchMetadata: coreUnaryHandler(service, "FetchMetadata"),
    FetchPartitionMetadata: coreUnaryHandler(service, "FetchPartitionMetadata"),
    Subscribe: (call: Parameters<typeof handleSubscribe>[1]) => handleSubscribe(service, call, subscriberLimits, calls),
    Publish: stoppable(calls, (call: Parameters<typeof handlePublish>[1], cb: Parameters<typeof handlePublish>[2]) => handlePublish(service, call, cb)),
    PublishAsync: (call: Parameters<typeof handlePublishAsync>[1]) => handlePublishAsync(service, call, logger, limits.publishAsyncMaxBufferedBytes, calls),
    PublishToSubject: stoppable(calls, (call: Parameters<typeof handlePublishToSubject>[1], cb: Parameters<typeof handlePublishToSubject>[2]) =>
      handlePublishToSubject(service, call, cb)),
  };
  for (const method of UNIMPLEMENTED_METHODS) impl[method] = unimplementedHandler(method);
  return impl;
}

/** Liftbridge's credentials: TLS from tls.key/tls.cert; with a client CA, RequireAndVerifyClientCert. */
function serverCredentials(tls: GrpcTlsMaterial | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.clientCa !== undefined);
}

/**
 * A unary publish that a stopping server answers UNAVAILABLE if its ack has not come by then: its
 * message went to NATS but the broker no longer takes any, so the ack would never come and the
 * client would wait for its deadline (or get CANCELLED when the server is forced down).
 */
function stoppable<Req>(calls: OpenCalls, handler: (call: ServerUnaryCall<Req, Uint8Array>, callback: sendUnaryData<Uint8Array>) => void) {
  return (call: ServerUnaryCall<Req, Uint8Array>, callback: sendUnaryData<Uint8Array>): void => {
    let answered = false;
    const entry: StoppableCall = {
      stopServing: () => {
        answer({ code: Status.UNAVAILABLE, details: "Server shutting down" });
        return Promise.resolve();
      },
    };
    const answer: sendUnaryData<Uint8Array> = (...args) => {
      if (answered) return;
      answered = true;
      calls.remove(entry);
      callback(...args);
    };
    calls.add(entry);
    handler(call, answer);
  };
}

/** grpc-js options for the idle timeout and keepalive (a zero duration leaves grpc-js's "never"). */
function connectionOptions(limits: GrpcLimits): ServerOptions {
  return {
    ...(limits.connectionIdleTimeoutMs > 0 ? { "grpc.max_connection_idle_ms": limits.connectionIdleTimeoutMs } : {}),
    ...(limits.keepaliveTimeMs > 0 ? { "grpc.keepalive_time_ms": limits.keepaliveTimeMs, "grpc.keepalive_timeout_ms": KEEPALIVE_TIMEOUT_MS } : {}),
  };
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.forceShutdown(), graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts the gRPC API server (proto.API + grpc.health.v1.Health) over `service`. */
export async function startGrpcServer(service: BrokerService, options: GrpcServerOptions): Promise<GrpcServer> {
  const limits = options.limits ?? DEFAULT_GRPC_LIMITS;
  const server = new Server(connectionOptions(limits));
  const calls = new OpenCalls();
  server.addService(apiServiceDefinition(), apiImplementation(service, options.logger, limits, calls));
  const health = new HealthImplementation();
  health.addToServer(server);
  const host = options.host.replace(/^\[(.*)\]$/, "$1");
  const listener = await listenForGrpc(server, serverCredentials(options.tls), host, options.port, limits.maxConnections, options.logger);
  const port = listener.port;
  for (const name of HEALTH_SERVICES) health.setStatus(name, "SERVING");
  options.logger?.info({ host: options.host, port }, "gRPC API listening");
  let closing: Promise<void> | undefined;
  const stopServing = (): void => {
    for (const name of HEALTH_SERVICES) health.setStatus(name, "NOT_SERVING");
  };
  return {
    port,
    connectionCount: () => listener.connectionCount(),
    stopServing,
    close(graceMs = DEFAULT_GRACE_MS): Promise<void> {
      closing ??= (async () => {
        stopServing();
        listener.close();
        // Let health watchers see NOT_SERVING before connections get GOAWAY.
        await new Promise((resolve) => setImmediate(resolve));
        // Acks of what the broker took are on their way over NATS: have them in hand first.
        await Promise.race([service.nats.flush().catch(() => undefined), new Promise((r) => setTimeout(r, ACK_FLUSH_WAIT_MS))]);
        await calls.stopAll();
        await shutdown(server, graceMs);
        options.logger?.info({ port }, "gRPC API closed");
      })();
      return closing;
    },
  };
}
