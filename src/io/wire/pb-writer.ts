// Protobuf wire primitives for the hand-written encoders: varints, int64 halves, UTF-8. Sizes
// are computed first and bytes written into a buffer allocated once, so nothing is copied twice.
import { assert } from "../../core/assert.js";

const TWO_32 = 4294967296;
// Stateless; shared safely. Used only for strings that are not pure ASCII.
const UTF8 = new TextEncoder();

/** Wire types used by the encoders (low 3 bits of a tag). */
export const WIRE_VARINT = 0;
/** Length-delimited wire type (bytes, strings, messages, map entries). */
export const WIRE_LEN = 2;

/** A field tag as a single byte (field numbers 1-15 only). */
export function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

/** Bytes a varint of a non-negative 32-bit value takes. */
export function varint32Size(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

/** Writes a varint of a non-negative 32-bit value; returns the end position. */
export function writeVarint32(buf: Uint8Array, pos: number, n: number): number {
  let v = n >>> 0;
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Bytes a 64-bit varint takes, given its two's-complement low and high 32-bit halves. */
export function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varint32Size(lo);
  if (hi < 0x8) return 5;
  if (hi < 0x400) return 6;
  if (hi < 0x20000) return 7;
  if (hi < 0x1000000) return 8;
  if (hi < 0x80000000) return 9;
  return 10;
}

/** Writes a 64-bit varint from its unsigned low and high halves; returns the end position. */
export function writeVarint64(buf: Uint8Array, pos: number, lo: number, hi: number): number {
  let l = lo >>> 0;
  let h = hi >>> 0;
  while (h !== 0) {
    buf[pos++] = (l & 0x7f) | 0x80;
    l = ((l >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  while (l > 0x7f) {
    buf[pos++] = (l & 0x7f) | 0x80;
    l >>>= 7;
  }
  buf[pos++] = l;
  return pos;
}

// Scratch for splitting a bigint into 32-bit halves without allocating: written and read within
// one synchronous call, so no state survives between calls.
const SCRATCH_64 = new BigInt64Array(1);
const SCRATCH_32 = new Uint32Array(SCRATCH_64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

/** Low 32 bits (unsigned) of an int64 given as a safe integer number or a bigint (wrapped to 64 bits). */
export function int64Lo(v: number | bigint): number {
  if (typeof v === "bigint") {
    SCRATCH_64[0] = v; // stores v mod 2^64, two's complement
    return SCRATCH_32[LO]!;
  }
  assert(Number.isSafeInteger(v), `int64 field must be a safe integer, got ${v}`);
  return v >>> 0;
}

/** High 32 bits (unsigned, two's complement) of an int64 given as a safe integer number or a bigint. */
export function int64Hi(v: number | bigint): number {
  if (typeof v === "bigint") {
    SCRATCH_64[0] = v;
    return SCRATCH_32[HI]!;
  }
  return Math.floor(v / TWO_32) >>> 0;
}

/** The int64 whose two's-complement halves are `lo` and `hi` (unsigned 32-bit each). */
export function int64FromHalves(lo: number, hi: number): bigint {
  SCRATCH_32[LO] = lo;
  SCRATCH_32[HI] = hi;
  return SCRATCH_64[0]!;
}

/** Bytes an int32 field value takes (negative values are sign-extended to 10 bytes, as Go does). */
export function int32Size(n: number): number {
  assert((n | 0) === n, `int32 field must be a 32-bit integer, got ${n}`);
  return n >= 0 ? varint32Size(n) : 10;
}

/** Writes an int32 field value as a varint; returns the end position. */
export function writeInt32(buf: Uint8Array, pos: number, n: number): number {
  return n >= 0 ? writeVarint32(buf, pos, n) : writeVarint64(buf, pos, n >>> 0, 0xffffffff);
}

/** UTF-8 length of `s`, as TextEncoder encodes it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let len = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 4;
        i++;
      } else len += 3;
    } else len += 3;
  }
  return len;
}

/** Writes `s` as UTF-8 (`byteLength` from utf8Length); returns the end position. */
export function writeUtf8(buf: Uint8Array, pos: number, s: string, byteLength: number): number {
  if (byteLength === s.length) {
    // Pure ASCII: one byte per UTF-16 unit, the common case for subjects and stream names.
    for (let i = 0; i < byteLength; i++) buf[pos + i] = s.charCodeAt(i);
  } else {
    UTF8.encodeInto(s, buf.subarray(pos, pos + byteLength));
  }
  return pos + byteLength;
}

/** Bytes of a length-delimited string field (tag + length + UTF-8), 0 if the string is empty. */
export function stringFieldSize(s: string): number {
  if (s.length === 0) return 0;
  const len = utf8Length(s);
  return 1 + varint32Size(len) + len;
}

/** Writes a string field unless empty (proto3 default); returns the end position. */
export function writeStringField(buf: Uint8Array, pos: number, tagByte: number, s: string): number {
  if (s.length === 0) return pos;
  const len = utf8Length(s);
  buf[pos++] = tagByte;
  pos = writeVarint32(buf, pos, len);
  return writeUtf8(buf, pos, s, len);
}

/** Bytes of a bytes field (tag + length + data), 0 if absent or empty. */
export function bytesFieldSize(b: Uint8Array | null | undefined): number {
  if (!b || b.length === 0) return 0;
  return 1 + varint32Size(b.length) + b.length;
}

/** Writes a bytes field unless absent or empty (proto3 default); returns the end position. */
export function writeBytesField(buf: Uint8Array, pos: number, tagByte: number, b: Uint8Array | null | undefined): number {
  if (!b || b.length === 0) return pos;
  buf[pos++] = tagByte;
  pos = writeVarint32(buf, pos, b.length);
  buf.set(b, pos);
  return pos + b.length;
}

/** A string field's value: a JS string, or its UTF-8 bytes as they came off the log (passed through). */
export type Utf8Text = string | Uint8Array;

/** Bytes of a string field given as a string or as UTF-8 bytes (same wire form), 0 if empty. */
export function textFieldSize(t: Utf8Text): number {
  return typeof t === "string" ? stringFieldSize(t) : bytesFieldSize(t);
}

/** Writes a string field given as a string or as UTF-8 bytes unless empty; returns the end position. */
export function writeTextField(buf: Uint8Array, pos: number, tagByte: number, t: Utf8Text): number {
  return typeof t === "string" ? writeStringField(buf, pos, tagByte, t) : writeBytesField(buf, pos, tagByte, t);
}

/** Bytes of an int64 varint field (tag + varint), 0 if the value is 0. */
export function int64FieldSize(v: number | bigint): number {
  if (v === 0 || v === 0n) return 0;
  const lo = int64Lo(v);
  // int64Lo left the bigint's halves in the scratch: read the high half without converting again.
  const hi = typeof v === "bigint" ? SCRATCH_32[HI]! : int64Hi(v);
  return 1 + varint64Size(lo, hi);
}

/** Writes an int64 varint field unless 0; returns the end position. */
export function writeInt64Field(buf: Uint8Array, pos: number, tagByte: number, v: number | bigint): number {
  if (v === 0 || v === 0n) return pos;
  buf[pos++] = tagByte;
  const lo = int64Lo(v);
  const hi = typeof v === "bigint" ? SCRATCH_32[HI]! : int64Hi(v);
  return writeVarint64(buf, pos, lo, hi);
}

/** Bytes of an int32/enum varint field (tag + varint), 0 if the value is 0. */
export function int32FieldSize(n: number): number {
  return n === 0 ? 0 : 1 + int32Size(n);
}

/** Writes an int32/enum varint field unless 0; returns the end position. */
export function writeInt32Field(buf: Uint8Array, pos: number, tagByte: number, n: number): number {
  if (n === 0) return pos;
  buf[pos++] = tagByte;
  return writeInt32(buf, pos, n);
}
