// The subscribe hot path writes whole chunks of pre-framed messages straight to the HTTP/2 stream
// of a grpc-js server call: one write per chunk instead of one grpc-js write (serialize, copy,
// Writable bookkeeping, native HTTP/2 write) per message, the largest cost of a catch-up read.
// grpc-js keeps that stream in private fields (`call.call[.nextCall...].stream` in the pinned
// 1.14), so this looks it up defensively: anything unexpected means "not found", and the caller
// falls back to one grpc-js write per message. test/grpc pins that the lookup works.
import type { ServerHttp2Stream } from "node:http2";

/** What the fast path needs from the HTTP/2 stream: write, and close (reset) for a client that stopped reading. */
export type FramedWriter = Pick<ServerHttp2Stream, "write" | "close" | "closed">;

const MAX_INTERCEPTOR_DEPTH = 16;

function isServerHttp2Stream(x: unknown): x is ServerHttp2Stream {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Partial<Record<"write" | "respond" | "sendTrailers" | "session", unknown>>;
  return typeof s.write === "function" && typeof s.respond === "function" && typeof s.sendTrailers === "function" && "session" in s;
}

/** The HTTP/2 stream under a grpc-js server call, or undefined when grpc-js's internals differ. */
export function http2StreamOf(call: object): FramedWriter | undefined {
  let layer: unknown = (call as { call?: unknown }).call;
  for (let depth = 0; depth < MAX_INTERCEPTOR_DEPTH; depth++) {
    if (typeof layer !== "object" || layer === null) return undefined;
    const { stream, nextCall } = layer as { stream?: unknown; nextCall?: unknown };
    if (isServerHttp2Stream(stream)) return stream;
    layer = nextCall; // a ServerInterceptingCall wraps the next layer
  }
  return undefined;
}
