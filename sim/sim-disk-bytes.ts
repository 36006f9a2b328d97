// The byte content of one simulated file: a growable buffer whose bytes past `size` are always zero,
// so growing (by a gapped write or a truncate) reads zeros without extra work.
import { assert } from "../src/core/assert.js";

const INITIAL_CAPACITY_BYTES = 64;

/** A growable, zero-filled byte array with an explicit size. */
export class SimBytes {
  private buf: Uint8Array;
  private sizeBytes = 0;

  constructor(initial?: Uint8Array) {
    this.buf = new Uint8Array(Math.max(INITIAL_CAPACITY_BYTES, initial?.length ?? 0));
    if (initial !== undefined) {
      this.buf.set(initial);
      this.sizeBytes = initial.length;
    }
  }

  /** The current length in bytes. */
  get size(): number {
    return this.sizeBytes;
  }

  /** Grows the backing array (doubling) so `capacity` bytes fit. */
  private reserve(capacity: number): void {
    if (capacity <= this.buf.length) return;
    let next = this.buf.length;
    while (next < capacity) next *= 2;
    const grown = new Uint8Array(next);
    grown.set(this.buf.subarray(0, this.sizeBytes));
    this.buf = grown;
  }

  /** Writes `bytes` at `position`, growing the size as needed (a gap reads as zeros). */
  write(position: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const end = position + bytes.length;
    this.reserve(end);
    this.buf.set(bytes, position);
    if (end > this.sizeBytes) this.sizeBytes = end;
  }

  /** Sets the size: shrinking zeroes the dropped tail (keeping the invariant), growing adds zeros. */
  truncate(length: number): void {
    if (length < this.sizeBytes) this.buf.fill(0, length, this.sizeBytes);
    else this.reserve(length);
    this.sizeBytes = length;
  }

  /** A copy of up to `length` bytes at `position` (short, possibly empty, at the end). */
  read(position: number, length: number): Uint8Array {
    const end = Math.min(this.sizeBytes, position + length);
    return end <= position ? new Uint8Array(0) : this.buf.slice(position, end);
  }

  /** Inverts one bit of an existing byte. */
  flipBit(position: number, bit: number): void {
    assert(position < this.sizeBytes, `SimBytes.flipBit: position ${position} is past the size ${this.sizeBytes}`);
    this.buf[position] = (this.buf[position] ?? 0) ^ (1 << bit);
  }

  /** An independent copy. */
  copy(): SimBytes {
    return new SimBytes(this.buf.subarray(0, this.sizeBytes));
  }
}
