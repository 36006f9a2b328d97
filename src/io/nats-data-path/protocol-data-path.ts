// The broker's data path over its own NATS protocol client: one plain TCP connection that
// subscribes to stream subjects and publishes acks. nats.js costs the broker a fifth of its time
// on the async publish path (its parser, an encoder call per PUB line, a socket write per flush);
// here every MSG is parsed from bytes without an op object, and the PUBs of one event-loop turn
// go out as one write, their "PUB <subject> " prefixes encoded once per subject. Reconnects like
// nats.js does for the broker (forever, every reconnectTimeWaitMs, round robin over the servers),
// then subscribes again. TLS is not spoken here: such servers get the nats.js data path.
import { connect as tcpConnect, type Socket } from "node:net";
import { assert } from "../../core/assert.js";
import { isValidPublishSubject } from "../../core/nats/subject.js";
import type { Logger } from "../logger.js";
import { Outbound } from "../nats-protocol/outbound.js";
import { ServerOpParser, type ServerOpHandler } from "../nats-protocol/server-op-parser.js";
import type { DataPathCallback, DataPathSubscription, NatsDataPath } from "./nats-data-path.js";

/** How to reach the NATS servers. */
export interface ProtocolDataPathOptions {
  /** "nats://host:port" (user:password@ allowed), "host:port" or "host". */
  readonly servers: readonly string[];
  /** The connection name nats-server shows (CONNECT name). */
  readonly name: string;
  readonly user?: string;
  readonly pass?: string;
  readonly logger: Logger;
  readonly reconnectTimeWaitMs?: number;
  readonly connectTimeoutMs?: number;
  /** Publish bytes kept while disconnected (nats.go's ReconnectBufSize default, 8 MiB). */
  readonly reconnectBufferBytes?: number;
  /** How often the server is PINGed to find a dead connection (nats.js's default, 2 minutes). */
  readonly pingIntervalMs?: number;
  /** PINGs without a PONG after which the connection is called dead and replaced (nats.js: 2). */
  readonly maxPingOut?: number;
}

/** Why the first connection failed; `tlsRequired` means: use the nats.js data path. */
export type ProtocolConnectFailure = { readonly reason: "tlsRequired" | "failed"; readonly message: string };

/** The outcome of ProtocolDataPath.connect. */
export type ProtocolConnectResult = { readonly ok: true; readonly value: ProtocolDataPath } | ({ readonly ok: false } & ProtocolConnectFailure);

interface Sub {
  readonly subject: string;
  readonly queue: string;
  readonly onMessage: DataPathCallback;
}

/** One TCP connection and where its handshake stands. */
interface Link {
  readonly socket: Socket;
  /** "info": waiting for INFO; "pong": CONNECT sent, waiting for the PONG of its PING; then ready. */
  phase: "info" | "pong" | "ready";
  /** Settles the attempt that made this link (once). */
  settle: ((failure: ProtocolConnectFailure | undefined) => void) | undefined;
}

interface ServerAddress {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly tls: boolean;
}

const DEFAULT_PORT = 4222;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
// Output beyond this goes to the socket at once instead of waiting for the end of the turn.
const EAGER_FLUSH_BYTES = 64 * 1024;
const PREFIX_CACHE_MAX = 4096;
const CRLF = "\r\n";

/** Parses one entry of `nats.servers`. */
export function parseServerAddress(server: string): ServerAddress {
  const url = new URL(server.includes("://") ? server : `nats://${server}`);
  const port = url.port === "" ? DEFAULT_PORT : Number(url.port);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    user: url.username === "" ? undefined : decodeURIComponent(url.username),
    pass: url.password === "" ? undefined : decodeURIComponent(url.password),
    tls: url.protocol === "tls:",
  };
}

/** The broker's data path over its own NATS protocol client. */
export class ProtocolDataPath implements NatsDataPath {
  readonly kind = "protocol";
  private readonly subs = new Map<number, Sub>();
  private nextSid = 1;
  private link: Link | undefined;
  private closed = false;
  private readonly outbound = new Outbound();
  private flushScheduled = false;
  /** Flushes whose PING went out on the current link, in order. */
  private pongWaiters: (() => void)[] = [];
  /** Flushes asked for while not connected: their PING goes out once connected. */
  private deferredFlushes: (() => void)[] = [];
  private readonly prefixes = new Map<string, Uint8Array>();
  private maxPayload = DEFAULT_MAX_PAYLOAD;
  private serverIndex = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private droppedWhileDisconnected = 0;
  private readonly pingTimer: NodeJS.Timeout;
  /** Keepalive PINGs sent on the current link since its last PONG. */
  private pingsOut = 0;

  private constructor(private readonly options: ProtocolDataPathOptions) {
    assert(options.servers.length > 0, "no NATS servers");
    this.pingTimer = setInterval(() => this.keepalive(), options.pingIntervalMs ?? 120_000);
    this.pingTimer.unref();
  }

