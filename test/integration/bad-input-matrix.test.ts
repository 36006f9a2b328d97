// Integration: a bad-input matrix on one real broker process (embedded NATS). Well over 100 attacks,
// generated from tables: on the gRPC port (garbage, HTTP/1, truncated and oversize HTTP/2 frames,
// malformed protobuf bodies for every method, absurd field values, invalid UTF-8), on the NATS
// port (garbage, oversize control lines, wrong PUB/HPUB sizes and headers) and through the API
// (broken envelopes on a stream subject, ack inbox attacks). After EACH attack a canary client
// checks that the process is alive, CreateStream, Publish (gRPC and NATS) and Subscribe work, and
// that every earlier canary message reads back intact.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { connect as http2Connect, constants as h2 } from "node:http2";
import { Metadata, status as Status, type ServiceError } from "@grpc/grpc-js";
import {
  collectNats, decodeAck, natsModes, startEnv, subscribeRead, syncBrokerNats, within, type IntegrationEnv,
} from "../../jepsen-like/integration-fixture.js";
import type { ProtoObject } from "../../jepsen-like/grpc-test-client.js";
import { AckPolicy } from "../../src/io/wire/api-types.js";
import { encodeEnvelope, encodeEnvelopeWithCrc, encodePublishEnvelope, MsgType } from "../../src/io/wire/envelope.js";
import { grpcFrame, intField, lenField, strField } from "../../jepsen-like/raw-grpc.js";

const enc = new TextEncoder();
const ATTACK_MS = 10_000;

/** What an attack may see: the status code(s) it is allowed to end with ("any" when it depends on timing). */
type Expect = number | readonly number[] | "any";

interface Attack {
  readonly name: string;
  readonly run: (env: IntegrationEnv) => Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Raw bytes: TCP and HTTP/2.

/** Sends `chunks` on a fresh TCP connection (after the greeting when `greeting`), then reads until the server closes or goes quiet. */
function sendRaw(hostPort: string, chunks: readonly Uint8Array[], greeting: boolean, quietMs = 300): Promise<string> {
  const i = hostPort.lastIndexOf(":");
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    let received = "";
    let sent = false;
    let quiet: NodeJS.Timeout | undefined;
    const done = (): void => { clearTimeout(quiet); clearTimeout(cap); socket.destroy(); resolve(received); };
    const cap = setTimeout(done, 5000);
    const send = (): void => {
      if (sent) return;
      sent = true;
      for (const c of chunks) socket.write(c);
      quiet = setTimeout(done, quietMs);
    };
    socket.on("connect", () => { if (!greeting) send(); });
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
      if (sent) quiet?.refresh();
      send();
    });
    socket.on("error", () => undefined);
    socket.on("close", done);
  });
}

const PREFACE = enc.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** An HTTP/2 frame header: 24-bit length, type, flags, 31-bit stream id. */
function frame(length: number, type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out[0] = (length >>> 16) & 0xff;
  out[1] = (length >>> 8) & 0xff;
  out[2] = length & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId & 0x7fffffff);
  out.set(payload, 9);
  return out;
}

/** One HTTP/2 request on a fresh session: headers, then `body` chunks; the grpc-status it ended with (or the error text). */
function http2Call(address: string, headers: Record<string, string>, body: readonly Uint8Array[], reset = false): Promise<string> {
  return new Promise((resolve) => {
    const session = http2Connect(`http://${address}`);
    session.on("error", () => undefined);
    const finish = (outcome: string): void => { clearTimeout(cap); session.destroy(); resolve(outcome); };
    const cap = setTimeout(() => finish("timeout"), 5000);
    const req = session.request({ ":method": "POST", "content-type": "application/grpc", te: "trailers", ...headers });
    let status = "";
    req.on("response", (h) => { status = String(h["grpc-status"] ?? ""); });
    req.on("trailers", (t: Record<string, string | string[] | undefined>) => { status = String(t["grpc-status"] ?? status); });
    req.on("data", () => undefined);
    req.on("error", (e: Error) => finish(`error ${e.message}`));
    req.on("close", () => finish(`grpc-status ${status}`));
    for (const b of body) req.write(b);
    if (reset) setTimeout(() => req.close(h2.NGHTTP2_CANCEL), 20);
    else req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Hand-made protobuf: jepsen-like/raw-grpc.ts.

/** Malformed bodies: a length past the end, a truncated varint, wire type 7, field number 0. */
const MALFORMED: ReadonlyArray<[string, Uint8Array]> = [
  ["length past the end", new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])],
  ["truncated varint", new Uint8Array([0x08, 0xff, 0xff])],
  ["wire type 7", new Uint8Array([0x0f, 0x01, 0x02])],
  ["field number 0", new Uint8Array([0x02, 0x01, 0x00])],
];

const UNARY_METHODS = [
  "CreateStream", "DeleteStream", "PauseStream", "SetStreamReadonly", "FetchMetadata", "FetchPartitionMetadata",
  "Publish", "PublishToSubject", "SetCursor", "FetchCursor", "JoinConsumerGroup",
] as const;

/** A unary call with raw request bytes; resolves with the status code (OK = 0). */
function rawUnary(env: IntegrationEnv, method: string, body: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    env.client.raw.makeUnaryRequest(`/proto.API/${method}`, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, body,
      new Metadata(), { deadline: Date.now() + 5000 }, (error: ServiceError | null) => resolve(error?.code ?? Status.OK));
  });
}

