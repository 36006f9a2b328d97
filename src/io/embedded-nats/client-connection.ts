// One client connection of the embedded NATS server: parses its bytes, applies its ops, and queues
// its output. Routing between connections belongs to the server (through `ClientHost`).
import type { Socket } from "node:net";
import { isValidPublishSubject, subjectMatches } from "../../core/nats/subject.js";
import { Outbound } from "../nats-protocol/outbound.js";
import { ClientParser, type ClientOp, type ConnectOptions } from "./parser.js";

/** Log levels of the embedded server's logger. */
export type NatsLogLevel = "debug" | "info" | "warn" | "error";
/** The embedded server's logger (pino-shaped: level, message, structured fields). */
export type NatsLogger = (level: NatsLogLevel, msg: string, fields: Record<string, unknown>) => void;

/** A subscription of one connection, as stored in the server's Sublist. */
export interface ClientSubscription {
  readonly client: ClientConnection;
  readonly sid: string;
  readonly key: string;
  readonly subject: string;
  readonly queue: string | undefined;
  /** Auto-unsubscribe after this many deliveries (UNSUB sid max). */
  max: number | undefined;
  delivered: number;
}

/** What a connection needs from its server. */
export interface ClientHost {
  readonly maxPayload: number;
  readonly maxControlLine: number;
  readonly maxPendingBytes: number;
  readonly log: NatsLogger;
  publish(from: ClientConnection, subject: string, reply: string | undefined, headerSize: number | undefined, payload: Buffer): void;
  /** Adds a subscription; returns an -ERR text when it is refused. */
  subscribe(sub: ClientSubscription): string | undefined;
  unsubscribe(sub: ClientSubscription): void;
  scheduleFlush(client: ClientConnection): void;
  connectionClosed(client: ClientConnection): void;
}

/** The CONNECT options the server acts on. */
interface ClientOptions {
  verbose: boolean;
  pedantic: boolean;
  headers: boolean;
  echo: boolean;
  noResponders: boolean;
  name: string | undefined;
}

function readConnectOptions(o: ConnectOptions): ClientOptions {
  return {
    verbose: o["verbose"] === true,
    pedantic: o["pedantic"] === true,
    headers: o["headers"] === true,
    echo: o["echo"] !== false,
    noResponders: o["no_responders"] === true,
    name: typeof o["name"] === "string" ? o["name"] : undefined,
  };
}

// Output beyond this is handed to the socket at once instead of waiting for the end of the turn.
const EAGER_FLUSH_BYTES = 64 * 1024;
// How long a connection closed for a protocol error may linger half-open before it is destroyed.
const CLOSE_LINGER_MS = 2000;

