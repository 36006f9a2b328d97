// What a NATS server sends a client (INFO, MSG, HMSG, PING, PONG, +OK, -ERR), parsed from raw
// socket chunks for the broker's data path. A state machine fed arbitrary chunks like the
// embedded server's parser, but built for a stream of MSGs: the control line is scanned byte by
// byte (no string split), subjects come from a small cache keyed by their bytes, and a payload
// that sits whole in its chunk is handed on as a view, never copied. Ops go to a handler instead
// of being collected, so a message costs no op object.
import { AsciiCache } from "../../core/ascii.js";

/** Receives what the server sent, in order. */
export interface ServerOpHandler {
  /**
   * A message on subscription `sid`; `reply` is "" when there is none. `payload` excludes NATS
   * headers (HMSG) and may be a view of the socket chunk: keep it, never modify it.
   */
  msg(sid: number, subject: string, reply: string, payload: Uint8Array): void;
  info(info: Readonly<Record<string, unknown>>): void;
  ping(): void;
  pong(): void;
  /** An -ERR line's text, without its quotes. */
  err(message: string): void;
}

/** The longest control line accepted: INFO can list a whole cluster's URLs. */
export const MAX_SERVER_CONTROL_LINE = 1024 * 1024;

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
/** At most 6 tokens: HMSG subject sid reply header-size total-size. */
const MAX_TOKENS = 6;

interface PendingPayload {
  readonly sid: number;
  readonly subject: string;
  readonly reply: string;
  readonly headerSize: number;
  /** Total size plus the trailing CRLF. */
  readonly need: number;
  /** Allocated only when the payload spans chunks. */
  buffer: Uint8Array | undefined;
  filled: number;
}

function isBlank(byte: number): boolean {
  return byte === SPACE || byte === TAB;
}

/** An incremental parser of one connection's server-to-client stream. */
export class ServerOpParser {
  private readonly strings = new AsciiCache();
  private readonly tokens = new Int32Array(MAX_TOKENS * 2);
  private pendingLine: Buffer[] = [];
  private pendingLineBytes = 0;
  private payload: PendingPayload | undefined;
  private failure: string | undefined;

  constructor(private readonly handler: ServerOpHandler) {}

  /** Parses one chunk; returns the protocol error that stopped parsing (then and on every later call). */
  feed(chunk: Buffer): string | undefined {
    let pos = 0;
    while (this.failure === undefined && pos < chunk.length) {
      pos = this.payload !== undefined ? this.readPayload(chunk, pos) : this.readControlLine(chunk, pos);
    }
    return this.failure;
  }

  private readControlLine(chunk: Buffer, pos: number): number {
    const length = chunk.length;
    const nl = chunk.indexOf(LF, pos);
    if (nl < 0) {
      this.pendingLine.push(chunk.subarray(pos));
      this.pendingLineBytes += length - pos;
      if (this.pendingLineBytes > MAX_SERVER_CONTROL_LINE + 1) this.failure = `control line longer than ${MAX_SERVER_CONTROL_LINE} bytes`;
      return length;
    }
    let line: Buffer = chunk;
    let start = pos;
    let end = nl;
    if (this.pendingLineBytes > 0) {
      this.pendingLine.push(chunk.subarray(pos, nl));
      line = Buffer.concat(this.pendingLine);
      this.pendingLine = [];
      this.pendingLineBytes = 0;
      start = 0;
      end = line.length;
    }
    if (end > start && line[end - 1] === CR) end--;
    this.parseLine(line, start, end);
    // The common case: a MSG whose payload is all in this chunk is delivered without a PendingPayload.
    const p = this.payload;
    if (p === undefined || line !== chunk || length - (nl + 1) < p.need) return nl + 1;
    this.payload = undefined;
    return this.deliver(p, chunk, nl + 1);
  }

  /** Checks the CRLF after a payload at body[bodyStart...] and hands the payload on; returns the position after it. */
  private deliver(p: PendingPayload, body: Uint8Array, bodyStart: number): number {
    const end = bodyStart + p.need - 2;
    if (body[end] !== CR || body[end + 1] !== LF) {
      this.failure = `payload of ${p.need - 2} bytes on ${p.subject} is not followed by CRLF`;
      return end + 2;
    }
    // A plain Uint8Array view: consumers slice payloads many times, and Buffer's subarray costs more.
    this.handler.msg(p.sid, p.subject, p.reply, new Uint8Array(body.buffer, body.byteOffset + bodyStart + p.headerSize, p.need - 2 - p.headerSize));
    return end + 2;
  }

