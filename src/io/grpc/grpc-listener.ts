// The gRPC API's TCP listener: a net.Server of our own that caps the number of open connections
// (grpc.max.connections; a connection past it is closed at once), handing every accepted socket to
// grpc-js through its supported connection injector (Server.createConnectionInjector, grpc-js
// >= 1.10), which applies the server's credentials and options (idle timeout, keepalive) as for
// its own listeners. grpc-js has no connection-count option of its own.
import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";

/** A listening gRPC port. */
export interface GrpcListener {
  /** The port actually bound. */
  readonly port: number;
  /** Open connections. */
  connectionCount(): number;
  /** Stops accepting connections (open ones are grpc-js's to close). */
  close(): void;
}

/** How often a refused connection is logged at most. */
const REFUSED_LOG_INTERVAL_MS = 10_000;

/** Listens on host:port and feeds accepted sockets to `server`; `maxConnections` 0 means no cap. */
export function listenForGrpc(server: Server, credentials: ServerCredentials, host: string, port: number, maxConnections: number, logger?: Logger): Promise<GrpcListener> {
  const injector = server.createConnectionInjector(credentials);
  const sockets = new Set<Socket>();
  const net: NetServer = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    injector.injectConnection(socket);
  });
  if (maxConnections > 0) net.maxConnections = maxConnections;
  let refused = 0;
  let lastLogMs = -Infinity;
  net.on("drop", () => {
    refused++;
    const now = performance.now();
    if (now - lastLogMs < REFUSED_LOG_INTERVAL_MS) return;
    lastLogMs = now;
    logger?.warn({ maxConnections, refusedSoFar: refused }, "gRPC connection refused: grpc.max.connections reached");
  });
  return new Promise((resolve, reject) => {
    net.once("error", reject);
    net.listen({ host, port }, () => {
      net.off("error", reject);
      const address = net.address();
      const bound = typeof address === "object" && address !== null ? address.port : port;
      resolve({
        port: bound,
        connectionCount: () => sockets.size,
        close: () => void net.close(),
      });
    });
  });
}