/** A server-streaming Subscribe with raw bytes: the status it ends with, or OK once a message arrived (then cancelled). */
function rawSubscribe(env: IntegrationEnv, body: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const call = env.client.raw.makeServerStreamRequest("/proto.API/Subscribe", (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, body,
      new Metadata(), { deadline: Date.now() + 5000 });
    call.on("data", () => { resolve(Status.OK); call.cancel(); });
    call.on("error", (e: ServiceError) => resolve(e.code));
    call.on("end", () => resolve(Status.OK));
  });
}

/** PublishAsync with raw request bytes: every answer's asyncError code (or "ok"), and how the call ended. */
function rawPublishAsync(env: IntegrationEnv, bodies: readonly Uint8Array[]): Promise<number> {
  return new Promise((resolve) => {
    const call = env.client.raw.makeBidiStreamRequest("/proto.API/PublishAsync", (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b,
      new Metadata(), { deadline: Date.now() + 8000 });
    call.on("data", () => undefined);
    call.on("error", (e: ServiceError) => resolve(e.code));
    call.on("end", () => resolve(Status.OK));
    for (const b of bodies) call.write(b);
    call.end();
  });
}

function expectCode(code: number, expected: Expect, what: string): void {
  if (expected === "any") return;
  const allowed = typeof expected === "number" ? [expected] : expected;
  assert.ok(allowed.includes(code), `${what}: status ${Status[code]} (${code}), expected ${allowed.map((c) => Status[c]).join(" or ")}`);
}

/** A unary call through the proto-loader client; resolves with the status code. */
async function unary(env: IntegrationEnv, method: string, request: ProtoObject): Promise<number> {
  try {
    await env.client.unary(method as never, request, { timeoutMs: 5000 });
    return Status.OK;
  } catch (e) {
    const code = (e as ServiceError).code;
    if (typeof code !== "number") throw e;
    return code;
  }
}

// ---------------------------------------------------------------------------------------------
// The tables.

const BIG = "9223372036854775807";
const SMALL = "-9223372036854775808";
const I32_MAX = 2147483647;
const I32_MIN = -2147483648;
const LONG_5K = "x".repeat(5000);
const LONG_100K = `a.${"b".repeat(100_000)}`;
const IA = Status.INVALID_ARGUMENT;
const NF = Status.NOT_FOUND;

/** [method, request, expected status] for absurd field values through a regular client. */
const ABSURD: ReadonlyArray<[string, ProtoObject, Expect]> = [
  ["CreateStream", { name: "", subject: "m.a" }, IA],
  ["CreateStream", { name: "..", subject: "m.a" }, IA],
  ["CreateStream", { name: ".", subject: "m.a" }, IA],
  ["CreateStream", { name: "a/b", subject: "m.a" }, IA],
  ["CreateStream", { name: "../../../../tmp/evil", subject: "m.a" }, IA],
  ["CreateStream", { name: "/etc", subject: "m.a" }, IA],
  ["CreateStream", { name: "nul\u0000byte", subject: "m.a" }, IA],
  ["CreateStream", { name: "back\\slash", subject: "m.a" }, IA],
  ["CreateStream", { name: "ctl\u0001\u0007\u001b[31m", subject: "m.ctl" }, Status.OK],
  ["CreateStream", { name: "n".repeat(256), subject: "m.a" }, IA],
  ["CreateStream", { name: "€".repeat(100), subject: "m.a" }, IA],
  ["CreateStream", { name: "😀".repeat(100), subject: "m.a" }, IA],
  ["CreateStream", { name: "n".repeat(100_000), subject: "m.a" }, IA],
  ["CreateStream", { name: "m-long-subject", subject: LONG_100K }, IA],
  ["CreateStream", { name: "m-nul-subject", subject: "a\u0000b" }, Status.OK],
  ["CreateStream", { name: "m-crlf-subject", subject: "a\r\nPUB x 1" }, IA],
  ["CreateStream", { name: "m-gt-parts", subject: "m.>", partitions: 5 }, IA],
  ["CreateStream", { name: "m-neg-parts", subject: "m.n", partitions: -1 }, IA],
  ["CreateStream", { name: "m-huge-parts", subject: "m.h", partitions: I32_MAX }, IA],
  ["CreateStream", { name: "m-min-parts", subject: "m.h", partitions: I32_MIN }, IA],
  ["CreateStream", { name: "m-rf", subject: "m.r", replicationFactor: I32_MAX }, IA],
  ["CreateStream", { name: "m-rf-neg", subject: "m.r", replicationFactor: -5 }, IA],
  ["CreateStream", { name: "m-ret", subject: "m.ret", retentionMaxBytes: { value: SMALL } }, [Status.OK, IA]],
  ["CreateStream", { name: "m-seg0", subject: "m.seg0", segmentMaxBytes: { value: "0" } }, [Status.OK, IA]],
  ["CreateStream", { name: "m-seg-big", subject: "m.segbig", segmentMaxBytes: { value: BIG } }, [Status.OK, IA]],
  ["CreateStream", { name: "m-age", subject: "m.age", segmentMaxAge: { value: BIG }, retentionMaxAge: { value: SMALL } }, [Status.OK, IA]],
  ["CreateStream", { name: "m-minisr", subject: "m.minisr", minIsr: { value: I32_MAX }, compactMaxGoroutines: { value: -1 } }, [Status.OK, IA]],
  ["CreateStream", { name: "m-group-ws", subject: "m.g", group: "a b" }, IA],
  ["CreateStream", { name: "m-group-long", subject: "m.g", group: LONG_5K }, IA],
  ["CreateStream", { name: "m-enc", subject: "m.enc", encryption: { value: true } }, "any"],
  ["DeleteStream", { name: ".." }, [IA, NF]],
  ["DeleteStream", { name: "../streams/canary" }, [IA, NF]],
  ["DeleteStream", { name: "" }, [IA, NF]],
  ["DeleteStream", { name: "__cursors" }, IA],
  ["PauseStream", { name: "..", partitions: [-1, I32_MAX] }, [IA, NF]],
  ["PauseStream", { name: "canary", partitions: [-1, I32_MAX, I32_MIN] }, [IA, NF]],
  ["SetStreamReadonly", { name: "canary", partitions: [I32_MAX], readonly: true }, [IA, NF]],
  ["SetStreamReadonly", { name: "n".repeat(100_000), readonly: true }, NF],
  ["FetchMetadata", { streams: Array.from({ length: 5000 }, (_, i) => `s${i}`) }, Status.OK],
  ["FetchMetadata", { streams: ["n".repeat(200_000)] }, Status.OK],
  ["FetchPartitionMetadata", { stream: "canary", partition: -1 }, NF],
  ["FetchPartitionMetadata", { stream: "canary", partition: I32_MAX }, NF],
  ["FetchPartitionMetadata", { stream: "\u0000", partition: 0 }, NF],
  ["Publish", { stream: "canary", partition: -1, value: Buffer.from("x") }, NF],
  ["Publish", { stream: "canary", partition: I32_MAX, value: Buffer.from("x") }, NF],
  ["Publish", { stream: "victim", value: Buffer.from("x"), expectedOffset: SMALL, ackPolicy: "LEADER" }, Status.OK],
  ["Publish", { stream: "victim", value: Buffer.from("x"), expectedOffset: BIG, ackPolicy: "LEADER" }, Status.OK],
  ["Publish", { stream: "victim", value: Buffer.from("x"), ackPolicy: 99 }, Status.OK],
  ["Publish", { stream: "victim", value: Buffer.from("x"), ackInbox: LONG_100K, ackPolicy: "LEADER" }, IA],
  ["Publish", { stream: "victim", value: Buffer.from("x"), ackInbox: "x\r\nPUB victim.subject 2\r\nhi", ackPolicy: "LEADER" }, IA],
  ["Publish", { stream: "victim", value: Buffer.from("x"), ackInbox: "a.>", ackPolicy: "LEADER" }, IA],
  ["Publish", { stream: "victim", value: Buffer.from("x"), correlationId: "c".repeat(1_000_000), ackPolicy: "LEADER" }, IA],
  ["Publish", { stream: "victim", value: Buffer.from("x"), headers: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`h${i}`, Buffer.from("v")])) }, Status.OK],
  ["Publish", { stream: "victim", value: Buffer.from("x"), headers: { "": Buffer.from("v"), "a\r\nb": Buffer.alloc(0), "\u0000": Buffer.from([0xff]) } }, Status.OK],
  ["Publish", { stream: "victim", value: Buffer.alloc(1024 * 1024 + 1) }, Status.UNKNOWN],
  ["Publish", { stream: "victim", value: Buffer.alloc(5 * 1024 * 1024) }, Status.RESOURCE_EXHAUSTED],
  ["Publish", { stream: "", value: Buffer.from("x") }, IA],
  ["Publish", { stream: "n".repeat(100_000), value: Buffer.from("x") }, NF],
  ["PublishToSubject", { subject: "", value: Buffer.from("x") }, IA],
  ["PublishToSubject", { subject: LONG_100K, value: Buffer.from("x") }, IA],
  ["PublishToSubject", { subject: "a\r\nPUB victim.subject 2", value: Buffer.from("x") }, IA],
  ["PublishToSubject", { subject: "victim.subject", ackInbox: LONG_5K, value: Buffer.from("x"), ackPolicy: "LEADER" }, IA],
  ["PublishToSubject", { subject: "victim.subject", value: Buffer.alloc(1024 * 1024) }, Status.UNKNOWN],
  ["SetCursor", { stream: "canary", cursorId: LONG_5K, offset: SMALL }, "any"],
  ["FetchCursor", { stream: "..", cursorId: "\u0000", partition: -1 }, "any"],
  ["JoinConsumerGroup", { groupId: LONG_5K, consumerId: "", streams: ["canary"] }, "any"],
];

