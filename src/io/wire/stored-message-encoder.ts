// Subscribe's hot path: records as the log stores them, transcoded straight into gRPC-framed
// proto.Messages, byte for byte what encodeFramedMessages writes for the decoded records (tested
// as a property), but without one object per record, header, or string: lengths and positions are
// read from the stored bytes and the fields are copied across. Stored records are verified
// (framing, CRC, layout) by the log reader before they get here.
import { assert } from "../../core/assert.js";
import { RECORD_HEADER_BYTES } from "../../core/log/record-codec.js";
import type { StoredRecords } from "../../core/log/stored-records.js";
import {
  GRPC_FRAME_PREFIX_BYTES, T_ENTRY_KEY, T_ENTRY_VALUE, T_HEADERS, T_KEY, T_OFFSET, T_PARTITION, T_REPLY, T_STREAM, T_SUBJECT,
  T_TIMESTAMP, T_VALUE, headerEntrySize,
} from "./message-encoder.js";
import { int32FieldSize, varint32Size, varint64Size, writeInt32Field, writeVarint32, writeVarint64 } from "./pb-writer.js";

const SUBJECT = new TextEncoder().encode("subject");
const REPLY = new TextEncoder().encode("reply");

// Where one record's fields are, as found by locate(): positions into the stored bytes.
const KEY_POS = 0;
const KEY_LEN = 1; // -1: null
const VALUE_POS = 2;
const VALUE_LEN = 3;
const HEADERS_POS = 4; // the first header entry
const HEADER_COUNT = 5;
const SUBJECT_POS = 6;
const SUBJECT_LEN = 7; // 0 when there is no subject header
const REPLY_POS = 8;
const REPLY_LEN = 9;
const FIELDS = 10;

function sameBytes(bytes: Uint8Array, pos: number, length: number, name: Uint8Array): boolean {
  if (length !== name.length) return false;
  for (let i = 0; i < length; i++) if (bytes[pos + i] !== name[i]) return false;
  return true;
}

/** Fills at[base, base + FIELDS) with the positions of the record at `p`; returns the size of its headers map on the wire. */
function locate(bytes: Uint8Array, view: DataView, p: number, at: Int32Array, base: number): number {
  let q = p + RECORD_HEADER_BYTES + 6; // past crc, magic, attributes
  const keyLen = view.getInt32(q);
  at[base + KEY_POS] = q + 4;
  at[base + KEY_LEN] = keyLen;
  q += 4 + Math.max(keyLen, 0);
  const valueLen = view.getInt32(q);
  at[base + VALUE_POS] = q + 4;
  at[base + VALUE_LEN] = valueLen;
  q += 4 + Math.max(valueLen, 0);
  const count = view.getInt16(q);
  q += 2;
  at[base + HEADERS_POS] = q;
  at[base + HEADER_COUNT] = count;
  at[base + SUBJECT_LEN] = 0;
  at[base + REPLY_LEN] = 0;
  let subjectSeen = false;
  let replySeen = false;
  let mapSize = 0;
  for (let i = 0; i < count; i++) {
    const nameLen = view.getInt16(q);
    const namePos = q + 2;
    const valueLength = view.getInt32(namePos + nameLen);
    const valuePos = namePos + nameLen + 4;
    // The first header of each name is the one a subscriber's subject and reply come from.
    if (!subjectSeen && sameBytes(bytes, namePos, nameLen, SUBJECT)) {
      subjectSeen = true;
      at[base + SUBJECT_POS] = valuePos;
      at[base + SUBJECT_LEN] = valueLength;
    } else if (!replySeen && sameBytes(bytes, namePos, nameLen, REPLY)) {
      replySeen = true;
      at[base + REPLY_POS] = valuePos;
      at[base + REPLY_LEN] = valueLength;
    }
    const entry = headerEntrySize(nameLen, valueLength);
    mapSize += 1 + varint32Size(entry) + entry;
    q = valuePos + valueLength;
  }
  return mapSize;
}

/** Copies src[from, from + length) to dst at `pos`; short runs byte by byte (a subarray costs more than they do). */
function copyBytes(dst: Uint8Array, pos: number, src: Uint8Array, from: number, length: number): number {
  if (length < 32) {
    for (let i = 0; i < length; i++) dst[pos + i] = src[from + i]!;
  } else {
    dst.set(src.subarray(from, from + length), pos);
  }
  return pos + length;
}

function lenFieldSize(length: number): number {
  return length <= 0 ? 0 : 1 + varint32Size(length) + length;
}

function int64FieldSizeOf(view: DataView, pos: number): number {
  const hi = view.getUint32(pos);
  const lo = view.getUint32(pos + 4);
  return hi === 0 && lo === 0 ? 0 : 1 + varint64Size(lo, hi);
}

function messageSizeAt(bytes: Uint8Array, view: DataView, p: number, at: Int32Array, base: number, streamField: number, partitionField: number): number {
  const mapSize = locate(bytes, view, p, at, base);
  return (
    int64FieldSizeOf(view, p) + lenFieldSize(at[base + KEY_LEN]!) + lenFieldSize(at[base + VALUE_LEN]!) + int64FieldSizeOf(view, p + 8) +
    streamField + partitionField + lenFieldSize(at[base + SUBJECT_LEN]!) + lenFieldSize(at[base + REPLY_LEN]!) + mapSize
  );
}