  /** Connects to the first server that accepts, trying each once. */
  static async connect(options: ProtocolDataPathOptions): Promise<ProtocolConnectResult> {
    const path = new ProtocolDataPath(options);
    let last: ProtocolConnectFailure = { reason: "failed", message: "no server tried" };
    let tls: ProtocolConnectFailure | undefined;
    for (let i = 0; i < options.servers.length; i++) {
      const failure = await path.attempt();
      if (failure === undefined) return { ok: true, value: path };
      if (failure.reason === "tlsRequired") tls ??= failure;
      last = failure;
    }
    path.closed = true;
    clearInterval(path.pingTimer);
    return { ok: false, ...(tls ?? last) };
  }

  subscribe(subject: string, queue: string, onMessage: DataPathCallback): DataPathSubscription {
    assert(!this.closed, "subscribe on a closed data path");
    const sid = this.nextSid++;
    this.subs.set(sid, { subject, queue, onMessage });
    // Before CONNECT went out, the handshake sends every subscription; after it, this one is new.
    if (this.link !== undefined && this.link.phase !== "info") this.writeControl(subLine(sid, subject, queue));
    return {
      unsubscribe: () => {
        if (!this.subs.delete(sid) || this.closed) return;
        if (this.link !== undefined && this.link.phase !== "info") this.writeControl(`UNSUB ${sid}${CRLF}`);
      },
    };
  }

