// The subscribe fast path's lookup of the HTTP/2 stream inside grpc-js: found on the pinned
// grpc-js (with and without a server interceptor), and pre-framed bytes written to it arrive at a
// stock grpc-js client as separate messages, in order, before the call's status.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Server, ServerCredentials, ServerInterceptingCall, credentials, makeGenericClientConstructor,
  type ServerInterceptor, type ServerWritableStream, type ServiceDefinition,
} from "@grpc/grpc-js";
import { http2StreamOf } from "../../src/io/grpc/http2-stream-of.js";
import { encodeFramedMessages } from "../../src/io/wire/message-encoder.js";

const passThrough = (b: Buffer | Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const service: ServiceDefinition = {
  read: {
    path: "/t.T/Read", requestStream: false, responseStream: true,
    requestSerialize: passThrough, requestDeserialize: passThrough,
    responseSerialize: passThrough, responseDeserialize: passThrough,
  },
};

async function readThrough(interceptors: ServerInterceptor[]): Promise<{ found: boolean; got: string[] }> {
  let found = false;
  const server = new Server({ interceptors });
  server.addService(service, {
    read: (call: ServerWritableStream<Buffer, Uint8Array>) => {
      const http2 = http2StreamOf(call);
      found = http2 !== undefined;
      call.write(new Uint8Array([0x08, 0x07]), () => {
        http2?.write(encodeFramedMessages([{ offset: 1 }, { offset: 2, value: new Uint8Array(3000) }, { offset: 3 }]));
        call.end();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  try {
    const Client = makeGenericClientConstructor(service, "T");
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    const call = (client as unknown as { read(r: Uint8Array): NodeJS.ReadableStream }).read(new Uint8Array(0));
    const got: string[] = [];
    for await (const m of call as AsyncIterable<Buffer>) got.push(m.subarray(0, 2).toString("hex") + `/${m.length}`);
    client.close();
    return { found, got };
  } finally {
    server.forceShutdown();
  }
}

test("http2StreamOf finds the HTTP/2 stream of a pinned grpc-js call; framed writes arrive as messages", async () => {
  const { found, got } = await readThrough([]);
  assert.ok(found, "grpc-js internals changed: the subscribe path fell back to one grpc-js write per message");
  // The handshake grpc-js wrote, then the three pre-framed Messages (3000-byte value: 2 + 1 + 2 + 3000 bytes).
  assert.deepEqual(got, ["0807/2", "0801/2", "0802/3005", "0803/2"]);
});

test("http2StreamOf walks through a server interceptor's wrapper", async () => {
  const passAll: ServerInterceptor = (_method, call) => new ServerInterceptingCall(call);
  const { found, got } = await readThrough([passAll]);
  assert.ok(found);
  assert.equal(got.length, 4);
});

test("http2StreamOf says not found for anything else", () => {
  for (const x of [{}, { call: null }, { call: { stream: {} } }, { call: { nextCall: { nextCall: 5 } } }, { call: { stream: { write() {} } } }]) {
    assert.equal(http2StreamOf(x), undefined);
  }
});