function writeInt64At(buf: Uint8Array, pos: number, tagByte: number, view: DataView, from: number): number {
  const hi = view.getUint32(from);
  const lo = view.getUint32(from + 4);
  if (hi === 0 && lo === 0) return pos;
  buf[pos++] = tagByte;
  return writeVarint64(buf, pos, lo, hi);
}

function copyLenField(buf: Uint8Array, pos: number, tagByte: number, bytes: Uint8Array, from: number, length: number): number {
  if (length <= 0) return pos;
  buf[pos++] = tagByte;
  pos = writeVarint32(buf, pos, length);
  return copyBytes(buf, pos, bytes, from, length);
}

function writeHeaderEntries(buf: Uint8Array, pos: number, bytes: Uint8Array, view: DataView, at: Int32Array, base: number): number {
  let q = at[base + HEADERS_POS]!;
  for (let i = 0, n = at[base + HEADER_COUNT]!; i < n; i++) {
    const nameLen = view.getInt16(q);
    const namePos = q + 2;
    const valueLen = view.getInt32(namePos + nameLen);
    const valuePos = namePos + nameLen + 4;
    buf[pos++] = T_HEADERS;
    pos = writeVarint32(buf, pos, headerEntrySize(nameLen, valueLen));
    buf[pos++] = T_ENTRY_KEY;
    pos = copyBytes(buf, writeVarint32(buf, pos, nameLen), bytes, namePos, nameLen);
    buf[pos++] = T_ENTRY_VALUE;
    pos = copyBytes(buf, writeVarint32(buf, pos, valueLen), bytes, valuePos, valueLen);
    q = valuePos + valueLen;
  }
  return pos;
}

/** A fresh buffer that is not zero-filled first (every byte is written). */
function allocateUnfilled(size: number): Uint8Array {
  const unfilled = Buffer.allocUnsafe(size);
  return new Uint8Array(unfilled.buffer, unfilled.byteOffset, size);
}

/**
 * One proto.Message per stored record, as Liftbridge sends them to subscribers (subject and reply
 * from the record's headers), gRPC-framed back to back in one buffer of exactly their size, taken
 * from `allocate` (a caller may hand out reused memory; every byte is overwritten).
 */
export function encodeStoredAsFramedMessages(stream: Uint8Array, partition: number, stored: StoredRecords, allocate: (size: number) => Uint8Array = allocateUnfilled): Uint8Array {
  const { bytes } = stored;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Every record's field positions, found once while sizing and used again while writing.
  const at = new Int32Array(stored.count * FIELDS);
  const streamField = lenFieldSize(stream.length);
  const partitionField = int32FieldSize(partition);
  const sizes = new Uint32Array(stored.count);
  let total = 0;
  let p = 0;
  for (let i = 0; i < stored.count; i++) {
    sizes[i] = messageSizeAt(bytes, view, p, at, i * FIELDS, streamField, partitionField);
    total += GRPC_FRAME_PREFIX_BYTES + sizes[i]!;
    p += RECORD_HEADER_BYTES + view.getUint32(p + 24);
  }
  assert(p === bytes.length, "stored records: count and bytes disagree");
  const out = allocate(total);
  assert(out.length === total, "allocate returned the wrong size");
  const outView = new DataView(out.buffer, out.byteOffset, total);
  let pos = 0;
  p = 0;
  for (let i = 0; i < stored.count; i++) {
    const end = pos + GRPC_FRAME_PREFIX_BYTES + sizes[i]!;
    out[pos] = 0; // not compressed
    outView.setUint32(pos + 1, sizes[i]!);
    pos += GRPC_FRAME_PREFIX_BYTES;
    const base = i * FIELDS;
    pos = writeInt64At(out, pos, T_OFFSET, view, p);
    pos = copyLenField(out, pos, T_KEY, bytes, at[base + KEY_POS]!, at[base + KEY_LEN]!);
    pos = copyLenField(out, pos, T_VALUE, bytes, at[base + VALUE_POS]!, at[base + VALUE_LEN]!);
    pos = writeInt64At(out, pos, T_TIMESTAMP, view, p + 8);
    pos = copyLenField(out, pos, T_STREAM, stream, 0, stream.length);
    pos = writeInt32Field(out, pos, T_PARTITION, partition);
    pos = copyLenField(out, pos, T_SUBJECT, bytes, at[base + SUBJECT_POS]!, at[base + SUBJECT_LEN]!);
    pos = copyLenField(out, pos, T_REPLY, bytes, at[base + REPLY_POS]!, at[base + REPLY_LEN]!);
    pos = writeHeaderEntries(out, pos, bytes, view, at, base);
    assert(pos === end, "message size changed between sizing and writing");
    p += RECORD_HEADER_BYTES + view.getUint32(p + 24);
  }
  return out;
}
