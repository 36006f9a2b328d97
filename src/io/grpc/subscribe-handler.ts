// Subscribe (spec §2.5): the empty Message{} handshake first, then one Message per committed
// record, then a terminal status. Each chunk of records is encoded once into gRPC-framed bytes and
// written to the HTTP/2 stream in one write (http2-stream-of.ts; one grpc-js write per message if
// grpc-js's internals are not as expected). Flow control: the broker sends the next chunk only
// after ready(maxBytes), and ready() comes while fewer than MAX_CHUNKS_IN_FLIGHT writes wait for
// the HTTP/2 stream to take them (it takes data as the client's window allows) and while the
// call's buffered bytes are under its cap and the server-wide pool has memory; maxBytes is what is
// left of both. So a slow client slows the reads down, and one that stops reading holds at most
// its cap until grpc.subscriber.stall.timeout ends it with RESOURCE_EXHAUSTED. Two chunks, not
// one, so the socket always has the next chunk while the broker reads the one after it.
import { constants as http2Constants } from "node:http2";
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
import type { Logger } from "../logger.js";
import { MIN_GRANT_BYTES, SubscriberBufferPool, type PoolWaiter } from "./subscriber-buffer-pool.js";
import type { OpenCalls, StoppableCall } from "./open-calls.js";

type SubscribeCall = ServerWritableStream<Decoded<"Subscribe">, Uint8Array>;

/** Chunks written but not yet taken by the HTTP/2 stream, at most. */
export const MAX_CHUNKS_IN_FLIGHT = 2;

/** How long an UNAVAILABLE end waits behind data the client has not taken before the stream is reset. */
const UNREAD_TRAILERS_WAIT_MS = 500;

/** Chunks at least this large are written into recycled memory. */
const RECYCLED_CHUNK_MIN_BYTES = 64 * 1024;
/** The size recycled chunk memory is allocated with: a full chunk (1 MiB of records) and its framing. */
const RECYCLED_CHUNK_BYTES = 1280 * 1024;
/** Spare chunk memory kept per call (only a reading call has any: a chunk is spare once taken). */
const MAX_SPARE_CHUNKS = 1;

/** The buffer caps of Subscribe calls (`grpc.subscriber*` keys). */
export interface SubscriberLimits {
  /** Bytes one call may hold in chunks its HTTP/2 stream has not taken yet. */
  readonly maxBufferedBytes: number;
  /** A call whose buffered chunks are not taken for this long is ended with RESOURCE_EXHAUSTED. */
  readonly stallTimeoutMs: number;
  /** The memory all calls of the server share. */
  readonly pool: SubscriberBufferPool;
  readonly logger?: Logger;
}

/** The defaults of docs/configuration.md, with a pool of their own (for tests and embedders). */
export function defaultSubscriberLimits(): SubscriberLimits {
  return { maxBufferedBytes: 5 * 512 * 1024, stallTimeoutMs: 30_000, pool: new SubscriberBufferPool(128 * 1024 * 1024) };
}

/** The memory a chunk holds: its whole buffer when it owns it. */
function memoryOf(chunk: Uint8Array): number {
  return chunk.byteOffset === 0 ? chunk.buffer.byteLength : chunk.byteLength;
}

/** One Subscribe call: the sink the broker writes to. */
class SubscribeSession implements SubscriptionSink, PoolWaiter, StoppableCall {
  private handle: SubscriptionHandle | undefined;
  private done = false;
  /** Sink calls that came before the handshake was written, replayed after it. */
  private early: (() => void)[] | undefined = [];
  private readonly http2: FramedWriter | undefined;
  private chunksInFlight = 0;
  /** Memory of the chunks in flight (counted in the pool too). */
  private bytesInFlight = 0;
  /** Pool memory reserved for the chunk the broker may send next (see grant()). */
  private reserved = 0;
  /** When the HTTP/2 stream last took a chunk, or the first chunk went out after an empty spell. */
  private lastProgressMs = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  /** A ready() held back until a chunk is taken or the pool has memory. */
  private readyOwed = false;
  /** Memory of written chunks, for the next large ones (a catch-up read allocates none after its first few chunks). */
  private readonly spareChunks: ArrayBuffer[] = [];

