// Hand-written encoder for proto.Message (fields 1-12), straight from the pieces the broker holds,
// for the subscribe hot path: sizes first, then one allocation for a whole batch of messages, each
// returned as a view the gRPC server can hand to grpc-js through a custom serializer. Output is
// canonical: fields in number order, proto3 defaults left off, map entries with key and value.
import { assert } from "../../core/assert.js";
import {
  WIRE_LEN, WIRE_VARINT, bytesFieldSize, int32FieldSize, int64FieldSize, stringFieldSize, tag, utf8Length,
  varint32Size, writeBytesField, writeInt32Field, writeInt64Field, writeStringField, writeUtf8, writeVarint32,
} from "./pb-writer.js";

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
  readonly stream?: string;
  readonly partition?: number;
  readonly subject?: string;
  readonly replySubject?: string;
  readonly headers?: HeaderEntries;
  readonly ackInbox?: string;
  readonly correlationId?: string;
  readonly ackPolicy?: number;
}

const T_OFFSET = tag(1, WIRE_VARINT);
const T_KEY = tag(2, WIRE_LEN);
const T_VALUE = tag(3, WIRE_LEN);
const T_TIMESTAMP = tag(4, WIRE_VARINT);
const T_STREAM = tag(5, WIRE_LEN);
const T_PARTITION = tag(6, WIRE_VARINT);
const T_SUBJECT = tag(7, WIRE_LEN);
const T_REPLY = tag(8, WIRE_LEN);
const T_HEADERS = tag(9, WIRE_LEN);
const T_ACK_INBOX = tag(10, WIRE_LEN);
const T_CORRELATION_ID = tag(11, WIRE_LEN);
const T_ACK_POLICY = tag(12, WIRE_VARINT);
const T_ENTRY_KEY = tag(1, WIRE_LEN);
const T_ENTRY_VALUE = tag(2, WIRE_LEN);

function headerEntrySize(keyLength: number, valueLength: number): number {
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
    stringFieldSize(m.stream ?? "") +
    int32FieldSize(m.partition ?? 0) +
    stringFieldSize(m.subject ?? "") +
    stringFieldSize(m.replySubject ?? "") +
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
  pos = writeStringField(buf, pos, T_STREAM, m.stream ?? "");
  pos = writeInt32Field(buf, pos, T_PARTITION, m.partition ?? 0);
  pos = writeStringField(buf, pos, T_SUBJECT, m.subject ?? "");
  pos = writeStringField(buf, pos, T_REPLY, m.replySubject ?? "");
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

/** Many Messages encoded back to back in one buffer: message i is bytes[ends[i-1] (or 0), ends[i]). */
export interface MessageBatch {
  readonly bytes: Uint8Array;
  readonly ends: Uint32Array;
}

/** Encodes many Messages into ONE buffer, sized first; no per-message allocation. */
export function encodeMessageBatch(messages: readonly MessageFields[]): MessageBatch {
  const ends = new Uint32Array(messages.length);
  let total = 0;
  for (let i = 0; i < messages.length; i++) {
    total += messageSize(messages[i]!);
    ends[i] = total;
  }
  const bytes = new Uint8Array(total);
  let pos = 0;
  for (let i = 0; i < messages.length; i++) {
    pos = writeMessage(bytes, pos, messages[i]!);
    // A one-shot headers iterable would encode short: catch it rather than send zeros.
    assert(pos === ends[i], "message size changed between sizing and writing");
  }
  return { bytes, ends };
}

/** The encoded bytes of message `i` of a batch, as a view (no copy). */
export function batchMessage(batch: MessageBatch, i: number): Uint8Array {
  assert(i >= 0 && i < batch.ends.length, `message ${i} is not in a batch of ${batch.ends.length}`);
  const start = i === 0 ? 0 : batch.ends[i - 1]!;
  return batch.bytes.subarray(start, batch.ends[i]);
}

/** Encodes many Messages into one shared buffer and returns one view per message, in order. */
export function encodeMessages(messages: readonly MessageFields[]): Uint8Array[] {
  const batch = encodeMessageBatch(messages);
  const views = new Array<Uint8Array>(messages.length);
  for (let i = 0; i < messages.length; i++) views[i] = batchMessage(batch, i);
  return views;
}
