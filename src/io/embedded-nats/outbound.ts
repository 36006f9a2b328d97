// Outgoing bytes of one connection, gathered during an event-loop turn and written once: small
// pieces (protocol lines, small payloads) are copied into a shared slab, large payloads are kept
// as views, so a flush is one corked batch of a few buffers, never one write per message.
import type { Socket } from "node:net";

const SLAB_BYTES = 64 * 1024;
/** Payloads at least this large are queued as views instead of being copied. */
const COPY_LIMIT_BYTES = 4 * 1024;

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
  writeBytes(bytes: Buffer): void {
    if (bytes.length >= COPY_LIMIT_BYTES) {
      this.seal();
      this.chunks.push(bytes);
    } else {
      this.reserve(bytes.length);
      bytes.copy(this.slab, this.used);
      this.used += bytes.length;
    }
    this.queued += bytes.length;
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
