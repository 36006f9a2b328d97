// Hand-written encoder for proto.Message (fields 1-12), straight from the pieces the broker holds,
// for the subscribe hot path: sizes first, then one allocation for a whole batch of messages,
// already in gRPC's length-prefixed framing so one HTTP/2 write carries the batch. Output is
// canonical: fields in number order, proto3 defaults left off, map entries with key and value.
import { assert } from "../../core/assert.js";
import {
  WIRE_LEN, WIRE_VARINT, bytesFieldSize, int32FieldSize, int64FieldSize, stringFieldSize, tag, utf8Length,
  varint32Size, writeBytesField, writeInt32Field, writeInt64Field, writeStringField, writeUtf8, writeVarint32,
  textFieldSize, writeTextField,
} from "./pb-writer.js";
import type { Utf8Text } from "./pb-writer.js";

/** Headers in encoding order: a Map or an array of [name, value] pairs. */
export type HeaderEntries = Iterable<readonly [string, Uint8Array]>;

/** The pieces of one proto.Message; absent or default fields are not encoded. */
export interface MessageFields {
  /** Offset (a safe integer or a bigint); on publish envelopes the expected offset, -1 = none. */
  readonly offset?: number | bigint;
  readonly key?: Uint8Array | null;
  readonly value?: Uint8Array | null;
  /** Receive time, unix nanoseconds. */
  readonly timestamp?: bigint;
  /** A string, or its UTF-8 bytes (encoded once per batch by the subscribe path). */
  readonly stream?: Utf8Text;
  readonly partition?: number;
  /** A string, or its UTF-8 bytes as stored in the record's header (never decoded on the read path). */
  readonly subject?: Utf8Text;
  readonly replySubject?: Utf8Text;
  readonly headers?: HeaderEntries;
  readonly ackInbox?: string;
  readonly correlationId?: string;
  readonly ackPolicy?: number;
}

/** The tag bytes of proto.Message's fields (and of a headers map entry's key and value). */
export const T_OFFSET = tag(1, WIRE_VARINT);
export const T_KEY = tag(2, WIRE_LEN);
export const T_VALUE = tag(3, WIRE_LEN);
export const T_TIMESTAMP = tag(4, WIRE_VARINT);
export const T_STREAM = tag(5, WIRE_LEN);
export const T_PARTITION = tag(6, WIRE_VARINT);
export const T_SUBJECT = tag(7, WIRE_LEN);
export const T_REPLY = tag(8, WIRE_LEN);
export const T_HEADERS = tag(9, WIRE_LEN);
const T_ACK_INBOX = tag(10, WIRE_LEN);
const T_CORRELATION_ID = tag(11, WIRE_LEN);
const T_ACK_POLICY = tag(12, WIRE_VARINT);
export const T_ENTRY_KEY = tag(1, WIRE_LEN);
export const T_ENTRY_VALUE = tag(2, WIRE_LEN);

/** Bytes of one map<string, bytes> entry's body (key and value fields, both always written). */
export function headerEntrySize(keyLength: number, valueLength: number): number {
  return 1 + varint32Size(keyLength) + keyLength + 1 + varint32Size(valueLength) + valueLength;
}

function headersSize(headers: HeaderEntries | undefined): number {
  if (headers === undefined) return 0;
  let size = 0;
  for (const [name, value] of headers) {
    const entry = headerEntrySize(utf8Length(name), value.length);
    size += 1 + varint32Size(entry) + entry;
  }
  return size;
}

function writeHeaders(buf: Uint8Array, pos: number, headers: HeaderEntries | undefined): number {
  if (headers === undefined) return pos;
  for (const [name, value] of headers) {
    const nameLength = utf8Length(name);
    buf[pos++] = T_HEADERS;
    pos = writeVarint32(buf, pos, headerEntrySize(nameLength, value.length));
    buf[pos++] = T_ENTRY_KEY;
    pos = writeVarint32(buf, pos, nameLength);
    pos = writeUtf8(buf, pos, name, nameLength);
    buf[pos++] = T_ENTRY_VALUE;
    pos = writeVarint32(buf, pos, value.length);
    buf.set(value, pos);
    pos += value.length;
  }
  return pos;
}