/** Subscribe requests with absurd fields. */
const ABSURD_SUBSCRIBE: ReadonlyArray<[ProtoObject, Expect]> = [
  [{ stream: "canary", partition: -1 }, NF],
  [{ stream: "canary", partition: I32_MAX }, NF],
  [{ stream: "canary", startPosition: "OFFSET", startOffset: BIG }, Status.OK],
  [{ stream: "canary", startPosition: "OFFSET", startOffset: SMALL }, Status.OK],
  [{ stream: "canary", startPosition: 99 }, IA],
  [{ stream: "canary", stopPosition: 99 }, IA],
  [{ stream: "canary", startPosition: "TIMESTAMP", startTimestamp: BIG }, Status.OK],
  [{ stream: "canary", startPosition: "TIMESTAMP", startTimestamp: SMALL }, Status.OK],
  [{ stream: "canary", startPosition: "EARLIEST", stopPosition: "STOP_OFFSET", stopOffset: SMALL }, IA],
  [{ stream: "canary", startPosition: "EARLIEST", stopPosition: "STOP_TIMESTAMP", stopTimestamp: SMALL }, IA],
  [{ stream: "n".repeat(100_000) }, NF],
  [{ stream: "canary", consumer: { groupId: LONG_5K, consumerId: "" } }, IA],
];