/** One client connection: its parser, subscriptions, options and pending output. */
export class ClientConnection {
  /** Subscriptions by sid. */
  readonly subscriptions = new Map<string, ClientSubscription>();
  private readonly parser: ClientParser;
  private readonly outbound = new Outbound();
  private options: ClientOptions = readConnectOptions({});
  private closed = false;
  private connected = false;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly host: ClientHost,
  ) {
    this.parser = new ClientParser({ maxPayload: host.maxPayload, maxControlLine: host.maxControlLine });
  }

  /** True once the connection is closed or closing; it then takes no input and gets no messages. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** True once the client has sent CONNECT. */
  get hasConnected(): boolean {
    return this.connected;
  }

  /** Whether this client asked to receive its own publications (CONNECT echo, default true). */
  get echo(): boolean {
    return this.options.echo;
  }

  /** Applies every op in one chunk read from the socket. */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    const { ops, error } = this.parser.feed(chunk);
    for (const op of ops) {
      this.apply(op);
      if (this.closed) return;
    }
    if (error !== undefined) {
      this.host.log("warn", "NATS client protocol error", { clientId: this.id, error: error.message, detail: error.detail });
      this.closeWithError(error.message);
    }
  }

  /** Queues a protocol line (CRLF included by the caller). */
  send(line: string): void {
    if (this.closed) return;
    this.outbound.writeString(line);
    this.host.scheduleFlush(this);
  }

  /** Queues a MSG or HMSG for one of this connection's subscriptions. */
  deliver(sub: ClientSubscription, subject: string, reply: string | undefined, headerSize: number | undefined, payload: Buffer): void {
    if (this.closed) return;
    const replyPart = reply === undefined ? "" : ` ${reply}`;
    if (headerSize !== undefined && this.options.headers) {
      this.outbound.writeString(`HMSG ${subject} ${sub.sid}${replyPart} ${headerSize} ${payload.length}\r\n`);
      this.outbound.writeBytes(payload);
    } else {
      // A client that did not ask for headers gets the message body only, as nats-server does.
      const body = headerSize === undefined ? payload : payload.subarray(headerSize);
      this.outbound.writeString(`MSG ${subject} ${sub.sid}${replyPart} ${body.length}\r\n`);
      this.outbound.writeBytes(body);
    }
    this.outbound.writeString("\r\n");
    // A big burst goes to the socket mid-turn, so only bytes the peer has not read count against it.
    if (this.outbound.pendingBytes >= EAGER_FLUSH_BYTES) this.flush();
    if (this.outbound.pendingBytes + this.socket.writableLength > this.host.maxPendingBytes) {
      this.host.log("warn", "NATS slow consumer detected, closing connection", {
        clientId: this.id,
        pendingBytes: this.outbound.pendingBytes + this.socket.writableLength,
        maxPendingBytes: this.host.maxPendingBytes,
      });
      this.closeWithError("Slow Consumer", true);
      return;
    }
    this.host.scheduleFlush(this);
  }

  /** Hands pending output to the socket (called once per event-loop turn by the server). */
  flush(): void {
    if (!this.socket.destroyed) this.outbound.flushTo(this.socket);
  }

  /**
   * Sends `-ERR '<message>'`, then closes; with `dropPending` (slow consumer) the output not yet
   * handed to the socket is discarded first, so the error is not stuck behind it.
   */
  closeWithError(message: string, dropPending = false): void {
    if (this.closed) return;
    if (dropPending) this.outbound.discard();
    this.outbound.writeString(`-ERR '${message}'\r\n`);
    this.flush();
    this.markClosed();
    this.socket.end();
    // A peer that never reads or never closes its side must not keep the socket alive.
    const linger = setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS);
    linger.unref();
    this.socket.once("close", () => clearTimeout(linger));
  }

  /** Forgets this connection's subscriptions and tells the server (idempotent). */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.subscriptions.values()) this.host.unsubscribe(sub);
    this.subscriptions.clear();
    this.host.connectionClosed(this);
  }

  /**
   * Answers a request nobody subscribes to with a 503 status on the publisher's own reply
   * subscription, as nats-server does for clients that set no_responders and headers.
   */
  noResponders(reply: string): void {
    if (this.closed || !this.options.noResponders || !this.options.headers) return;
    for (const sub of this.subscriptions.values()) {
      if (subjectMatches(sub.subject, reply)) {
        this.send(`HMSG ${reply} ${sub.sid} 16 16\r\nNATS/1.0 503\r\n\r\n\r\n`);
        return;
      }
    }
  }

  private ok(): void {
    if (this.options.verbose) this.send("+OK\r\n");
  }

  private apply(op: ClientOp): void {
    switch (op.kind) {
      case "connect":
        this.options = readConnectOptions(op.options);
        this.connected = true;
        this.host.log("debug", "NATS client connected", { clientId: this.id, name: this.options.name });
        return this.ok();
      case "pub":
      case "hpub":
        return this.publish(op.subject, op.reply, op.kind === "hpub" ? op.headerSize : undefined, op.payload);
      case "sub":
        return this.subscribe(op.subject, op.queue, op.sid);
      case "unsub":
        return this.unsubscribe(op.sid, op.max);
      case "ping":
        return this.send("PONG\r\n");
      case "pong":
        return;
    }
  }

  private publish(subject: string, reply: string | undefined, headerSize: number | undefined, payload: Buffer): void {
    if (this.options.pedantic && !isValidPublishSubject(subject)) {
      this.send("-ERR 'Invalid Publish Subject'\r\n");
      return;
    }
    this.host.publish(this, subject, reply, headerSize, payload);
    this.ok();
  }

  private subscribe(subject: string, queue: string | undefined, sid: string): void {
    // nats-server ignores a SUB that reuses a live sid.
    if (!this.subscriptions.has(sid)) {
      const sub: ClientSubscription = { client: this, sid, key: `${this.id} ${sid}`, subject, queue, max: undefined, delivered: 0 };
      const refused = this.host.subscribe(sub);
      if (refused !== undefined) {
        this.send(`-ERR '${refused}'\r\n`);
        return;
      }
      this.subscriptions.set(sid, sub);
    }
    this.ok();
  }

  private unsubscribe(sid: string, max: number | undefined): void {
    const sub = this.subscriptions.get(sid);
    if (sub !== undefined) {
      if (max !== undefined && max > 0 && sub.delivered < max) {
        sub.max = max;
      } else {
        this.removeSubscription(sub);
      }
    }
    this.ok();
  }

  /** Drops one of this connection's subscriptions (UNSUB, or its max reached). */
  removeSubscription(sub: ClientSubscription): void {
    if (this.subscriptions.get(sub.sid) !== sub) return;
    this.subscriptions.delete(sub.sid);
    this.host.unsubscribe(sub);
  }
}