/** Bytes the encoded Message takes. */
export function messageSize(m: MessageFields): number {
  return (
    int64FieldSize(m.offset ?? 0) +
    bytesFieldSize(m.key) +
    bytesFieldSize(m.value) +
    int64FieldSize(m.timestamp ?? 0n) +
    textFieldSize(m.stream ?? "") +
    int32FieldSize(m.partition ?? 0) +
    textFieldSize(m.subject ?? "") +
    textFieldSize(m.replySubject ?? "") +
    headersSize(m.headers) +
    stringFieldSize(m.ackInbox ?? "") +
    stringFieldSize(m.correlationId ?? "") +
    int32FieldSize(m.ackPolicy ?? 0)
  );
}

/** Writes the Message at `pos` (room from messageSize must be there); returns the end position. */
export function writeMessage(buf: Uint8Array, pos: number, m: MessageFields): number {
  pos = writeInt64Field(buf, pos, T_OFFSET, m.offset ?? 0);
  pos = writeBytesField(buf, pos, T_KEY, m.key);
  pos = writeBytesField(buf, pos, T_VALUE, m.value);
  pos = writeInt64Field(buf, pos, T_TIMESTAMP, m.timestamp ?? 0n);
  pos = writeTextField(buf, pos, T_STREAM, m.stream ?? "");
  pos = writeInt32Field(buf, pos, T_PARTITION, m.partition ?? 0);
  pos = writeTextField(buf, pos, T_SUBJECT, m.subject ?? "");
  pos = writeTextField(buf, pos, T_REPLY, m.replySubject ?? "");
  pos = writeHeaders(buf, pos, m.headers);
  pos = writeStringField(buf, pos, T_ACK_INBOX, m.ackInbox ?? "");
  pos = writeStringField(buf, pos, T_CORRELATION_ID, m.correlationId ?? "");
  return writeInt32Field(buf, pos, T_ACK_POLICY, m.ackPolicy ?? 0);
}

/** Encodes one Message into a fresh array of exactly its size. */
export function encodeMessage(m: MessageFields): Uint8Array {
  const buf = new Uint8Array(messageSize(m));
  const end = writeMessage(buf, 0, m);
  assert(end === buf.length, "message size changed between sizing and writing");
  return buf;
}

/** Bytes before each message of a gRPC length-prefixed stream: compressed flag, u32 big-endian length. */
export const GRPC_FRAME_PREFIX_BYTES = 5;

/**
 * Encodes many Messages into ONE buffer as a gRPC length-prefixed message stream ([0][u32 BE
 * length][Message], back to back): exactly the bytes grpc-js would put on the HTTP/2 stream for
 * one write per message, sized first, no per-message allocation.
 */
export function encodeFramedMessages(messages: readonly MessageFields[]): Uint8Array {
  const sizes = new Uint32Array(messages.length);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    sizes[i] = messageSize(messages[i]!);
    total += GRPC_FRAME_PREFIX_BYTES + sizes[i]!;
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  for (let i = 0; i < messages.length; i++) {
    const size = sizes[i]!;
    view.setUint32(pos + 1, size); // byte pos stays 0: not compressed
    pos += GRPC_FRAME_PREFIX_BYTES;
    const end = pos + size;
    pos = writeMessage(bytes, pos, messages[i]!);
    // A one-shot headers iterable would encode short: catch it rather than send zeros.
    assert(pos === end, "message size changed between sizing and writing");
  }
  return bytes;
}

/** The messages of a gRPC length-prefixed stream, as views without their prefixes (no copy). */
export function framedMessages(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    assert(pos + GRPC_FRAME_PREFIX_BYTES <= bytes.length && bytes[pos] === 0, `no uncompressed frame prefix at ${pos}`);
    const start = pos + GRPC_FRAME_PREFIX_BYTES;
    const end = start + view.getUint32(pos + 1);
    assert(end <= bytes.length, `frame at ${pos} runs past the end`);
    out.push(bytes.subarray(start, end));
    pos = end;
  }
  return out;
}