  constructor(
    private readonly call: SubscribeCall,
    private readonly limits: SubscriberLimits,
    private readonly calls: OpenCalls | undefined,
  ) {
    this.http2 = http2StreamOf(call);
    limits.pool.join();
    calls?.add(this);
    call.on("cancelled", () => {
      if (this.done) return;
      this.finish();
      this.handle?.cancel();
    });
  }

  /** The first chunk's size, before any ready(): what the caps allow (at least one record). */
  firstChunkMaxBytes(): number {
    return this.grant() ?? Math.min(MIN_GRANT_BYTES, this.limits.maxBufferedBytes);
  }

  /**
   * The most the broker may send in the next chunk, reserved in the pool until it comes (so
   * grants to many calls at once cannot add up past the pool), or undefined to wait. A call with
   * nothing buffered always gets MIN_GRANT_BYTES, outside the pool if need be: a subscriber that
   * reads is never starved by ones that do not (they hold the pool until their stall timeout), at
   * a cost of at most that much per call beyond the pool.
   */
  private grant(): number | undefined {
    const floor = Math.min(MIN_GRANT_BYTES, this.limits.maxBufferedBytes);
    const shared = Math.min(this.limits.maxBufferedBytes - this.bytesInFlight, this.limits.pool.fairShare);
    if (shared >= floor) {
      this.reserved = shared;
      this.limits.pool.take(shared);
      return shared;
    }
    return this.bytesInFlight === 0 ? floor : undefined;
  }


  /** Marks the call over and gives its memory back to the pool. */
  private finish(): void {
    this.done = true;
    this.calls?.remove(this);
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.limits.pool.leave(this);
    this.limits.pool.give(this.bytesInFlight + this.reserved);
    this.bytesInFlight = 0;
    this.reserved = 0;
    this.spareChunks.length = 0;
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
    const buffered = this.bytesInFlight > 0;
    this.finish();
    endWithStatus(this.call, s);
    const http2 = this.http2;
    if (!buffered || s.code !== Status.UNAVAILABLE || http2 === undefined) return;
    // A stopping server must not wait for a client that does not read (its trailers queue behind
    // the data): if they are not out soon, reset with REFUSED_STREAM, which clients report as UNAVAILABLE.
    setTimeout(() => {
      if (!http2.closed) http2.close(http2Constants.NGHTTP2_REFUSED_STREAM);
    }, UNREAD_TRAILERS_WAIT_MS).unref();
  }

  records(stream: string, partition: number, records: StoredRecords): void {
    if (this.early !== undefined) {
      this.early.push(() => this.records(stream, partition, records));
      return;
    }
    if (this.done) return;
    const handle = this.handle!;
    // The chunk takes (at most about) what was reserved for it: charged below by its real size.
    const reservedForChunk = this.reserved;
    if (records.count === 0) {
      this.reserved = 0;
      this.limits.pool.give(reservedForChunk);
      setImmediate(() => this.askReady());
      return;
    }
    const http2 = this.http2;
    const frames = http2 === undefined ? encodeSubscriberFrames(stream, partition, records) : encodeSubscriberFrames(stream, partition, records, (size) => this.chunkBuffer(size));
    // Caught up (a small chunk): the spare memory of a catch-up read is not needed any more.
    if (frames.length < RECYCLED_CHUNK_MIN_BYTES) this.spareChunks.length = 0;
    this.reserved = 0;
    const memory = memoryOf(frames);
    if (this.bytesInFlight === 0) this.lastProgressMs = performance.now();
    this.chunksInFlight++;
    this.bytesInFlight += memory;
    this.limits.pool.take(memory);
    this.limits.pool.give(reservedForChunk);
    this.armStallTimer();
    const written = (error?: Error | null): void => {
      if (this.done) return;
      if (error) {
        this.finish(); // the HTTP/2 stream is gone; grpc-js reports the call as cancelled
        handle.cancel();
        return;
      }
      this.chunksInFlight--;
      this.bytesInFlight -= memory;
      this.lastProgressMs = performance.now();
      // The HTTP/2 stream is done with the chunk: its memory serves a later one.
      if (http2 !== undefined) this.recycle(frames);
      this.limits.pool.give(memory);
      if (this.readyOwed) this.askReady();
    };
    if (http2 !== undefined) {
      http2.write(frames, written);
    } else {
      const messages = framedMessages(frames);
      const last = messages.length - 1;
      for (let i = 0; i < last; i++) this.call.write(messages[i]!);
      this.call.write(messages[last]!, written);
    }
    this.askReady();
  }

