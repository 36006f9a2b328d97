// Workload 3 with the leanest correct client of ours: gRPC Subscribe spoken directly over
// node:http2 (no grpc-js): one POST, the response's length-prefixed messages split out of the DATA
// chunks and each fully decoded and offset-checked like the grpc-js reader does, grpc-status read
// from the trailers. It shows what the broker serves when the client is not grpc-js's per-message
// machinery; the catchUpRead ratio itself stays on the stock grpc-js client.
import http2 from "node:http2";
import type { CatchUpJob, ClientResult } from "../bench-types.js";
import { boundedRead, catchUpRequest, oursMessageChecker, resultOf, startCounter } from "./catch-up-readers.js";
import { FLOW_CONTROL_WINDOW_BYTES } from "./grpc-lean-client.js";

const PREFIX_BYTES = 5;

/** Splits a gRPC length-prefixed message stream arriving in arbitrary chunks; copies only a message cut by a chunk boundary. */
export class GrpcMessageSplitter {
  private rest: Uint8Array | undefined;

  /** Calls `onMessage` with each whole message `chunk` completes, in order. */
  push(chunk: Uint8Array, onMessage: (message: Uint8Array) => void): void {
    let data = chunk;
    if (this.rest !== undefined) {
      data = new Uint8Array(this.rest.length + chunk.length);
      data.set(this.rest);
      data.set(chunk, this.rest.length);
      this.rest = undefined;
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let pos = 0;
    while (data.length - pos >= PREFIX_BYTES) {
      if (data[pos] !== 0) throw new Error("compressed gRPC message (not negotiated)");
      const end = pos + PREFIX_BYTES + view.getUint32(pos + 1);
      if (end > data.length) break;
      onMessage(data.subarray(pos + PREFIX_BYTES, end));
      pos = end;
    }
    if (pos < data.length) this.rest = data.slice(pos);
  }

  /** True when no partial message is buffered. */
  get empty(): boolean {
    return this.rest === undefined;
  }
}

function framed(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX_BYTES + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, PREFIX_BYTES);
  return out;
}

/** Reads a stream of ours through Subscribe over node:http2; resolves like readOursGrpc. */
export async function readOursHttp2(job: CatchUpJob): Promise<ClientResult> {
  const session = http2.connect(`http://${job.address}`, { settings: { initialWindowSize: FLOW_CONTROL_WINDOW_BYTES } });
  session.on("connect", () => session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES));
  const c = startCounter();
  const req = session.request({ ":method": "POST", ":path": "/proto.API/Subscribe", "content-type": "application/grpc", te: "trailers" });
  try {
    await boundedRead(job, c, (finish) => {
      const splitter = new GrpcMessageSplitter();
      const check = oursMessageChecker(job, c, finish);
      const status = (h: http2.IncomingHttpHeaders): void => {
        const code = h["grpc-status"];
        if (code !== undefined && code !== "0" && code !== "8") finish(new Error(`grpc-status ${String(code)}: ${decodeURIComponent(String(h["grpc-message"] ?? ""))}`));
      };
      req.on("response", status); // a trailers-only answer carries its status here
      req.on("trailers", status); // 8 (RESOURCE_EXHAUSTED) is "stop offset reached"
      req.on("data", (chunk: Buffer) => {
        try {
          splitter.push(chunk, check);
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
        }
      });
      req.on("end", () => finish(splitter.empty ? undefined : new Error("the stream ended inside a message")));
      req.on("error", (e: Error) => finish(e));
      req.end(framed(catchUpRequest(job)));
    });
  } finally {
    req.close(http2.constants.NGHTTP2_CANCEL);
    session.close();
  }
  return resultOf(job, c, `last offset ${c.received - 1}`);
}
