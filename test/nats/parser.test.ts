import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ClientParser, type ClientOp, type ParseResult } from "../../src/io/embedded-nats/parser.js";

const MAX_PAYLOAD = 1024;

function parseAll(chunks: Buffer[], maxPayload = MAX_PAYLOAD): ParseResult {
  const parser = new ClientParser({ maxPayload });
  const ops: ClientOp[] = [];
  let error: ParseResult["error"];
  for (const chunk of chunks) {
    const r = parser.feed(chunk);
    ops.push(...r.ops);
    error ??= r.error;
  }
  return { ops, error };
}

const b = (s: string) => Buffer.from(s, "utf8");

test("parses every client op, case-insensitively, several per chunk", () => {
  const stream = b(
    'CONNECT {"verbose":true,"headers":true}\r\n' +
      "pub foo 5\r\nhello\r\n" +
      "PUB foo.bar _INBOX.1 0\r\n\r\n" +
      "HPUB h 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n" +
      "sub foo.* 1\r\nSUB foo.> workers 2\r\n" +
      "UNSUB 1\r\nunsub 2 10\r\nPING\r\nPONG\r\n",
  );
  const { ops, error } = parseAll([stream]);
  assert.equal(error, undefined);
  assert.deepEqual(ops, [
    { kind: "connect", options: { verbose: true, headers: true } },
    { kind: "pub", subject: "foo", reply: undefined, payload: b("hello") },
    { kind: "pub", subject: "foo.bar", reply: "_INBOX.1", payload: b("") },
    { kind: "hpub", subject: "h", reply: undefined, headerSize: 18, payload: b("NATS/1.0\r\nA: b\r\n\r\nhi") },
    { kind: "sub", subject: "foo.*", queue: undefined, sid: "1" },
    { kind: "sub", subject: "foo.>", queue: "workers", sid: "2" },
    { kind: "unsub", sid: "1", max: undefined },
    { kind: "unsub", sid: "2", max: 10 },
    { kind: "ping" },
    { kind: "pong" },
  ]);
});

test("a payload whole in its chunk is a view of the chunk, not a copy", () => {
  const chunk = b("PUB x 3\r\nabc\r\n");
  const { ops } = parseAll([chunk]);
  const op = ops[0];
  assert.ok(op?.kind === "pub");
  assert.equal(op.payload.buffer, chunk.buffer);
});

test("protocol errors: unknown op, bad args, bad sizes, max payload, long control line, bad CONNECT", () => {
  const cases: [string, string][] = [
    ["FOO bar\r\n", "unknownOperation"],
    ["\r\n", "unknownOperation"],
    ["PUB foo\r\n", "badArguments"],
    ["PUB foo -1\r\n", "badArguments"],
    ["PUB foo 1x\r\n", "badArguments"],
    ["HPUB foo 10 5\r\n", "badArguments"],
    ["SUB foo\r\n", "badArguments"],
    ["UNSUB 1 x\r\n", "badArguments"],
    ["PING x\r\n", "badArguments"],
    [`PUB foo ${MAX_PAYLOAD + 1}\r\n`, "maxPayload"],
    ["PUB foo 3\r\nabcd\r\n", "unknownOperation"],
    ["CONNECT {nope\r\n", "badConnect"],
    ["CONNECT [1]\r\n", "badConnect"],
    [`SUB ${"a".repeat(5000)} 1\r\n`, "controlLineTooLong"],
    ["x".repeat(5000), "controlLineTooLong"],
  ];
  for (const [input, code] of cases) {
    const { error } = parseAll([b(input)]);
    assert.equal(error?.code, code, JSON.stringify(input.slice(0, 40)));
  }
  assert.equal(parseAll([b("XYZ\r\n")]).error?.message, "Unknown Protocol Operation");
  assert.equal(parseAll([b("PUB a 2000\r\n")]).error?.message, "Maximum Payload Violation");
});

test("ops before an error are returned, nothing after it, and the parser stays failed", () => {
  const parser = new ClientParser({ maxPayload: MAX_PAYLOAD });
  const r = parser.feed(b("PING\r\nGARBAGE\r\nPING\r\n"));
  assert.deepEqual(r.ops, [{ kind: "ping" }]);
  assert.equal(r.error?.code, "unknownOperation");
  const again = parser.feed(b("PING\r\n"));
  assert.deepEqual(again.ops, []);
  assert.equal(again.error?.code, "unknownOperation");
});

test("a control line of exactly the maximum is accepted", () => {
  const subject = "a".repeat(4096 - "SUB  1".length);
  const { ops, error } = parseAll([b(`SUB ${subject} 1\r\n`)]);
  assert.equal(error, undefined);
  assert.equal(ops.length, 1);
});

const word = fc.stringMatching(/^[a-zA-Z0-9_.*>]{1,12}$/);
const payload = fc.uint8Array({ maxLength: 200 });
const frame: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.tuple(word, fc.option(word, { nil: undefined }), payload).map(([s, r, p]) =>
    Buffer.concat([b(`PUB ${s}${r ? " " + r : ""} ${p.length}\r\n`), Buffer.from(p), b("\r\n")]),
  ),
  fc.tuple(word, payload, payload).map(([s, h, p]) =>
    Buffer.concat([b(`HPUB ${s} ${h.length} ${h.length + p.length}\r\n`), Buffer.from(h), Buffer.from(p), b("\r\n")]),
  ),
  fc.tuple(word, fc.option(word, { nil: undefined }), fc.nat(999)).map(([s, q, sid]) => `SUB ${s}${q ? " " + q : ""} ${sid}\r\n`),
  fc.tuple(fc.nat(999), fc.option(fc.nat(99), { nil: undefined })).map(([sid, m]) => `unsub ${sid}${m === undefined ? "" : " " + m}\r\n`),
  fc.constantFrom("PING\r\n", "pong\r\n", 'CONNECT {"verbose":false,"pedantic":true}\r\n'),
);

function splitAt(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    chunks.push(data.subarray(prev, p));
    prev = p;
  }
  return chunks;
}

test("property: any split of a valid stream parses to the same ops as the whole stream", () => {
  fc.assert(
    fc.property(fc.array(frame, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
      const data = Buffer.concat(frames.map((f) => (typeof f === "string" ? b(f) : f)));
      const whole = parseAll([data]);
      assert.equal(whole.error, undefined);
      assert.equal(whole.ops.length, frames.length);
      assert.deepEqual(parseAll(splitAt(data, cuts)), whole);
      // One byte at a time is the most extreme split.
      if (data.length < 600) assert.deepEqual(parseAll([...data].map((x) => Buffer.from([x]))), whole);
    }),
    { numRuns: 300 },
  );
});

test("property: random garbage never throws, and splitting it changes neither ops nor the error code", () => {
  const noise = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
    fc.array(fc.oneof(frame, fc.constantFrom("PUB", "\r", "\n", " ", "HPUB x 9 3", "SUB", "9999999999")), { maxLength: 12 }).map((fs) =>
      Buffer.concat(fs.map((f) => (typeof f === "string" ? b(f) : f))),
    ),
  );
  fc.assert(
    fc.property(noise, fc.array(fc.nat(), { maxLength: 10 }), (data, cuts) => {
      const whole = parseAll([data]);
      const split = parseAll(splitAt(data, cuts));
      assert.deepEqual(split.ops, whole.ops);
      assert.equal(split.error?.code, whole.error?.code);
    }),
    { numRuns: 500 },
  );
});