  /** Tells the broker to send the next chunk, of what the caps leave, or owes it until they allow one. */
  private askReady(): void {
    if (this.done) return;
    const grant = this.chunksInFlight >= MAX_CHUNKS_IN_FLIGHT ? undefined : this.grant();
    if (grant === undefined) {
      this.readyOwed = true;
      if (this.chunksInFlight < MAX_CHUNKS_IN_FLIGHT && this.limits.pool.fairShare < MIN_GRANT_BYTES) this.limits.pool.wait(this);
      return;
    }
    this.readyOwed = false;
    this.handle!.ready(grant);
  }

  /** The server is stopping: UNAVAILABLE, so clients resubscribe elsewhere (the broker normally ended it already). */
  stopServing(): Promise<void> {
    this.handle?.cancel();
    this.failed({ code: Status.UNAVAILABLE, details: "Server shutting down" });
    return Promise.resolve();
  }

  /** The pool has memory again. */
  poolReady(): void {
    if (this.readyOwed) this.askReady();
  }

  private armStallTimer(): void {
    if (this.stallTimer !== undefined) return;
    this.stallTimer = setTimeout(() => this.checkStall(), this.limits.stallTimeoutMs);
    this.stallTimer.unref();
  }

  /** Ends the call when its chunks have not moved for the stall timeout. */
  private checkStall(): void {
    this.stallTimer = undefined;
    if (this.done || this.bytesInFlight === 0) return;
    const stalledMs = performance.now() - this.lastProgressMs;
    if (stalledMs < this.limits.stallTimeoutMs) {
      this.stallTimer = setTimeout(() => this.checkStall(), this.limits.stallTimeoutMs - stalledMs);
      this.stallTimer.unref();
      return;
    }
    const details = `subscriber is not reading: ${this.bytesInFlight} bytes not taken for ${Math.round(stalledMs)} ms (grpc.subscriber.stall.timeout)`;
    this.limits.logger?.warn({ bufferedBytes: this.bytesInFlight, stalledMs: Math.round(stalledMs) }, "ending a Subscribe that does not read");
    this.finish();
    this.handle?.cancel();
    // Trailers would queue behind the data the client does not take: reset the stream instead,
    // with ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED.
    if (this.http2 !== undefined) this.http2.close(http2Constants.NGHTTP2_ENHANCE_YOUR_CALM);
    else endWithStatus(this.call, { code: Status.RESOURCE_EXHAUSTED, details });
  }

  /**
   * Memory for a chunk of `size` bytes: a spare one when it is large (1 MiB chunks allocated
   * afresh made the broker's garbage collector a third of a catch-up read), else a fresh one.
   */
  private chunkBuffer(size: number): Uint8Array {
    if (size < RECYCLED_CHUNK_MIN_BYTES) return new Uint8Array(size);
    const i = this.spareChunks.findIndex((b) => b.byteLength >= size);
    // A recycled chunk's rounding counts against the call's cap: round up only where it fits.
    const roomy = this.bytesInFlight + RECYCLED_CHUNK_BYTES <= this.limits.maxBufferedBytes && RECYCLED_CHUNK_BYTES <= this.reserved;
    const memory = i >= 0 ? this.spareChunks.splice(i, 1)[0]! : new ArrayBuffer(roomy ? Math.max(size, RECYCLED_CHUNK_BYTES) : size);
    return new Uint8Array(memory, 0, size);
  }

  private recycle(chunk: Uint8Array): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (chunk.byteOffset !== 0 || memory.byteLength < RECYCLED_CHUNK_MIN_BYTES || this.spareChunks.length >= MAX_SPARE_CHUNKS) return;
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
export function handleSubscribe(service: BrokerService, call: SubscribeCall, limits: SubscriberLimits = defaultSubscriberLimits(), calls?: OpenCalls): void {
  const decoded = call.request;
  const request = decoded.ok ? subscribeRequestOf(decoded.value) : decoded;
  if (!request.ok) {
    endWithStatus(call, statusOf(request.error));
    return;
  }
  const session = new SubscribeSession(call, limits, calls);
  attempt(() => service.subscribe(request.value, session)).then(
    (result) => (result.ok ? session.started(result.value) : session.failed(statusOf(result.error))),
    (e: unknown) => session.failed({ code: Status.INTERNAL, details: messageOf(e) }),
  );
}