/** Invalid UTF-8 in string fields, as raw protobuf: InvalidArgument, as Go's proto3 decoder refuses it. */
const INVALID_UTF8: ReadonlyArray<[string, string, number[], Expect]> = [
  ["CreateStream name 0xff 0xfe", "CreateStream", [...lenField(1, [0xff, 0xfe]), ...strField(2, "m.utf8.a")], IA],
  ["CreateStream subject overlong NUL", "CreateStream", [...strField(1, "m-utf8-b"), ...lenField(2, [0x61, 0xc0, 0x80])], IA],
  ["CreateStream name lone surrogate", "CreateStream", [...lenField(1, [0xed, 0xa0, 0x80]), ...strField(2, "m.utf8.c")], IA],
  ["Publish stream 0xc3", "Publish", [...lenField(3, [0xc3]), ...lenField(2, [1])], IA],
  ["Publish ackInbox 0xff", "Publish", [...strField(3, "victim"), ...lenField(6, [0x61, 0xff]), ...intField(8, 0)], IA],
  ["DeleteStream name 0xf8 bytes", "DeleteStream", lenField(1, [0xf8, 0x88, 0x80, 0x80, 0x80]), IA],
  ["FetchMetadata stream truncated 4-byte", "FetchMetadata", lenField(1, [0xf0, 0x9f, 0x98]), IA],
];

