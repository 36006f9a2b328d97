// The gRPC API server: proto.API (every Liftbridge RPC) over a BrokerService, plus the standard
// gRPC health service (SERVING for "" and "proto.API" while up, NOT_SERVING once closing).
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { BrokerService } from "../broker-service.js";
import type { GrpcTlsMaterial } from "../config/grpc-tls.js";
import type { Logger } from "../logger.js";
import { apiServiceDefinition } from "./api-service-definition.js";
import { handlePublishAsync } from "./publish-async-handler.js";
import { handlePublish, handlePublishToSubject } from "./publish-handlers.js";
import { handleSubscribe } from "./subscribe-handler.js";
import { coreUnaryHandler, UNIMPLEMENTED_METHODS, unimplementedHandler } from "./unary-handlers.js";

/** Where and how the gRPC server listens. */
export interface GrpcServerOptions {
  readonly host: string;
  /** 0 picks an ephemeral port. */
  readonly port: number;
  readonly logger?: Logger;
  /** TLS (and mutual TLS when it holds a client CA); plaintext when absent. */
  readonly tls?: GrpcTlsMaterial;
}

/** A running gRPC server. */
export interface GrpcServer {
  /** The port actually bound. */
  readonly port: number;
  /** Reports NOT_SERVING, lets calls finish for up to `graceMs` (default 5000), then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

/** The health-checked service names. */
export const HEALTH_SERVICES: readonly string[] = ["", "proto.API"];
const DEFAULT_GRACE_MS = 5000;

function apiImplementation(service: BrokerService, logger: Logger | undefined): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {
    CreateStream: coreUnaryHandler(service, "CreateStream"),
    DeleteStream: coreUnaryHandler(service, "DeleteStream"),
    PauseStream: coreUnaryHandler(service, "PauseStream"),
    SetStreamReadonly: coreUnaryHandler(service, "SetStreamReadonly"),
    FetchMetadata: coreUnaryHandler(service, "FetchMetadata"),
    FetchPartitionMetadata: coreUnaryHandler(service, "FetchPartitionMetadata"),
    Subscribe: (call: Parameters<typeof handleSubscribe>[1]) => handleSubscribe(service, call),
    Publish: (call: Parameters<typeof handlePublish>[1], cb: Parameters<typeof handlePublish>[2]) => handlePublish(service, call, cb),
    PublishAsync: (call: Parameters<typeof handlePublishAsync>[1]) => handlePublishAsync(service, call, logger),
    PublishToSubject: (call: Parameters<typeof handlePublishToSubject>[1], cb: Parameters<typeof handlePublishToSubject>[2]) =>
      handlePublishToSubject(service, call, cb),
  };
  for (const method of UNIMPLEMENTED_METHODS) impl[method] = unimplementedHandler(method);
  return impl;
}

/** Liftbridge's credentials: TLS from tls.key/tls.cert; with a client CA, RequireAndVerifyClientCert. */
function serverCredentials(tls: GrpcTlsMaterial | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.clientCa !== undefined);
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
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
  const server = new Server();
  server.addService(apiServiceDefinition(), apiImplementation(service, options.logger));
  const health = new HealthImplementation();
  health.addToServer(server);
  const host = options.host.includes(":") && !options.host.startsWith("[") ? `[${options.host}]` : options.host;
  const port = await bind(server, `${host}:${options.port}`, serverCredentials(options.tls));
  for (const name of HEALTH_SERVICES) health.setStatus(name, "SERVING");
  options.logger?.info({ host: options.host, port }, "gRPC API listening");
  let closing: Promise<void> | undefined;
  return {
    port,
    close(graceMs = DEFAULT_GRACE_MS): Promise<void> {
      closing ??= (async () => {
        for (const name of HEALTH_SERVICES) health.setStatus(name, "NOT_SERVING");
        // Let health watchers see NOT_SERVING before connections get GOAWAY.
        await new Promise((resolve) => setImmediate(resolve));
        await shutdown(server, graceMs);
        options.logger?.info({ port }, "gRPC API closed");
      })();
      return closing;
    },
  };
}
