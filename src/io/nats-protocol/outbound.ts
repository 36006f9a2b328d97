// Outgoing bytes of one connection, gathered during an event-loop turn and written once: small
// pieces (protocol lines, small payloads) are copied into a shared slab, large payloads are kept
// as views, so a flush is one corked batch of a few buffers, never one write per message.
import type { Socket } from "node:net";
import { assertInt } from "../../core/assert.js";

const SLAB_BYTES = 64 * 1024;
/** Payloads at least this large are queued as views instead of being copied. */
const COPY_LIMIT_BYTES = 4 * 1024;
/** 16 digits (every safe integer) and CRLF. */
const MAX_SIZE_LINE_BYTES = 18;
const CR = 13;
const LF = 10;

/** The unsent output of one connection. */
export class Outbound {
  private chunks: Buffer[] = [];
  private slab: Buffer = Buffer.allocUnsafe(SLAB_BYTES);
  private used = 0;
  private segmentStart = 0;
  private queued = 0;

  /** Bytes queued and not yet handed to the socket. */
  get pendingBytes(): number {
    return this.queued;
  }

  /** Queues a protocol string (UTF-8). */
  writeString(text: string): void {
    // A UTF-16 code unit encodes to at most 3 UTF-8 bytes, so this reservation always suffices.
    this.reserve(text.length * 3);
    const n = this.slab.write(text, this.used, "utf8");
    this.used += n;
    this.queued += n;
  }

  /** Queues bytes; the caller must not modify them afterwards. */
  writeBytes(bytes: Uint8Array): void {
    if (bytes.length >= COPY_LIMIT_BYTES) {
      this.seal();
      this.chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } else {
      this.reserve(bytes.length);
      this.slab.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.queued += bytes.length;
  }

  /** Queues a non-negative integer in decimal ASCII followed by CRLF (the end of a PUB line). */
  writeSizeLine(n: number): void {
    assertInt(n, "size", 0);
    this.reserve(MAX_SIZE_LINE_BYTES);
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    const slab = this.slab;
    let at = this.used + digits;
    for (let rest = n; at > this.used; rest = Math.floor(rest / 10)) slab[--at] = 48 + (rest % 10);
    slab[this.used + digits] = CR;
    slab[this.used + digits + 1] = LF;
    this.used += digits + 2;
    this.queued += digits + 2;
  }

  /** Queues CRLF. */
  writeCrlf(): void {
    this.reserve(2);
    this.slab[this.used] = CR;
    this.slab[this.used + 1] = LF;
    this.used += 2;
    this.queued += 2;
  }

  /** Hands everything queued to `socket` as one corked batch; returns the bytes written. */
  flushTo(socket: Socket): number {
    this.seal();
    const chunks = this.chunks;
    const bytes = this.queued;
    this.chunks = [];
    this.queued = 0;
    if (chunks.length === 0) return 0;
    if (chunks.length === 1) {
      socket.write(chunks[0]!);
      return bytes;
    }
    socket.cork();
    for (const chunk of chunks) socket.write(chunk);
    socket.uncork();
    return bytes;
  }

  /** Drops everything queued and not yet handed to the socket. */
  discard(): void {
    this.seal();
    this.chunks = [];
    this.queued = 0;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.slab.length) return;
    this.seal();
    // Handed-out regions of the old slab stay owned by the socket; writing goes on in a fresh one.
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytes));
    this.used = 0;
    this.segmentStart = 0;
  }

  private seal(): void {
    if (this.used > this.segmentStart) {
      this.chunks.push(this.slab.subarray(this.segmentStart, this.used));
      this.segmentStart = this.used;
    }
  }
}
