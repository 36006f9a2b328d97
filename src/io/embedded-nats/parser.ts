// The NATS client protocol, parsed from raw socket chunks. Like nats.go's and nats-server's
// parsers it is a state machine fed arbitrary chunks: a control line (found with one native
// indexOf per line, however the frame was split), then a payload jump of a known size for PUB and
// HPUB. A payload that sits whole in one chunk is returned as a view of that chunk, never copied.

import { DEFAULT_MAX_CONTROL_LINE } from "../../core/nats/control-line.js";

/** A CONNECT option object as the client sent it (validated by the server, not here). */
export type ConnectOptions = Readonly<Record<string, unknown>>;

/** One operation a client sent. */
export type ClientOp =
  | { readonly kind: "connect"; readonly options: ConnectOptions }
  | { readonly kind: "pub"; readonly subject: string; readonly reply: string | undefined; readonly payload: Buffer }
  | {
      readonly kind: "hpub";
      readonly subject: string;
      readonly reply: string | undefined;
      /** The size of the header block at the start of `payload`. */
      readonly headerSize: number;
      readonly payload: Buffer;
    }
  | { readonly kind: "sub"; readonly subject: string; readonly queue: string | undefined; readonly sid: string }
  | { readonly kind: "unsub"; readonly sid: string; readonly max: number | undefined }
  | { readonly kind: "ping" }
  | { readonly kind: "pong" };

/** What went wrong; the server turns it into `-ERR '<message>'` and closes the connection. */
export interface ProtocolError {
  readonly code: "unknownOperation" | "badArguments" | "controlLineTooLong" | "maxPayload" | "badConnect";
  /** The text of the -ERR line (nats-server's wording where it has one). */
  readonly message: string;
  /** More detail, for logs. */
  readonly detail: string;
}

/** The ops parsed from one chunk, and the error that stopped parsing, if any. */
export interface ParseResult {
  readonly ops: ClientOp[];
  readonly error: ProtocolError | undefined;
}

/** Limits the parser enforces. */
export interface ParserOptions {
  /** Largest PUB/HPUB payload (headers included) accepted. */
  readonly maxPayload: number;
  /** Longest control line in bytes, without its CRLF (nats-server's default is 4096). */
  readonly maxControlLine?: number;
}

/** nats-server's MAX_CONTROL_LINE_SIZE (the broker core checks client strings against it). */
export { DEFAULT_MAX_CONTROL_LINE };

const LF = 10;
const CR = 13;
const ARG_SEPARATOR = /[ \t]+/;

interface PendingPayload {
  readonly subject: string;
  readonly reply: string | undefined;
  /** Undefined for PUB. */
  readonly headerSize: number | undefined;
  /** Payload size plus the trailing CRLF. */
  readonly need: number;
  /** Allocated only when the payload spans chunks. */
  buffer: Buffer | undefined;
  filled: number;
}

function protocolError(code: ProtocolError["code"], message: string, detail: string): ProtocolError {
  return { code, message, detail };
}

function unknownOperation(detail: string): ProtocolError {
  return protocolError("unknownOperation", "Unknown Protocol Operation", detail);
}

function badArguments(op: string, line: string): ProtocolError {
  return protocolError("badArguments", "Unknown Protocol Operation", `${op} parse error: ${JSON.stringify(line.slice(0, 128))}`);
}

