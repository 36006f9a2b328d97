import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_SERVER_CONTROL_LINE, ServerOpParser } from "../../src/io/nats-protocol/server-op-parser.js";
import { Outbound } from "../../src/io/nats-protocol/outbound.js";

type Op =
  | { kind: "msg"; sid: number; subject: string; reply: string; payload: number[] }
  | { kind: "info"; info: Record<string, unknown> }
  | { kind: "ping" }
  | { kind: "pong" }
  | { kind: "err"; message: string };

function recorder(): { ops: Op[]; parser: ServerOpParser; payloads: Uint8Array[] } {
  const ops: Op[] = [];
  const payloads: Uint8Array[] = [];
  const parser = new ServerOpParser({
    msg: (sid, subject, reply, payload) => {
      payloads.push(payload);
      ops.push({ kind: "msg", sid, subject, reply, payload: [...payload] });
    },
    info: (info) => ops.push({ kind: "info", info: { ...info } }),
    ping: () => ops.push({ kind: "ping" }),
    pong: () => ops.push({ kind: "pong" }),
    err: (message) => ops.push({ kind: "err", message }),
  });
  return { ops, parser, payloads };
}

function parseAll(chunks: Buffer[]): { ops: Op[]; error: string | undefined } {
  const { ops, parser } = recorder();
  let error: string | undefined;
  for (const chunk of chunks) error = parser.feed(chunk) ?? error;
  return { ops, error };
}

const b = (s: string) => Buffer.from(s, "utf8");
const bytes = (s: string) => [...b(s)];

test("parses every server op, several per chunk; HMSG payloads come without their NATS headers", () => {
  const { ops, error } = parseAll([b(
    'INFO {"server_id":"X","max_payload":1048576,"headers":true}\r\n' +
      "MSG foo.bar 7 5\r\nhello\r\n" +
      "msg foo 12 _INBOX.abc 0\r\n\r\n" +
      "HMSG h.1 3 reply.to 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n" +
      "HMSG h.2 4 12 12\r\nNATS/1.0\r\n\r\n\r\n" +
      "PING\r\nPONG\r\n+OK\r\n-ERR 'Permissions Violation for Publish to \"x\"'\r\n" +
      "MSG ünï.cødé 1 3\r\nabc\r\n",
  )]);
  assert.equal(error, undefined);
  assert.deepEqual(ops, [
    { kind: "info", info: { server_id: "X", max_payload: 1048576, headers: true } },
    { kind: "msg", sid: 7, subject: "foo.bar", reply: "", payload: bytes("hello") },
    { kind: "msg", sid: 12, subject: "foo", reply: "_INBOX.abc", payload: [] },
    { kind: "msg", sid: 3, subject: "h.1", reply: "reply.to", payload: bytes("hi") },
    { kind: "msg", sid: 4, subject: "h.2", reply: "", payload: [] },
    { kind: "ping" },
    { kind: "pong" },
    { kind: "err", message: 'Permissions Violation for Publish to "x"' },
    { kind: "msg", sid: 1, subject: "ünï.cødé", reply: "", payload: bytes("abc") },
  ]);
});

test("a payload that arrives whole is a view of its chunk; one split across chunks is assembled", () => {
  const whole = recorder();
  const chunk = b("MSG s 1 3\r\nabc\r\n");
  assert.equal(whole.parser.feed(chunk), undefined);
  assert.equal(whole.payloads[0]!.buffer, chunk.buffer, "no copy");
  assert.equal(whole.payloads[0]!.byteOffset, chunk.byteOffset + 11);
  const split = recorder();
  for (const part of ["MSG s 1 ", "6\r\nab", "cd", "ef\r", "\n"]) assert.equal(split.parser.feed(b(part)), undefined);
  assert.deepEqual(split.ops, [{ kind: "msg", sid: 1, subject: "s", reply: "", payload: bytes("abcdef") }]);
});

