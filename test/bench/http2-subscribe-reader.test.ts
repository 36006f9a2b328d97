// The node:http2 reader's message splitter: any chunking of a framed stream gives back the messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { GrpcMessageSplitter } from "../../bench/clients/http2-subscribe-reader.js";
import { encodeFramedMessages, encodeMessage } from "../../src/io/wire/message-encoder.js";

test("GrpcMessageSplitter returns every message whatever the chunk boundaries", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), fc.array(fc.nat(400), { maxLength: 20 }), (values, cuts) => {
      const fields = values.map((value, i) => ({ offset: i, value }));
      const framed = encodeFramedMessages(fields);
      const splitter = new GrpcMessageSplitter();
      const got: Uint8Array[] = [];
      let pos = 0;
      for (const cut of cuts) {
        const end = Math.min(framed.length, pos + cut);
        splitter.push(framed.subarray(pos, end), (m) => got.push(m.slice()));
        pos = end;
      }
      splitter.push(framed.subarray(pos), (m) => got.push(m.slice()));
      assert.deepEqual(got, fields.map((f) => encodeMessage(f)));
      assert.ok(splitter.empty);
    }),
    { numRuns: 300 },
  );
});

test("GrpcMessageSplitter rejects a compressed message and reports a partial one", () => {
  const framed = encodeFramedMessages([{ offset: 3 }]);
  const splitter = new GrpcMessageSplitter();
  splitter.push(framed.subarray(0, 3), () => assert.fail("no message is complete yet"));
  assert.equal(splitter.empty, false);
  const compressed = framed.slice();
  compressed[0] = 1;
  assert.throws(() => new GrpcMessageSplitter().push(compressed, () => undefined), /compressed/);
});
