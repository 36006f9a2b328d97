// Hand-written encoder for proto.Ack (fields 1-10): one is sent per acknowledged publish, so it
// skips protobufjs objects. Canonical output (number order, proto3 defaults left off).
import { assert } from "../../core/assert.js";
import {
  WIRE_LEN, WIRE_VARINT, int32FieldSize, int64FieldSize, stringFieldSize, tag,
  writeInt32Field, writeInt64Field, writeStringField,
} from "./pb-writer.js";

/** The fields of one proto.Ack; absent or default fields are not encoded. */
export interface AckFields {
  readonly stream?: string;
  /** The stream's base subject, not "<subject>.N". */
  readonly partitionSubject?: string;
  /** The NATS subject the message arrived on. */
  readonly msgSubject?: string;
  readonly offset?: number | bigint;
  readonly ackInbox?: string;
  readonly correlationId?: string;
  readonly ackPolicy?: number;
  /** Unix nanoseconds when the leader received the message. */
  readonly receptionTimestamp?: bigint;
  /** Unix nanoseconds when the ack was sent. */
  readonly commitTimestamp?: bigint;
  /** An AckError value. */
  readonly ackError?: number;
}

/** Bytes the encoded Ack takes. */
export function ackSize(a: AckFields): number {
  return (
    stringFieldSize(a.stream ?? "") +
    stringFieldSize(a.partitionSubject ?? "") +
    stringFieldSize(a.msgSubject ?? "") +
    int64FieldSize(a.offset ?? 0) +
    stringFieldSize(a.ackInbox ?? "") +
    stringFieldSize(a.correlationId ?? "") +
    int32FieldSize(a.ackPolicy ?? 0) +
    int64FieldSize(a.receptionTimestamp ?? 0n) +
    int64FieldSize(a.commitTimestamp ?? 0n) +
    int32FieldSize(a.ackError ?? 0)
  );
}

/** Writes the Ack at `pos` (room from ackSize must be there); returns the end position. */
export function writeAck(buf: Uint8Array, pos: number, a: AckFields): number {
  pos = writeStringField(buf, pos, tag(1, WIRE_LEN), a.stream ?? "");
  pos = writeStringField(buf, pos, tag(2, WIRE_LEN), a.partitionSubject ?? "");
  pos = writeStringField(buf, pos, tag(3, WIRE_LEN), a.msgSubject ?? "");
  pos = writeInt64Field(buf, pos, tag(4, WIRE_VARINT), a.offset ?? 0);
  pos = writeStringField(buf, pos, tag(5, WIRE_LEN), a.ackInbox ?? "");
  pos = writeStringField(buf, pos, tag(6, WIRE_LEN), a.correlationId ?? "");
  pos = writeInt32Field(buf, pos, tag(7, WIRE_VARINT), a.ackPolicy ?? 0);
  pos = writeInt64Field(buf, pos, tag(8, WIRE_VARINT), a.receptionTimestamp ?? 0n);
  pos = writeInt64Field(buf, pos, tag(9, WIRE_VARINT), a.commitTimestamp ?? 0n);
  return writeInt32Field(buf, pos, tag(10, WIRE_VARINT), a.ackError ?? 0);
}

/** Encodes one Ack into a fresh array of exactly its size. */
export function encodeAck(a: AckFields): Uint8Array {
  const buf = new Uint8Array(ackSize(a));
  const end = writeAck(buf, 0, a);
  assert(end === buf.length, "ack size changed between sizing and writing");
  return buf;
}