function nats(env: IntegrationEnv): string {
  return env.natsUrl.replace(/^nats:\/\//, "");
}

const CONNECT = enc.encode('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\n');

/** NATS protocol attacks on the embedded server: [name, chunks sent after CONNECT (or raw when noConnect)]. */
const NATS_ATTACKS: ReadonlyArray<[string, Uint8Array[], boolean?]> = [
  ["garbage bytes", [new Uint8Array([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a])], true],
  ["HTTP on the NATS port", [enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")], true],
  ["CONNECT with bad JSON", [enc.encode("CONNECT {not json\r\n")], true],
  ["control line of 5000 bytes without newline", [enc.encode(`PUB ${"a".repeat(5000)}`)]],
  ["control line of 100 KB", [enc.encode(`PUB ${"a".repeat(100_000)} 1\r\nx\r\n`)]],
  ["SUB with a 5000-byte subject", [enc.encode(`SUB ${"a".repeat(5000)} 1\r\n`)]],
  ["PUB payload longer than its size", [enc.encode("PUB victim.subject 2\r\nhello world\r\n")]],
  ["PUB size larger than the payload, then close", [enc.encode("PUB victim.subject 1000\r\nshort")]],
  ["PUB negative size", [enc.encode("PUB victim.subject -1\r\n\r\n")]],
  ["PUB size of 12 digits", [enc.encode("PUB victim.subject 999999999999\r\n")]],
  ["PUB over max_payload", [enc.encode(`PUB victim.subject ${2 * 1024 * 1024}\r\n`)]],
  ["PUB with too many arguments", [enc.encode("PUB a b c d e 1\r\nx\r\n")]],
  ["HPUB header size > total", [enc.encode("HPUB victim.subject 20 10\r\nNATS/1.0\r\n\r\n0123456789\r\n")]],
  ["HPUB garbage header block", [enc.encode("HPUB victim.subject 12 14\r\nGARBAGE!!\r\n\rxy\r\n")]],
  ["HPUB header size 0", [enc.encode("HPUB victim.subject 0 5\r\nhello\r\n")]],
  ["HPUB header without NATS/1.0 line", [enc.encode("HPUB victim.subject 8 8\r\nA: b\r\n\r\n\r\n")]],
  ["MSG from a client", [enc.encode("MSG victim.subject 1 5\r\nhello\r\n")]],
  ["UNSUB of an unknown sid", [enc.encode("UNSUB 424242\r\nUNSUB -1\r\nUNSUB x\r\n")]],
  ["10,000 PINGs", [enc.encode("PING\r\n".repeat(10_000))]],
  ["SUB to everything then close", [enc.encode("SUB > 1\r\nSUB _INBOX.> q 2\r\n")]],
];

/** Envelopes published to the victim stream's subject over NATS (stored raw or decoded; never a crash). */
function envelopeAttacks(): ReadonlyArray<[string, Uint8Array]> {
  const good = encodePublishEnvelope({ value: enc.encode("v"), ackPolicy: AckPolicy.NONE });
  const payload = good.subarray(8);
  const withByte = (pos: number, value: number): Uint8Array => { const b = Uint8Array.from(good); b[pos] = value; return b; };
  const badCrc = encodeEnvelopeWithCrc(MsgType.Publish, payload);
  badCrc[8] = badCrc[8]! ^ 0xff;
  return [
    ["wrong magic", withByte(0, 0xb8)],
    ["version 1", withByte(4, 1)],
    ["header length 200", withByte(5, 200)],
    ["header length 0", withByte(5, 0)],
    ["CRC flag with header length 8", withByte(6, 1)],
    ["wrong CRC", badCrc],
    ["msgType Ack on a stream subject", withByte(7, MsgType.Ack)],
    ["msgType 99", withByte(7, 99)],
    ["truncated header", good.subarray(0, 5)],
    ["garbage protobuf", encodeEnvelope(MsgType.Publish, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))],
    ["ack inbox of 5000 bytes", encodePublishEnvelope({ value: enc.encode("v"), ackInbox: `a.${LONG_5K}`, correlationId: "c", ackPolicy: AckPolicy.LEADER })],
    ["ack inbox with CRLF injection", encodePublishEnvelope({ value: enc.encode("v"), ackInbox: "x 0\r\nPUB canary.nats 2\r\nhi", correlationId: "c", ackPolicy: AckPolicy.LEADER })],
    ["ack inbox wildcard", encodePublishEnvelope({ value: enc.encode("v"), ackInbox: ">", correlationId: "c", ackPolicy: AckPolicy.ALL })],
    ["correlation id too large for its ack", encodePublishEnvelope({ value: new Uint8Array(0), ackInbox: "m.acks", correlationId: "c".repeat(1024 * 1024 - 64), ackPolicy: AckPolicy.LEADER })],
    ["ack policy 99, expected offset far ahead", encodePublishEnvelope({ value: enc.encode("v"), ackInbox: "m.acks", correlationId: "c", ackPolicy: 99, offset: 2 ** 52 })],
    ["empty payload", new Uint8Array(0)],
    ["exactly max_payload raw bytes", new Uint8Array(1024 * 1024).fill(0xb9)],
  ];
}

function buildAttacks(): Attack[] {
  const attacks: Attack[] = [];
  const grpcRaw: ReadonlyArray<[string, Uint8Array[]]> = [
    ["random bytes", [Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff)]],
    ["4 KiB of 0xff", [new Uint8Array(4096).fill(0xff)]],
    ["HTTP/1.1 GET", [enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]],
    ["HTTP/1.1 POST to a gRPC path", [enc.encode("POST /proto.API/CreateStream HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")]],
    ["TLS ClientHello on the plaintext port", [new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03])]],
    ["HTTP/2 preface only", [PREFACE]],
    ["HTTP/2 preface, then a truncated frame header", [PREFACE, new Uint8Array([0x00, 0x00, 0x06, 0x04])]],
    ["HTTP/2 frame claiming 16 MiB", [PREFACE, frame(0, 4, 0, 0), frame(0xffffff, 0, 0, 1, new Uint8Array(10))]],
    ["HTTP/2 HEADERS with garbage HPACK", [PREFACE, frame(0, 4, 0, 0), frame(8, 1, 0x04 | 0x01, 1, new Uint8Array(8).fill(0xff))]],
    ["HTTP/2 DATA on stream 0", [PREFACE, frame(0, 4, 0, 0), frame(4, 0, 0, 0, new Uint8Array(4))]],
    ["HTTP/2 SETTINGS with a bad length", [PREFACE, frame(5, 4, 0, 0, new Uint8Array(5))]],
    ["HTTP/2 WINDOW_UPDATE of 0", [PREFACE, frame(0, 4, 0, 0), frame(4, 8, 0, 0, new Uint8Array(4))]],
    ["HTTP/2 GOAWAY at once", [PREFACE, frame(8, 7, 0, 0, new Uint8Array(8))]],
  ];
  for (const [name, chunks] of grpcRaw) {
    attacks.push({ name: `gRPC port: ${name}`, run: async (env) => { await sendRaw(env.broker.grpcAddress, chunks, false); } });
  }
  const h2calls: ReadonlyArray<[string, Record<string, string>, Uint8Array[], boolean?]> = [
    ["unknown method", { ":path": "/proto.API/NoSuchMethod" }, [grpcFrame(new Uint8Array(0))]],
    ["unknown service", { ":path": "/foo.Bar/Baz" }, [grpcFrame(new Uint8Array(0))]],
    ["path /", { ":path": "/" }, [grpcFrame(new Uint8Array(0))]],
    ["content-type text/plain", { ":path": "/proto.API/FetchMetadata", "content-type": "text/plain" }, [enc.encode("hello")]],
    ["length prefix 0xffffffff", { ":path": "/proto.API/CreateStream" }, [grpcFrame(new Uint8Array(16), 0xffffffff)]],
    ["length prefix past the body", { ":path": "/proto.API/Publish" }, [grpcFrame(new Uint8Array(3), 10)]],
    ["compressed flag without an encoding", { ":path": "/proto.API/FetchMetadata" }, [grpcFrame(new Uint8Array(4), 4, 1)]],
    ["gzip flag with garbage", { ":path": "/proto.API/FetchMetadata", "grpc-encoding": "gzip" }, [grpcFrame(new Uint8Array(8).fill(7), 8, 1)]],
    ["two messages to a unary method", { ":path": "/proto.API/FetchMetadata" }, [grpcFrame(new Uint8Array(0)), grpcFrame(new Uint8Array(0))]],
    ["no message to a unary method", { ":path": "/proto.API/FetchMetadata" }, []],
    ["half a length prefix", { ":path": "/proto.API/DeleteStream" }, [new Uint8Array([0, 0, 0])]],
    ["reset mid-PublishAsync", { ":path": "/proto.API/PublishAsync" }, [grpcFrame(new Uint8Array(strField(3, "victim")))], true],
    ["reset mid-Subscribe", { ":path": "/proto.API/Subscribe" }, [grpcFrame(new Uint8Array(strField(1, "canary")))], true],
  ];
  for (const [name, headers, body, reset] of h2calls) {
    attacks.push({ name: `HTTP/2: ${name}`, run: async (env) => { await http2Call(env.broker.grpcAddress, headers, body, reset); } });
  }
  for (const method of UNARY_METHODS) {
    for (const [what, body] of MALFORMED.slice(0, method === "Publish" || method === "CreateStream" ? 4 : 2)) {
      attacks.push({ name: `malformed protobuf: ${method}, ${what}`, run: async (env) => {
        expectCode(await rawUnary(env, method, body), method.includes("Cursor") || method.includes("Group") ? [IA, Status.UNIMPLEMENTED] : IA, method);
      } });
    }
  }
  for (const [what, body] of MALFORMED) {
    attacks.push({ name: `malformed protobuf: Subscribe, ${what}`, run: async (env) => expectCode(await rawSubscribe(env, body), IA, "Subscribe") });
  }
  attacks.push({ name: "malformed protobuf: PublishAsync, every kind in one stream", run: async (env) => {
    expectCode(await rawPublishAsync(env, [...MALFORMED.map(([, b]) => b), Uint8Array.from(strField(3, "victim"))]), Status.OK, "PublishAsync");
  } });
  for (const [method, request, expected] of ABSURD) {
    attacks.push({ name: `absurd fields: ${method} ${JSON.stringify(request).slice(0, 80)}`, run: async (env) => {
      expectCode(await unary(env, method, request), expected, method);
    } });
  }
  for (const [request, expected] of ABSURD_SUBSCRIBE) {
    attacks.push({ name: `absurd fields: Subscribe ${JSON.stringify(request).slice(0, 80)}`, run: async (env) => {
      const outcome = await subscribeRead(env.client, request, 0, 3000).catch((e: Error) => ({ error: { code: Status.DEADLINE_EXCEEDED, message: e.message } }));
      expectCode(outcome.error?.code ?? Status.OK, expected, "Subscribe");
    } });
  }
  attacks.push({ name: "absurd fields: PublishAsync with 500 bad requests", run: async (env) => {
    const call = env.client.publishAsync();
    for (let i = 0; i < 500; i++) {
      call.send({ stream: i % 3 === 0 ? "" : i % 3 === 1 ? "nope" : "victim", partition: i % 2 === 0 ? -1 : 0, value: Buffer.from("x"), correlationId: `c${i}`, ackInbox: LONG_5K, ackPolicy: "LEADER" });
    }
    call.end();
    let answers = 0;
    for await (const r of call.responses) if (r.correlationId.startsWith("c")) answers++;
    assert.equal(answers, 500, "every request got an answer");
  } });
  for (const [name, method, bytes, expected] of INVALID_UTF8) {
    attacks.push({ name: `invalid UTF-8: ${name}`, run: async (env) => expectCode(await rawUnary(env, method, Uint8Array.from(bytes)), expected, name) });
  }
  for (const [name, chunks, noConnect] of NATS_ATTACKS) {
    attacks.push({ name: `NATS port: ${name}`, run: async (env) => { await sendRaw(nats(env), noConnect === true ? chunks : [CONNECT, ...chunks], true); } });
  }
  for (const [name, data] of envelopeAttacks()) {
    attacks.push({ name: `envelope on a stream subject: ${name}`, run: async (env) => {
      env.nc.publish("victim.subject", data);
      await env.nc.flush();
    } });
  }
  attacks.push({ name: "NATS: a reply subject of 4000 bytes on a stream subject", run: async (env) => {
    env.nc.publish("victim.subject", enc.encode("r"), { reply: `r.${"y".repeat(4000)}` });
    await env.nc.flush();
  } });
  return attacks;
}