const token = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
const frame = fc.oneof(
  fc.record({ subject: token, sid: fc.integer({ min: 1, max: 999_999_999 }), reply: fc.option(token, { nil: undefined }), payload: fc.uint8Array({ maxLength: 300 }) })
    .map(({ subject, sid, reply, payload }) => ({
      text: Buffer.concat([b(`MSG ${subject} ${sid}${reply === undefined ? "" : ` ${reply}`} ${payload.length}\r\n`), payload, b("\r\n")]),
      op: { kind: "msg", sid, subject, reply: reply ?? "", payload: [...payload] },
    })),
  fc.record({ subject: token, sid: fc.integer({ min: 1, max: 99 }), headers: fc.stringMatching(/^[A-Za-z]{1,8}$/), payload: fc.uint8Array({ maxLength: 100 }) })
    .map(({ subject, sid, headers, payload }) => {
      const block = b(`NATS/1.0\r\nX: ${headers}\r\n\r\n`);
      return {
        text: Buffer.concat([b(`HMSG ${subject} ${sid} ${block.length} ${block.length + payload.length}\r\n`), block, payload, b("\r\n")]),
        op: { kind: "msg", sid, subject, reply: "", payload: [...payload] },
      };
    }),
  fc.constantFrom(
    { text: b("PING\r\n"), op: { kind: "ping" } },
    { text: b("PONG\r\n"), op: { kind: "pong" } },
    { text: b('INFO {"a":1}\r\n'), op: { kind: "info", info: { a: 1 } } },
  ),
);

test("any split of a stream of ops into chunks parses to the same ops", () => {
  fc.assert(
    fc.property(fc.array(frame, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
      const stream = Buffer.concat(frames.map((f) => f.text));
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
      const chunks: Buffer[] = [];
      let from = 0;
      for (const p of [...points, stream.length]) {
        chunks.push(stream.subarray(from, p));
        from = p;
      }
      const { ops, error } = parseAll(chunks.filter((c) => c.length > 0));
      assert.equal(error, undefined);
      assert.deepEqual(ops, frames.map((f) => f.op));
    }),
    { numRuns: 300 },
  );
});

test("malformed input is an error that sticks, after the ops before it", () => {
  const cases: [string, RegExp][] = [
    ["BOGUS 1\r\n", /unknown operation "BOGUS 1"/],
    ["MSG foo 1\r\n", /unknown operation/],
    ["MSG foo x 3\r\nabc\r\n", /unknown operation/],
    ["MSG foo 1 1234567890\r\n", /unknown operation/],
    ["MSG a b c d e f\r\n", /unknown operation/],
    ["HMSG foo 1 5 3\r\nabc\r\n", /unknown operation/],
    ["MSG foo 1 3\r\nabcd\r\n", /payload of 3 bytes on foo is not followed by CRLF/],
    ["INFO {nope\r\n", /INFO is not JSON/],
    ["INFO [1]\r\n", /INFO is not a JSON object/],
  ];
  for (const [text, expected] of cases) {
    const { ops, parser } = recorder();
    assert.equal(parser.feed(b("PING\r\n")), undefined);
    const error = parser.feed(b(text));
    assert.match(error ?? "", expected, text);
    assert.equal(parser.feed(b("PONG\r\n")), error, "the error sticks");
    assert.deepEqual(ops, [{ kind: "ping" }], text);
  }
});

test("a control line longer than the limit is refused before it is complete", () => {
  const { parser } = recorder();
  const piece = Buffer.alloc(64 * 1024, 0x41);
  let error: string | undefined;
  for (let sent = 0; error === undefined && sent <= MAX_SERVER_CONTROL_LINE + piece.length; sent += piece.length) error = parser.feed(piece);
  assert.match(error ?? "", /control line longer than/);
});

test("empty lines carry no op; CRLF and bare LF both end a line", () => {
  const { ops, error } = parseAll([b("\r\n\nPING\nMSG a 1 1\nx\r\n")]);
  assert.equal(error, undefined);
  assert.deepEqual(ops, [{ kind: "ping" }, { kind: "msg", sid: 1, subject: "a", reply: "", payload: bytes("x") }]);
});

test("Outbound.writeSizeLine writes the decimal and CRLF", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.nat(), fc.maxSafeNat()), { minLength: 1, maxLength: 50 }), (sizes) => {
      const out = new Outbound();
      for (const n of sizes) out.writeSizeLine(n);
      const written: Buffer[] = [];
      out.flushTo({ write: (c: Buffer) => written.push(Buffer.from(c)), cork: () => undefined, uncork: () => undefined } as never);
      assert.equal(Buffer.concat(written).toString("latin1"), sizes.map((n) => `${n}\r\n`).join(""));
    }),
  );
  assert.throws(() => new Outbound().writeSizeLine(-1), /size/);
});
