// The record layout of Liftbridge's commit log (spec §6.2, §6.3), byte for byte, so a follower can
// append a leader's bytes verbatim and a Go data directory stays readable. All integers big-endian.
//
//   record  = offset i64 | timestampNs i64 | leaderEpoch u64 | size u32 | message[size]
//   message = crc u32 | magic i8 (=1) | attributes i8 (=0) | key (i32 len, -1 = null) |
//             value (i32 len, -1 = null) | headerCount i16 | (i16 keyLen, key, i32 valueLen, value)*
//
// The CRC-32C covers every message byte after the crc field. The 28-byte record header is NOT
// covered by any checksum in this format; recovery checks it structurally (sizes, offsets).
import { shortAscii } from "../ascii.js";
import type { Crc32c } from "../crc32c.js";
import type { Epoch, Offset, TimestampNs } from "../types.js";

/** Bytes before the message: offset, timestamp, leader epoch, size. */
export const RECORD_HEADER_BYTES = 28;
/** Message bytes that do not depend on the content (crc, magic, attributes, lengths, count). */
export const MESSAGE_FIXED_BYTES = 16;
/** The magic byte this format writes and accepts. */
export const MAGIC_BYTE = 1;
/** The largest int16, which bounds header keys and the header count. */
export const MAX_INT16 = 0x7fff;

const TWO_POW_32 = 0x1_0000_0000;

/** One message handed to appendAsLeader; headers are an ordered list so encoding is deterministic. */
export interface AppendMessage {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly (readonly [string, Uint8Array])[];
  /** Optimistic concurrency: the offset this message must get, or -1 / absent for none. */
  readonly expectedOffset?: number;
}

/** A decoded record; key, value and header values are views into the read buffer (no copy). */
export interface LogRecord {
  readonly offset: Offset;
  readonly timestampNs: TimestampNs;
  readonly leaderEpoch: Epoch;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly (readonly [string, Uint8Array])[];
}

/** The fixed fields of a record header, as read without touching the message. */
export interface RecordHeader {
  readonly offset: number;
  readonly timestampNs: bigint;
  readonly leaderEpoch: number;
  /** Whole record length: RECORD_HEADER_BYTES + message size. */
  readonly recordBytes: number;
}

/** Writes a non-negative safe integer as a big-endian 64-bit value at `pos`. */
export function writeU64(view: DataView, pos: number, n: number): void {
  view.setUint32(pos, Math.floor(n / TWO_POW_32));
  view.setUint32(pos + 4, n >>> 0);
}

/** Reads a big-endian 64-bit value, or -1 when it is negative or beyond 2^53. */
export function readU64(view: DataView, pos: number): number {
  const hi = view.getUint32(pos);
  if (hi > 0x1fffff) return -1;
  return hi * TWO_POW_32 + view.getUint32(pos + 4);
}

