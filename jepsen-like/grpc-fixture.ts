// A gRPC server over a test BrokerService, with an embedded NATS server, a NATS connection for the
// service and a test client: what every test of src/io/grpc sets up. Loopback, ephemeral ports.
import assert from "node:assert/strict";
import type { ServiceError } from "@grpc/grpc-js";
import { connect, type NatsConnection } from "nats";
import type { BrokerService } from "../src/io/broker-service.js";
import { startEmbeddedNats, type EmbeddedNats } from "../src/io/embedded-nats/server.js";
import { startGrpcServer, type GrpcServer } from "../src/io/grpc/grpc-server.js";
import { createApiClient, type ApiClient } from "./grpc-test-client.js";

/** Everything a gRPC test needs, and how to stop it. */
export interface GrpcFixture<B extends BrokerService> {
  readonly nats: EmbeddedNats;
  readonly nc: NatsConnection;
  readonly broker: B;
  readonly server: GrpcServer;
  readonly client: ApiClient;
  close(): Promise<void>;
}

/** Starts NATS, the service made by `makeBroker` (given the NATS connection), the server and a client. */
export async function startGrpcFixture<B extends BrokerService>(makeBroker: (nc: NatsConnection, nats: EmbeddedNats) => B | Promise<B>): Promise<GrpcFixture<B>> {
  const nats = await startEmbeddedNats({ host: "127.0.0.1", port: 0 });
  const nc = await connect({ servers: `127.0.0.1:${nats.port}`, reconnect: false });
  const broker = await makeBroker(nc, nats);
  const server = await startGrpcServer(broker, { host: "127.0.0.1", port: 0 });
  const client = createApiClient(`127.0.0.1:${server.port}`);
  return {
    nats, nc, broker, server, client,
    close: async () => {
      client.close();
      await server.close(1000);
      await nc.close();
      await nats.close();
    },
  };
}

/** The error a call failed with (fails the test when the call succeeds). */
export async function rejection(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  assert.fail("the call succeeded");
}
