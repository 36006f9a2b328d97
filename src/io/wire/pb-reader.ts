// A strict protobuf reader for the hand-written decoders, with Go's rules: a known field with an
// unexpected wire type is skipped as unknown, strings must be valid UTF-8, field number 0 and
// overlong varints are errors. Malformed input throws WireFormatError, which decoders turn into
// a Result at their boundary; nothing else escapes.

import { shortAscii, type AsciiCache } from "../../core/ascii.js";

/** Malformed protobuf input (caught by the decoders in this folder, never by callers). */
export class WireFormatError extends Error {
  override name = "WireFormatError";
}

// Stateless; fatal so invalid UTF-8 fails as it does in Go's proto3 decoder.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Reads protobuf fields from `buf[pos, end)`. */
export class PbReader {
  /** Low 32 bits of the last varint read by varint(). */
  lo = 0;
  /** High 32 bits of the last varint read by varint(). */
  hi = 0;

  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
    /** Remembers short strings across messages (optional; same answers either way). */
    readonly strings?: AsciiCache,
  ) {}

  /** Reads a varint of up to 10 bytes into lo/hi. */
  varint(): void {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError("truncated varint");
      const b = this.buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x7f) >>> 4;
      } else {
        if (i === 9 && b > 1) throw new WireFormatError("varint overflows 64 bits");
        hi |= (b & 0x7f) << (7 * i - 32);
      }
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw new WireFormatError("varint longer than 10 bytes");
  }

  /** Reads a field tag; returns field number * 8 + wire type. */
  tag(): number {
    this.varint();
    if (this.hi !== 0 || this.lo >>> 3 === 0) throw new WireFormatError("invalid field number");
    return this.lo;
  }

  /** Reads a length prefix and returns the end of the delimited bytes. */
  delimited(): number {
    this.varint();
    if (this.hi !== 0 || this.lo > this.end - this.pos) throw new WireFormatError("length exceeds the buffer");
    return this.pos + this.lo;
  }

  /** Reads length-delimited bytes as a view into the input (no copy). */
  bytes(): Uint8Array {
    const end = this.delimited();
    const view = this.buf.subarray(this.pos, end);
    this.pos = end;
    return view;
  }

  /** Reads a length-delimited UTF-8 string. */
  string(): string {
    const end = this.delimited();
    const start = this.pos;
    this.pos = end;
    const ascii = this.strings === undefined ? shortAscii(this.buf, start, end) : this.strings.decode(this.buf, start, end);
    if (ascii !== undefined) return ascii;
    return this.utf8(start, end);
  }

  private utf8(start: number, end: number): string {
    try {
      return UTF8.decode(this.buf.subarray(start, end));
    } catch {
      throw new WireFormatError("string field is not valid UTF-8");
    }
  }

  /** Skips a field's value of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.pos = this.delimited();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        // Groups (3, 4) are proto2-only and never used by Liftbridge; 6 and 7 do not exist.
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new WireFormatError("truncated fixed-width field");
    this.pos += n;
  }
}

/** Protobuf wire type of varints. */
export const WIRE_TYPE_VARINT = 0;
/** Protobuf wire type of length-delimited fields. */
export const WIRE_TYPE_LEN = 2;
const NO_BYTES: Uint8Array = new Uint8Array(0);

/**
 * Reads one entry of a `map<string, bytes>` field (key = 1, value = 2) into `map`; unknown fields
 * in the entry are skipped and a repeated key keeps the last entry, as in Go.
 */
export function readStringBytesMapEntry(r: PbReader, map: Map<string, Uint8Array>): void {
  const end = r.delimited();
  const entry = new PbReader(r.buf, r.pos, end, r.strings);
  let name = "";
  let value = NO_BYTES;
  while (entry.pos < end) {
    const t = entry.tag();
    if (t === ((1 << 3) | WIRE_TYPE_LEN)) name = entry.string();
    else if (t === ((2 << 3) | WIRE_TYPE_LEN)) value = entry.bytes();
    else entry.skip(t & 7);
  }
  r.pos = end;
  map.set(name, value);
}
