// The embedded NATS server: a net.Server whose connections speak the core client protocol, with
// subject routing done by the core's Sublist (the same code the simulator's NATS uses).
import { DEFAULT_MAX_CONTROL_LINE } from "../../core/nats/control-line.js";
import { createServer, type Server, type Socket } from "node:net";
import { Sublist } from "../../core/nats/sublist.js";
import type { Random } from "../../core/random.js";
import { ClientConnection, type ClientHost, type ClientSubscription, type NatsLogger } from "./client-connection.js";
import { mathRandom } from "./math-random.js";

export type { NatsLogger, NatsLogLevel } from "./client-connection.js";

/** Options of the embedded NATS server; every field has nats-server's default. */
export interface EmbeddedNatsOptions {
  /** Interface to listen on (default "0.0.0.0"). */
  host?: string;
  /** Port to listen on (default 4222; 0 picks an ephemeral port). */
  port?: number;
  /** Largest message payload, headers included (default 1 MiB). */
  maxPayload?: number;
  /** Longest control line in bytes (default 4096). */
  maxControlLine?: number;
  /** Unsent bytes after which a connection is dropped as a slow consumer (default 64 MiB). */
  maxPendingBytes?: number;
  /** Sent as server_name in INFO (default: the server id). */
  serverName?: string;
  /** Picks queue-group members (default: Math.random). */
  random?: Random;
  /** Receives the server's log events (default: discarded). */
  logger?: NatsLogger;
  /** Open connections at most; one more gets -ERR 'maximum connections exceeded' (default 65536). */
  maxConnections?: number;
  /** A connection that sends no CONNECT within this is closed with -ERR 'Authentication Timeout' (default 2000). */
  connectTimeoutMs?: number;
}

/** A running embedded NATS server. */
export interface EmbeddedNats {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The host it listens on. */
  readonly host: string;
  /** Stops listening, closes every connection and resolves once the listener is closed. */
  close(): Promise<void>;
  /** The number of open client connections. */
  connectionCount(): number;
}

/** The version announced in INFO: the nats-server release whose core protocol this follows. */
export const EMBEDDED_NATS_VERSION = "2.9.10";
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** nats-server's DEFAULT_MAX_CONNECTIONS. */
export const DEFAULT_MAX_CONNECTIONS = 64 * 1024;
/** nats-server's AUTH_TIMEOUT: how long a new connection has to send CONNECT. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** How long a refused connection may take to read its -ERR before it is destroyed. */
const CONNECT_REFUSED_LINGER_MS = 1000;
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function serverId(random: Random): string {
  let id = "N";
  for (let i = 0; i < 21; i++) id += ID_ALPHABET[random.int("natsServerId", ID_ALPHABET.length)];
  return id;
}

/** Routes messages between the connections of one server. */
class Router implements ClientHost {
  readonly sublist = new Sublist<ClientSubscription>();
  readonly connections = new Set<ClientConnection>();
  private readonly dirty = new Set<ClientConnection>();
  private flushScheduled = false;

  constructor(
    readonly maxPayload: number,
    readonly maxPendingBytes: number,
    readonly log: NatsLogger,
    private readonly random: Random,
    readonly maxControlLine: number = DEFAULT_MAX_CONTROL_LINE,
  ) {}

  publish(from: ClientConnection, subject: string, reply: string | undefined, headerSize: number | undefined, payload: Buffer): void {
    const targets = this.sublist.match(subject, this.random);
    let delivered = 0;
    for (const sub of targets) {
      if (sub.client === from && !from.echo) continue;
      sub.client.deliver(sub, subject, reply, headerSize, payload);
      delivered++;
      sub.delivered++;
      if (sub.max !== undefined && sub.delivered >= sub.max) sub.client.removeSubscription(sub);
    }
    if (delivered === 0 && reply !== undefined) from.noResponders(reply);
  }