/** Parses a decimal size the way nats-server does: digits only, at most 9 of them. */
function parseSize(text: string | undefined): number {
  if (text === undefined || text.length === 0 || text.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** An incremental parser of the NATS client protocol for one connection. */
export class ClientParser {
  private readonly maxPayload: number;
  private readonly maxControlLine: number;
  private pendingLine: Buffer[] = [];
  private pendingLineBytes = 0;
  private payload: PendingPayload | undefined;
  private failure: ProtocolError | undefined;

  constructor(options: ParserOptions) {
    this.maxPayload = options.maxPayload;
    this.maxControlLine = options.maxControlLine ?? DEFAULT_MAX_CONTROL_LINE;
  }

  /** Parses one chunk; after an error every later call returns that error and no ops. */
  feed(chunk: Buffer): ParseResult {
    const ops: ClientOp[] = [];
    let pos = 0;
    while (this.failure === undefined && pos < chunk.length) {
      pos = this.payload !== undefined ? this.readPayload(chunk, pos, ops) : this.readControlLine(chunk, pos, ops);
    }
    return { ops, error: this.failure };
  }

  private readControlLine(chunk: Buffer, pos: number, ops: ClientOp[]): number {
    const nl = chunk.indexOf(LF, pos);
    if (nl < 0) {
      this.pendingLine.push(chunk.subarray(pos));
      this.pendingLineBytes += chunk.length - pos;
      // One byte of slack for a CR whose LF has not arrived yet.
      if (this.pendingLineBytes > this.maxControlLine + 1) this.failControlLine(this.pendingLineBytes);
      return chunk.length;
    }
    let line: Buffer;
    if (this.pendingLineBytes === 0) {
      line = chunk.subarray(pos, nl);
    } else {
      this.pendingLine.push(chunk.subarray(pos, nl));
      line = Buffer.concat(this.pendingLine);
      this.pendingLine = [];
      this.pendingLineBytes = 0;
    }
    const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
    if (end > this.maxControlLine) {
      this.failControlLine(end);
      return nl + 1;
    }
    const op = this.parseLine(line.toString("utf8", 0, end));
    if (op !== undefined) ops.push(op);
    return nl + 1;
  }

  private failControlLine(bytes: number): void {
    this.failure = protocolError(
      "controlLineTooLong",
      "Maximum Control Line Exceeded",
      `control line of ${bytes} bytes exceeds ${this.maxControlLine}`,
    );
  }

  private readPayload(chunk: Buffer, pos: number, ops: ClientOp[]): number {
    const p = this.payload!;
    const available = chunk.length - pos;
    let body: Buffer;
    let next: number;
    if (p.buffer === undefined && available >= p.need) {
      body = chunk.subarray(pos, pos + p.need);
      next = pos + p.need;
    } else {
      p.buffer ??= Buffer.allocUnsafe(p.need);
      const n = Math.min(p.need - p.filled, available);
      chunk.copy(p.buffer, p.filled, pos, pos + n);
      p.filled += n;
      if (p.filled < p.need) return chunk.length;
      body = p.buffer;
      next = pos + n;
    }
    this.payload = undefined;
    const size = body.length - 2;
    if (body[size] !== CR || body[size + 1] !== LF) {
      this.failure = unknownOperation(`payload of ${size} bytes for ${p.subject} is not followed by CRLF`);
      return next;
    }
    const payload = body.subarray(0, size);
    if (p.headerSize === undefined) {
      ops.push({ kind: "pub", subject: p.subject, reply: p.reply, payload });
    } else {
      ops.push({ kind: "hpub", subject: p.subject, reply: p.reply, headerSize: p.headerSize, payload });
    }
    return next;
  }

  // Returns the op of a complete control line, or undefined when it starts a payload or fails.
  private parseLine(line: string): ClientOp | undefined {
    const args = line.split(ARG_SEPARATOR);
    if (args[0] === "") args.shift();
    if (args.length > 0 && args[args.length - 1] === "") args.pop();
    const name = (args[0] ?? "").toUpperCase();
    switch (name) {
      case "PUB":
        return this.startPub(args, line, false);
      case "HPUB":
        return this.startPub(args, line, true);
      case "SUB":
        return this.parseSub(args, line);
      case "UNSUB":
        return this.parseUnsub(args, line);
      case "PING":
      case "PONG":
        if (args.length !== 1) return this.fail(badArguments(name, line));
        return { kind: name === "PING" ? "ping" : "pong" };
      case "CONNECT":
        return this.parseConnect(line);
      default:
        return this.fail(unknownOperation(`unknown operation ${JSON.stringify(line.slice(0, 64))}`));
    }
  }

  private fail(error: ProtocolError): undefined {
    this.failure = error;
    return undefined;
  }

  private startPub(args: string[], line: string, headers: boolean): undefined {
    const op = headers ? "HPUB" : "PUB";
    const sizes = headers ? 2 : 1;
    if (args.length !== 2 + sizes && args.length !== 3 + sizes) return this.fail(badArguments(op, line));
    const subject = args[1]!;
    const reply = args.length === 3 + sizes ? args[2] : undefined;
    const total = parseSize(args[args.length - 1]);
    const headerSize = headers ? parseSize(args[args.length - 2]) : undefined;
    if (total < 0 || (headerSize !== undefined && (headerSize < 0 || headerSize > total))) {
      return this.fail(badArguments(op, line));
    }
    if (total > this.maxPayload) {
      return this.fail(protocolError("maxPayload", "Maximum Payload Violation", `${op} of ${total} bytes exceeds max_payload ${this.maxPayload}`));
    }
    this.payload = { subject, reply, headerSize, need: total + 2, buffer: undefined, filled: 0 };
    return undefined;
  }

  private parseSub(args: string[], line: string): ClientOp | undefined {
    if (args.length === 3) return { kind: "sub", subject: args[1]!, queue: undefined, sid: args[2]! };
    if (args.length === 4) return { kind: "sub", subject: args[1]!, queue: args[2]!, sid: args[3]! };
    return this.fail(badArguments("SUB", line));
  }

  private parseUnsub(args: string[], line: string): ClientOp | undefined {
    if (args.length === 2) return { kind: "unsub", sid: args[1]!, max: undefined };
    const max = parseSize(args[2]);
    if (args.length === 3 && max >= 0) return { kind: "unsub", sid: args[1]!, max };
    return this.fail(badArguments("UNSUB", line));
  }

  private parseConnect(line: string): ClientOp | undefined {
    const json = line.replace(/^[ \t]*[A-Za-z]+[ \t]*/, "");
    let options: unknown;
    try {
      options = JSON.parse(json);
    } catch (e) {
      return this.fail(protocolError("badConnect", "Invalid CONNECT JSON", e instanceof Error ? e.message : String(e)));
    }
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      return this.fail(protocolError("badConnect", "Invalid CONNECT JSON", "CONNECT options must be a JSON object"));
    }
    return { kind: "connect", options: options as ConnectOptions };
  }
}
