// Subscribe (spec §2.5): the empty Message{} handshake first, then one Message per committed
// record, then a terminal status. Each chunk of records is encoded once into gRPC-framed bytes and
// written to the HTTP/2 stream in one write (http2-stream-of.ts; one grpc-js write per message if
// grpc-js's internals are not as expected). Flow control: the broker sends the next chunk only
// after ready(), and ready() comes while fewer than MAX_CHUNKS_IN_FLIGHT writes wait for the
// HTTP/2 stream to take them (it takes data as the client's window allows), so a subscriber
// buffers at most two chunks (2 MiB by default) and a slow client slows the reads down. Two, not
// one, so the socket always has the next chunk while the broker reads the one after it.
import type { ServerWritableStream } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";
import type { StoredRecords } from "../../core/log/stored-records.js";
import type { OperatingError } from "../../core/errors.js";
import type { BrokerService, SubscriptionHandle, SubscriptionSink } from "../broker-service.js";
import type { Decoded } from "./api-service-definition.js";
import type { GrpcStatus } from "./grpc-status.js";
import { endWithStatus, statusOf } from "./grpc-status.js";
import { subscribeRequestOf } from "./request-mapping.js";
import { EMPTY_RESPONSE, encodeSubscriberFrames } from "./response-encoding.js";
import { attempt, messageOf } from "./attempt.js";
import type { FramedWriter } from "./http2-stream-of.js";
import { http2StreamOf } from "./http2-stream-of.js";
import { framedMessages } from "../wire/message-encoder.js";

type SubscribeCall = ServerWritableStream<Decoded<"Subscribe">, Uint8Array>;

/** Chunks written but not yet taken by the HTTP/2 stream, at most. */
export const MAX_CHUNKS_IN_FLIGHT = 2;

/** Chunks at least this large are written into recycled memory. */
const RECYCLED_CHUNK_MIN_BYTES = 64 * 1024;
/** The size recycled chunk memory is allocated with: a full chunk (1 MiB of records) and its framing. */
const RECYCLED_CHUNK_BYTES = 1280 * 1024;

/** One Subscribe call: the sink the broker writes to. */
class SubscribeSession implements SubscriptionSink {
  private handle: SubscriptionHandle | undefined;
  private done = false;
  /** Sink calls that came before the handshake was written, replayed after it. */
  private early: (() => void)[] | undefined = [];
  private readonly http2: FramedWriter | undefined;
  private chunksInFlight = 0;
  /** A ready() held back because MAX_CHUNKS_IN_FLIGHT chunks were waiting. */
  private readyOwed = false;
  /** Memory of written chunks, for the next large ones (a catch-up read allocates none after its first few chunks). */
  private readonly spareChunks: ArrayBuffer[] = [];

  constructor(private readonly call: SubscribeCall) {
    this.http2 = http2StreamOf(call);
    call.on("cancelled", () => {
      this.done = true;
      this.handle?.cancel();
    });
  }

  started(handle: SubscriptionHandle): void {
    this.handle = handle;
    if (this.done) {
      handle.cancel();
      return;
    }
    // Records go straight to the HTTP/2 stream, so they wait until grpc-js has written the
    // handshake (and the response headers before it).
    this.call.write(EMPTY_RESPONSE, () => {
      const early = this.early ?? [];
      this.early = undefined;
      for (const replay of early) replay();
    });
  }

  failed(s: GrpcStatus): void {
    if (this.done) return;
    this.done = true;
    endWithStatus(this.call, s);
  }

  records(stream: string, partition: number, records: StoredRecords): void {
    if (this.early !== undefined) {
      this.early.push(() => this.records(stream, partition, records));
      return;
    }
    if (this.done) return;
    const handle = this.handle!;
    if (records.count === 0) {
      setImmediate(() => handle.ready());
      return;
    }
    const http2 = this.http2;
    const frames = http2 === undefined ? encodeSubscriberFrames(stream, partition, records) : encodeSubscriberFrames(stream, partition, records, (size) => this.chunkBuffer(size));
    this.chunksInFlight++;
    const written = (error?: Error | null): void => {
      if (this.done) return;
      if (error) {
        this.done = true; // the HTTP/2 stream is gone; grpc-js reports the call as cancelled
        handle.cancel();
        return;
      }
      this.chunksInFlight--;
      // The HTTP/2 stream is done with the chunk: its memory serves a later one.
      if (http2 !== undefined) this.recycle(frames);
      if (this.readyOwed) {
        this.readyOwed = false;
        handle.ready();
      }
    };
    if (http2 !== undefined) {
      http2.write(frames, written);
    } else {
      const messages = framedMessages(frames);
      const last = messages.length - 1;
      for (let i = 0; i < last; i++) this.call.write(messages[i]!);
      this.call.write(messages[last]!, written);
    }
    if (this.chunksInFlight < MAX_CHUNKS_IN_FLIGHT) handle.ready();
    else this.readyOwed = true;
  }

  /**
   * Memory for a chunk of `size` bytes: a spare one when it is large (1 MiB chunks allocated
   * afresh made the broker's garbage collector a third of a catch-up read), else a fresh one.
   */
  private chunkBuffer(size: number): Uint8Array {
    if (size < RECYCLED_CHUNK_MIN_BYTES) return new Uint8Array(size);
    const i = this.spareChunks.findIndex((b) => b.byteLength >= size);
    const memory = i >= 0 ? this.spareChunks.splice(i, 1)[0]! : new ArrayBuffer(Math.max(size, RECYCLED_CHUNK_BYTES));
    return new Uint8Array(memory, 0, size);
  }

  private recycle(chunk: Uint8Array): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (chunk.byteOffset !== 0 || memory.byteLength < RECYCLED_CHUNK_MIN_BYTES || this.spareChunks.length > MAX_CHUNKS_IN_FLIGHT) return;
    this.spareChunks.push(memory);
  }

  end(error: OperatingError): void {
    if (this.early !== undefined) {
      this.early.push(() => this.end(error));
      return;
    }
    this.failed(statusOf(error));
  }
}

/** Handles Subscribe over the broker's subscribe(). */
export function handleSubscribe(service: BrokerService, call: SubscribeCall): void {
  const decoded = call.request;
  const request = decoded.ok ? subscribeRequestOf(decoded.value) : decoded;
  if (!request.ok) {
    endWithStatus(call, statusOf(request.error));
    return;
  }
  const session = new SubscribeSession(call);
  attempt(() => service.subscribe(request.value, session)).then(
    (result) => (result.ok ? session.started(result.value) : session.failed(statusOf(result.error))),
    (e: unknown) => session.failed({ code: Status.INTERNAL, details: messageOf(e) }),
  );
}