  subscribe(sub: ClientSubscription): string | undefined {
    const inserted = this.sublist.insert({ key: sub.key, subject: sub.subject, queue: sub.queue, value: sub });
    if (inserted.ok) return undefined;
    this.log("debug", "NATS subscription refused", { clientId: sub.client.id, subject: sub.subject, error: inserted.error.message });
    return inserted.error.message.startsWith("queue group") ? "Invalid Queue Name" : "Invalid Subject";
  }

  unsubscribe(sub: ClientSubscription): void {
    this.sublist.remove(sub.key);
  }

  scheduleFlush(client: ClientConnection): void {
    this.dirty.add(client);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Once per event-loop turn, after every chunk read in this turn has been routed.
    setImmediate(() => this.flushAll());
  }

  flushAll(): void {
    this.flushScheduled = false;
    for (const client of this.dirty) client.flush();
    this.dirty.clear();
  }

  connectionClosed(client: ClientConnection): void {
    this.connections.delete(client);
    this.dirty.delete(client);
  }
}

function infoLine(router: Router, id: string, name: string, host: string, port: number, clientId: number, socket: Socket): string {
  const info = {
    server_id: id,
    server_name: name,
    version: EMBEDDED_NATS_VERSION,
    proto: 1,
    go: `node${process.versions.node}`,
    host,
    port,
    headers: true,
    max_payload: router.maxPayload,
    client_id: clientId,
    client_ip: socket.remoteAddress ?? "",
  };
  return `INFO ${JSON.stringify(info)}\r\n`;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

/** Starts an in-process NATS server speaking the core client protocol (see EmbeddedNatsOptions). */
export async function startEmbeddedNats(options: EmbeddedNatsOptions = {}): Promise<EmbeddedNats> {
  const host = options.host ?? "0.0.0.0";
  const random = options.random ?? mathRandom;
  const log: NatsLogger = options.logger ?? (() => undefined);
  const router = new Router(options.maxPayload ?? DEFAULT_MAX_PAYLOAD, options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES, log, random, options.maxControlLine);
  const id = serverId(random);
  const name = options.serverName ?? id;
  let nextClientId = 1;
  let boundPort = 0;
  const sockets = new Set<Socket>();
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const server = createServer({ noDelay: true }, (socket) => {
    if (router.connections.size >= maxConnections) {
      log("warn", "NATS connection refused: max_connections reached", { maxConnections, remote: socket.remoteAddress });
      socket.on("error", () => undefined);
      socket.end("-ERR 'maximum connections exceeded'\r\n");
      setTimeout(() => socket.destroy(), CONNECT_REFUSED_LINGER_MS).unref();
      return;
    }
    sockets.add(socket);
    const client = new ClientConnection(nextClientId++, socket, router);
    // As nats-server's auth timer: a connection that never says CONNECT does not hold a slot for ever.
    const connectTimer = setTimeout(() => {
      if (client.hasConnected || client.isClosed) return;
      log("debug", "NATS client sent no CONNECT in time", { clientId: client.id, connectTimeoutMs });
      client.closeWithError("Authentication Timeout");
    }, connectTimeoutMs);
    connectTimer.unref();
    router.connections.add(client);
    socket.on("data", (chunk: Buffer) => client.receive(chunk));
    socket.on("error", (e) => log("debug", "NATS client socket error", { clientId: client.id, error: e.message }));
    socket.on("close", () => {
      clearTimeout(connectTimer);
      sockets.delete(socket);
      client.markClosed();
    });
    client.send(infoLine(router, id, name, host, boundPort, client.id, socket));
  });
  boundPort = await listen(server, host, options.port ?? 4222);
  server.on("error", (e) => log("error", "embedded NATS listener error", { error: e.message }));
  log("info", "embedded NATS server listening", { host, port: boundPort, serverId: id });
  return {
    port: boundPort,
    host,
    connectionCount: () => router.connections.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        router.flushAll();
        for (const socket of sockets) socket.destroy();
      }),
  };
}