  publish(subject: string, data: Uint8Array, reply: string | undefined): void {
    if (this.closed) return;
    if (data.length > this.maxPayload) {
      this.options.logger.warn({ subject, bytes: data.length, maxPayload: this.maxPayload }, "NATS publish larger than the server's max_payload dropped");
      return;
    }
    if (this.link?.phase !== "ready" && this.outbound.pendingBytes > (this.options.reconnectBufferBytes ?? 8 * 1024 * 1024)) {
      this.droppedWhileDisconnected++;
      return;
    }
    this.outbound.writeBytes(reply === undefined ? this.prefixOf(subject) : pubPrefix(subject, reply));
    this.outbound.writeSizeLine(data.length);
    this.outbound.writeBytes(data);
    this.outbound.writeCrlf();
    this.scheduleFlush();
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.link?.phase !== "ready") return void this.deferredFlushes.push(resolve);
      this.pongWaiters.push(resolve);
      this.writeControl(`PING${CRLF}`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    const link = this.link;
    this.link = undefined;
    if (link !== undefined && link.phase === "ready") this.outbound.flushTo(link.socket);
    for (const resolve of [...this.pongWaiters, ...this.deferredFlushes]) resolve();
    this.pongWaiters = [];
    this.deferredFlushes = [];
    if (link === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => link.socket.destroy(), 2000);
      link.socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      link.socket.end();
    });
  }

  /** A connection that stopped answering PINGs is dead even if TCP has not noticed: replace it. */
  private keepalive(): void {
    const link = this.link;
    if (link === undefined || link.phase !== "ready") return;
    if (this.pingsOut >= (this.options.maxPingOut ?? 2)) {
      this.options.logger.warn({ pingsOut: this.pingsOut }, "NATS data connection is stale (no PONG); reconnecting");
      link.socket.destroy();
      return;
    }
    this.pingsOut++;
    this.pongWaiters.push(() => undefined);
    this.writeControl(`PING${CRLF}`);
  }

  private prefixOf(subject: string): Uint8Array {
    let prefix = this.prefixes.get(subject);
    if (prefix === undefined) {
      prefix = pubPrefix(subject, undefined);
      if (this.prefixes.size >= PREFIX_CACHE_MAX) this.prefixes.clear();
      this.prefixes.set(subject, prefix);
    }
    return prefix;
  }

  private writeControl(line: string): void {
    this.outbound.writeString(line);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    const link = this.link;
    if (link === undefined || link.phase !== "ready") return;
    if (this.outbound.pendingBytes >= EAGER_FLUSH_BYTES) {
      this.outbound.flushTo(link.socket);
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      if (this.link === link && link.phase === "ready") this.outbound.flushTo(link.socket);
    });
  }

  /** Opens a link to the next server and runs the handshake; undefined when it is ready. */
  private attempt(): Promise<ProtocolConnectFailure | undefined> {
    const server = this.options.servers[this.serverIndex++ % this.options.servers.length]!;
    let address: ServerAddress;
    try {
      address = parseServerAddress(server);
    } catch (e) {
      return Promise.resolve({ reason: "failed", message: `bad NATS server address ${JSON.stringify(server)}: ${e instanceof Error ? e.message : String(e)}` });
    }
    if (address.tls) return Promise.resolve({ reason: "tlsRequired", message: `${server} asks for TLS` });
    return new Promise((resolve) => {
      const socket = tcpConnect({ host: address.host, port: address.port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      const timer = setTimeout(() => link.settle?.({ reason: "failed", message: `${server}: no handshake within ${this.connectTimeoutMs} ms` }), this.connectTimeoutMs);
      const link: Link = {
        socket,
        phase: "info",
        settle: (failure) => {
          link.settle = undefined;
          clearTimeout(timer);
          if (failure !== undefined) socket.destroy();
          resolve(failure);
        },
      };
      this.link = link;
      const parser = new ServerOpParser(this.handlerFor(link, address));
      socket.on("data", (chunk: Buffer) => {
        const error = parser.feed(chunk);
        if (error !== undefined) {
          this.options.logger.warn({ err: error, server }, "NATS protocol error on the data connection");
          link.settle?.({ reason: "failed", message: `${server}: ${error}` });
          socket.destroy();
        }
      });
      socket.on("error", (e) => this.options.logger.debug({ err: e.message, server }, "NATS data connection error"));
      socket.on("close", () => this.onClose(link, server));
    });
  }

  private get connectTimeoutMs(): number {
    return this.options.connectTimeoutMs ?? 5000;
  }

  private handlerFor(link: Link, address: ServerAddress): ServerOpHandler {
    return {
      msg: (sid, subject, reply, payload) => {
        if (this.link === link) this.subs.get(sid)?.onMessage(subject, reply, payload);
      },
      info: (info) => this.onInfo(link, address, info),
      ping: () => {
        if (this.link !== link) return;
        if (link.phase === "ready") this.writeControl(`PONG${CRLF}`);
        else link.socket.write(`PONG${CRLF}`);
      },
      pong: () => this.onPong(link),
      err: (message) => {
        if (link.settle !== undefined) return link.settle({ reason: "failed", message: `NATS server refused the data connection: ${message}` });
        this.options.logger.warn({ err: message }, "NATS server error on the data connection");
      },
    };
  }

  private onInfo(link: Link, address: ServerAddress, info: Readonly<Record<string, unknown>>): void {
    if (typeof info["max_payload"] === "number") this.maxPayload = info["max_payload"];
    if (link.phase !== "info") return; // a later INFO (cluster changes): nothing to do here
    if (info["tls_required"] === true) return link.settle?.({ reason: "tlsRequired", message: "the NATS server requires TLS" });
    const user = address.user ?? this.options.user;
    const pass = address.pass ?? this.options.pass;
    const connect = {
      verbose: false, pedantic: false, tls_required: false, name: this.options.name, lang: "liftbridge-ts", version: "1",
      protocol: 1, headers: true, no_responders: false, echo: true,
      ...(user !== undefined && user !== "" ? { user, pass: pass ?? "" } : {}),
    };
    let lines = `CONNECT ${JSON.stringify(connect)}${CRLF}`;
    for (const [sid, sub] of this.subs) lines += subLine(sid, sub.subject, sub.queue);
    link.socket.write(`${lines}PING${CRLF}`);
    link.phase = "pong";
  }

  private onPong(link: Link): void {
    if (this.link !== link) return;
    this.pingsOut = 0;
    if (link.phase === "ready") return this.pongWaiters.shift()?.();
    if (link.phase !== "pong") return;
    link.phase = "ready";
    for (const resolve of this.deferredFlushes) {
      this.pongWaiters.push(resolve);
      this.outbound.writeString(`PING${CRLF}`);
    }
    this.deferredFlushes = [];
    if (this.droppedWhileDisconnected > 0) {
      this.options.logger.warn({ dropped: this.droppedWhileDisconnected }, "NATS publishes dropped while the data connection was down (reconnect buffer full)");
      this.droppedWhileDisconnected = 0;
    }
    this.outbound.flushTo(link.socket);
    link.settle?.(undefined);
  }

  private onClose(link: Link, server: string): void {
    // A failed handshake is its attempt's to report; the caller tries the next server.
    link.settle?.({ reason: "failed", message: `${server}: connection closed during the handshake` });
    if (this.link !== link) return;
    this.link = undefined;
    if (this.closed || link.phase !== "ready") return;
    // PINGs on the dead link get no PONG: their flushes wait for the next link.
    this.deferredFlushes = [...this.pongWaiters, ...this.deferredFlushes];
    this.pongWaiters = [];
    this.options.logger.warn({ server }, "NATS data connection lost; reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      void this.attempt().then((failure) => {
        if (failure === undefined) return this.options.logger.info({ subscriptions: this.subs.size }, "NATS data connection re-established");
        this.options.logger.debug({ err: failure.message }, "NATS data reconnect failed");
        this.scheduleReconnect();
      });
    }, this.options.reconnectTimeWaitMs ?? 250);
    this.reconnectTimer.unref();
  }
}

function subLine(sid: number, subject: string, queue: string): string {
  return queue === "" ? `SUB ${subject} ${sid}${CRLF}` : `SUB ${subject} ${queue} ${sid}${CRLF}`;
}

/** "PUB <subject> [reply] " as bytes; subjects are checked here, once per prefix built. */
function pubPrefix(subject: string, reply: string | undefined): Uint8Array {
  assert(isValidPublishSubject(subject), `invalid NATS publish subject ${JSON.stringify(subject)}`);
  if (reply === undefined) return Buffer.from(`PUB ${subject} `);
  assert(isValidPublishSubject(reply), `invalid NATS reply subject ${JSON.stringify(reply)}`);
  return Buffer.from(`PUB ${subject} ${reply} `);
}