  private readPayload(chunk: Buffer, pos: number): number {
    const p = this.payload!;
    const available = chunk.length - pos;
    if (p.buffer === undefined && available >= p.need) {
      this.payload = undefined;
      return this.deliver(p, chunk, pos);
    }
    p.buffer ??= new Uint8Array(p.need);
    const n = Math.min(p.need - p.filled, available);
    p.buffer.set(chunk.subarray(pos, pos + n), p.filled);
    p.filled += n;
    if (p.filled < p.need) return chunk.length;
    this.payload = undefined;
    this.deliver(p, p.buffer, 0);
    return pos + n;
  }

  /** Splits line[start, end) at blanks into this.tokens; returns the count, or -1 past MAX_TOKENS. */
  private tokenize(line: Buffer, start: number, end: number): number {
    const tokens = this.tokens;
    let count = 0;
    let i = start;
    for (;;) {
      while (i < end && isBlank(line[i]!)) i++;
      if (i >= end) return count;
      if (count === MAX_TOKENS) return -1;
      tokens[count * 2] = i;
      while (i < end && !isBlank(line[i]!)) i++;
      tokens[count * 2 + 1] = i;
      count++;
    }
  }

  private parseLine(line: Buffer, start: number, end: number): void {
    const count = this.tokenize(line, start, end);
    if (count === 0) return; // an empty line carries no operation
    if (this.isMsg(line)) return this.startMsg(line, start, end, count, false);
    const name = line.toString("latin1", this.tokens[0], this.tokens[1]).toUpperCase();
    switch (name) {
      case "MSG":
        return this.startMsg(line, start, end, count, false);
      case "HMSG":
        return this.startMsg(line, start, end, count, true);
      case "PING":
        return this.handler.ping();
      case "PONG":
        return this.handler.pong();
      case "+OK":
        return;
      case "INFO":
        return this.parseInfo(line, this.tokens[1]!, end);
      case "-ERR":
        return this.handler.err(line.toString("utf8", this.tokens[1], end).trim().replace(/^'(.*)'$/, "$1"));
      default:
        return this.fail(line, start, end);
    }
  }

  /** Whether the first token is MSG (any case): the one operation worth a fast path. */
  private isMsg(line: Buffer): boolean {
    const at = this.tokens[0]!;
    return this.tokens[1]! - at === 3 && (line[at]! | 0x20) === 0x6d && (line[at + 1]! | 0x20) === 0x73 && (line[at + 2]! | 0x20) === 0x67;
  }

  private fail(line: Buffer, start: number, end: number): void {
    this.failure = `unknown operation ${JSON.stringify(line.toString("utf8", start, Math.min(end, start + 64)))}`;
  }

  private startMsg(line: Buffer, start: number, end: number, count: number, headers: boolean): void {
    const sizes = headers ? 2 : 1;
    if (count !== 3 + sizes && count !== 4 + sizes) return this.fail(line, start, end);
    const t = this.tokens;
    const sid = this.decimal(line, t[4]!, t[5]!);
    const total = this.decimal(line, t[(count - 1) * 2]!, t[(count - 1) * 2 + 1]!);
    const headerSize = headers ? this.decimal(line, t[(count - 2) * 2]!, t[(count - 2) * 2 + 1]!) : 0;
    if (sid < 0 || total < 0 || headerSize < 0 || headerSize > total) return this.fail(line, start, end);
    const subject = this.text(line, t[2]!, t[3]!);
    const reply = count === 4 + sizes ? this.text(line, t[6]!, t[7]!) : "";
    this.payload = { sid, subject, reply, headerSize, need: total + 2, buffer: undefined, filled: 0 };
  }

  private parseInfo(line: Buffer, from: number, end: number): void {
    let info: unknown;
    try {
      info = JSON.parse(line.toString("utf8", from, end));
    } catch (e) {
      this.failure = `INFO is not JSON: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    if (typeof info !== "object" || info === null || Array.isArray(info)) {
      this.failure = "INFO is not a JSON object";
      return;
    }
    this.handler.info(info as Record<string, unknown>);
  }

  private text(line: Buffer, start: number, end: number): string {
    return this.strings.decode(line, start, end) ?? line.toString("utf8", start, end);
  }

  /** A decimal of at most 9 digits (nats-server's limit), or -1. */
  private decimal(line: Buffer, start: number, end: number): number {
    if (end <= start || end - start > 9) return -1;
    let n = 0;
    for (let i = start; i < end; i++) {
      const digit = line[i]! - 48;
      if (digit < 0 || digit > 9) return -1;
      n = n * 10 + digit;
    }
    return n;
  }
}