/** Size of a message's bytes (§6.3) given its encoded header keys. */
export function messageBytes(message: AppendMessage, headerKeys: readonly Uint8Array[]): number {
  let n = MESSAGE_FIXED_BYTES + (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (let i = 0; i < headerKeys.length; i++) {
    n += 6 + (headerKeys[i] as Uint8Array).length + (message.headers[i] as readonly [string, Uint8Array])[1].length;
  }
  return n;
}

function writeBytesField(bytes: Uint8Array, view: DataView, pos: number, field: Uint8Array | null): number {
  if (field === null) {
    view.setInt32(pos, -1);
    return pos + 4;
  }
  view.setInt32(pos, field.length);
  bytes.set(field, pos + 4);
  return pos + 4 + field.length;
}

/**
 * Encodes one record at `pos` in `bytes` and returns the position after it. The caller sized the
 * buffer with messageBytes(); the CRC is computed in place over the bytes just written.
 */
export function encodeRecordInto(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  record: { readonly offset: number; readonly timestampNs: bigint; readonly leaderEpoch: number },
  message: AppendMessage,
  headerKeys: readonly Uint8Array[],
  crc32c: Crc32c,
): number {
  const start = pos;
  writeU64(view, pos, record.offset);
  view.setBigInt64(pos + 8, record.timestampNs);
  writeU64(view, pos + 16, record.leaderEpoch);
  const messageStart = pos + RECORD_HEADER_BYTES;
  bytes[messageStart + 4] = MAGIC_BYTE;
  bytes[messageStart + 5] = 0;
  let p = writeBytesField(bytes, view, messageStart + 6, message.key);
  p = writeBytesField(bytes, view, p, message.value);
  view.setInt16(p, headerKeys.length);
  p += 2;
  for (let i = 0; i < headerKeys.length; i++) {
    const k = headerKeys[i] as Uint8Array;
    view.setInt16(p, k.length);
    bytes.set(k, p + 2);
    p = writeBytesField(bytes, view, p + 2 + k.length, (message.headers[i] as readonly [string, Uint8Array])[1]);
  }
  view.setUint32(start + 24, p - messageStart);
  view.setUint32(messageStart, crc32c(bytes.subarray(messageStart + 4, p)));
  return p;
}

/** Why a record could not be read. */
export type RecordDefect = "truncated" | "badSize" | "badCrc" | "badOffset" | "badEpoch" | "badLayout";

/**
 * Checks the record starting at `pos` (framing and CRC) without decoding the message; returns its
 * header or the defect. `end` bounds the valid bytes; `maxMessageBytes` rejects absurd sizes.
 */
export function checkRecordAt(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  end: number,
  crc32c: Crc32c,
): RecordHeader | RecordDefect {
  if (end - pos < RECORD_HEADER_BYTES) return "truncated";
  const size = view.getUint32(pos + 24);
  if (size < MESSAGE_FIXED_BYTES || size > 0x7fffffff - RECORD_HEADER_BYTES) return "badSize";
  const recordBytes = RECORD_HEADER_BYTES + size;
  if (end - pos < recordBytes) return "truncated";
  const offset = readU64(view, pos);
  if (offset < 0) return "badOffset";
  const leaderEpoch = readU64(view, pos + 16);
  if (leaderEpoch < 0) return "badEpoch";
  const messageStart = pos + RECORD_HEADER_BYTES;
  const stored = view.getUint32(messageStart);
  if (crc32c(bytes.subarray(messageStart + 4, messageStart + size)) !== stored) return "badCrc";
  if (bytes[messageStart + 4] !== MAGIC_BYTE) return "badLayout";
  return { offset, timestampNs: view.getBigInt64(pos + 8), leaderEpoch, recordBytes };
}

// Stateless when decode() is called without {stream: true}, so sharing one is safe.
const UTF8 = new TextDecoder("utf-8", { fatal: true });

function readBytesField(bytes: Uint8Array, view: DataView, pos: number, end: number): [Uint8Array | null, number] | undefined {
  if (end - pos < 4) return undefined;
  const len = view.getInt32(pos);
  if (len === -1) return [null, pos + 4];
  if (len < 0 || end - pos - 4 < len) return undefined;
  return [bytes.subarray(pos + 4, pos + 4 + len), pos + 4 + len];
}

function readHeaders(bytes: Uint8Array, view: DataView, pos: number, end: number): [string, Uint8Array][] | undefined {
  if (end - pos < 2) return undefined;
  const count = view.getInt16(pos);
  if (count < 0) return undefined;
  const headers: [string, Uint8Array][] = [];
  let p = pos + 2;
  for (let i = 0; i < count; i++) {
    if (end - p < 2) return undefined;
    const keyLen = view.getInt16(p);
    if (keyLen < 0 || end - p - 2 < keyLen) return undefined;
    let key = shortAscii(bytes, p + 2, p + 2 + keyLen);
    if (key === undefined) {
      try {
        key = UTF8.decode(bytes.subarray(p + 2, p + 2 + keyLen));
      } catch {
        return undefined;
      }
    }
    const value = readBytesField(bytes, view, p + 2 + keyLen, end);
    if (value === undefined || value[0] === null) return undefined;
    headers.push([key, value[0]]);
    p = value[1];
  }
  return p === end ? headers : undefined;
}

/** The end of a length-prefixed (i32) field at `pos` within `end` (-1 = null allowed), or -1 when it does not fit. */
function skipBytesField(view: DataView, pos: number, end: number, nullable: boolean): number {
  if (end - pos < 4) return -1;
  const len = view.getInt32(pos);
  if (len === -1 && nullable) return pos + 4;
  if (len < 0 || end - pos - 4 < len) return -1;
  return pos + 4 + len;
}

/** Whether header key bytes are valid UTF-8 (ASCII checked without decoding). */
function isUtf8Key(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) {
      try {
        UTF8.decode(bytes.subarray(start, end));
        return true;
      } catch {
        return false;
      }
    }
  }
  return true;
}

/**
 * Whether the message of a record that checkRecordAt accepted is laid out as parseRecordAt needs
 * (the same rules), without decoding it: for readers that hand records on as stored bytes.
 */
export function hasValidLayoutAt(bytes: Uint8Array, view: DataView, pos: number, header: RecordHeader): boolean {
  const end = pos + header.recordBytes;
  let p = skipBytesField(view, pos + RECORD_HEADER_BYTES + 6, end, true);
  if (p >= 0) p = skipBytesField(view, p, end, true);
  if (p < 0 || end - p < 2) return false;
  const count = view.getInt16(p);
  if (count < 0) return false;
  p += 2;
  for (let i = 0; i < count; i++) {
    if (end - p < 2) return false;
    const keyLen = view.getInt16(p);
    if (keyLen < 0 || end - p - 2 < keyLen || !isUtf8Key(bytes, p + 2, p + 2 + keyLen)) return false;
    p = skipBytesField(view, p + 2 + keyLen, end, false);
    if (p < 0) return false;
  }
  return p === end;
}

/** Decodes the message of a record that checkRecordAt accepted; "badLayout" if its lengths lie. */
export function parseRecordAt(bytes: Uint8Array, view: DataView, pos: number, header: RecordHeader): LogRecord | "badLayout" {
  const end = pos + header.recordBytes;
  const key = readBytesField(bytes, view, pos + RECORD_HEADER_BYTES + 6, end);
  if (key === undefined) return "badLayout";
  const value = readBytesField(bytes, view, key[1], end);
  if (value === undefined) return "badLayout";
  const headers = readHeaders(bytes, view, value[1], end);
  if (headers === undefined) return "badLayout";
  return {
    offset: header.offset as Offset,
    timestampNs: header.timestampNs as TimestampNs,
    leaderEpoch: header.leaderEpoch as Epoch,
    key: key[0],
    value: value[0],
    headers,
  };
}

/** A DataView over exactly the bytes of `bytes` (which may be a subarray). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