// ---------------------------------------------------------------------------------------------

const mode = natsModes()[0]!; // embedded NATS: its port is part of the attack surface
describe("bad-input matrix (embedded NATS)", { skip: mode.skip }, () => {
  let env: IntegrationEnv;
  const canaryValues: string[] = [];
  let natsAcks = 0;
  before(async () => {
    env = await startEnv(mode);
    await env.client.createStream({ name: "canary", subject: "canary.subject" }, { timeoutMs: 5000 });
    await env.client.createStream({ name: "canary-nats", subject: "canary.nats" }, { timeoutMs: 5000 });
    await env.client.createStream({ name: "victim", subject: "victim.subject" }, { timeoutMs: 5000 });
    await syncBrokerNats(env);
  }, { timeout: 60_000 });
  after(async () => { await env?.stop(); }, { timeout: 60_000 });

  /** The canary: alive; CreateStream, gRPC Publish, NATS publish with an ack, Subscribe; all earlier messages intact. */
  const canary = async (i: number, attack: string): Promise<void> => {
    assert.doesNotThrow(() => process.kill(env.broker.pid, 0), `broker died after ${attack}`);
    await env.client.createStream({ name: `canary-${i}`, subject: `canary.created.${i}` }, { timeoutMs: 5000 });
    const value = `canary-${i}`;
    const r = await env.client.publish({ stream: "canary", value: Buffer.from(value), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
    assert.equal(r.ack?.offset, String(canaryValues.length), `gRPC publish after ${attack}`);
    canaryValues.push(value);
    const inbox = `canary.acks.${i}`;
    const acks = env.nc.subscribe(inbox, { max: 1 });
    await env.nc.flush();
    env.nc.publish("canary.nats", encodePublishEnvelope({ value: enc.encode(value), ackInbox: inbox, correlationId: value, ackPolicy: AckPolicy.LEADER }));
    const [ack] = await collectNats(acks, 1, 5000);
    assert.ok(ack !== undefined, `no ack over NATS after ${attack} (the broker's data path is down?)`);
    assert.equal(String(decodeAck(ack).offset), String(natsAcks), `NATS publish after ${attack}`);
    natsAcks++;
    const read = await subscribeRead(env.client, { stream: "canary", startPosition: "EARLIEST", stopPosition: "STOP_LATEST" });
    assert.equal(read.error?.code, Status.RESOURCE_EXHAUSTED, `Subscribe after ${attack}: ${read.error?.message}`);
    assert.deepEqual(read.messages.map((m) => m.value.toString()), canaryValues, `canary stream after ${attack}`);
    assert.ok(read.messages.every((m, k) => m.offset === String(k)), `canary offsets after ${attack}`);
  };

  test("every attack leaves the broker alive and the canary served, its data intact", { timeout: 120_000 }, async () => {
    const attacks = buildAttacks();
    assert.ok(attacks.length >= 100, `${attacks.length} attacks`);
    const started = Date.now();
    for (const [i, attack] of attacks.entries()) {
      await within(attack.run(env), ATTACK_MS, attack.name).catch((e: Error) => {
        throw new Error(`attack ${i} (${attack.name}): ${e.message}`);
      });
      await within(canary(i, attack.name), ATTACK_MS, `canary after ${attack.name}`);
    }
    const fatal = env.broker.output().split("\n").filter((l) => l.includes("\"level\":60") || l.includes("Uncaught") || l.includes("unhandled"));
    assert.deepEqual(fatal, []);
    // The broker's own NATS connections never dropped (an oversize line would have cost them).
    assert.doesNotMatch(env.broker.output(), /re-established|Maximum Control Line Exceeded.*LIFT/);
    process.stdout.write(`# ${attacks.length} attacks with a canary check after each, in ${Date.now() - started} ms\n`);
  });
});
