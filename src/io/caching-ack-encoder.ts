// Ack envelopes on the publish hot path, byte for byte what encodeAckEnvelope writes, but the
// fields that repeat from ack to ack (stream, subjects, ack inbox, the batch's timestamps) are
// encoded once and copied: one ack per published message made their UTF-8 encoding the largest
// cost the broker controls. Caches are per instance and bounded.
import { assert } from "../core/assert.js";
import type { AckFields } from "./wire/ack-encoder.js";
import { ENVELOPE_HEADER_LENGTH, MsgType, writeEnvelopeHeader } from "./wire/envelope.js";
import {
  WIRE_LEN, WIRE_VARINT, int32FieldSize, int64FieldSize, stringFieldSize, tag,
  writeInt32Field, writeInt64Field, writeStringField,
} from "./wire/pb-writer.js";

// Strings cached per field; beyond this many distinct values a field's cache starts over.
const CACHE_MAX = 4096;
const NONE = new Uint8Array(0);

/** Every field of the Ack, as the broker wire codec passes them (wire numbers for enums). */
export type AckWireFields = Required<AckFields>;

class StringFieldCache {
  private readonly cache = new Map<string, Uint8Array>();
  constructor(private readonly tagByte: number) {}

  get(s: string): Uint8Array {
    let bytes = this.cache.get(s);
    if (bytes === undefined) {
      bytes = s.length === 0 ? NONE : new Uint8Array(stringFieldSize(s));
      if (s.length > 0) writeStringField(bytes, 0, this.tagByte, s);
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(s, bytes);
    }
    return bytes;
  }
}

class Int64FieldCache {
  private value: bigint | undefined;
  private bytes = NONE;
  constructor(private readonly tagByte: number) {}

  get(v: bigint): Uint8Array {
    if (v !== this.value) {
      this.value = v;
      this.bytes = new Uint8Array(int64FieldSize(v));
      writeInt64Field(this.bytes, 0, this.tagByte, v);
    }
    return this.bytes;
  }
}

/** Encodes Ack envelopes, reusing the encoding of fields that repeat. */
export class CachingAckEncoder {
  private readonly stream = new StringFieldCache(tag(1, WIRE_LEN));
  private readonly partitionSubject = new StringFieldCache(tag(2, WIRE_LEN));
  private readonly msgSubject = new StringFieldCache(tag(3, WIRE_LEN));
  private readonly ackInbox = new StringFieldCache(tag(5, WIRE_LEN));
  private readonly reception = new Int64FieldCache(tag(8, WIRE_VARINT));
  private readonly commit = new Int64FieldCache(tag(9, WIRE_VARINT));

  /**
   * One Ack envelope (MsgType 1) in one allocation, from Node's Buffer pool: a `new Uint8Array`
   * over 64 bytes gets its own off-heap backing store, which cost more than the encoding itself.
   */
  encode(a: AckWireFields): Uint8Array {
    const f1 = this.stream.get(a.stream);
    const f2 = this.partitionSubject.get(a.partitionSubject);
    const f3 = this.msgSubject.get(a.msgSubject);
    const f5 = this.ackInbox.get(a.ackInbox);
    const f8 = this.reception.get(a.receptionTimestamp);
    const f9 = this.commit.get(a.commitTimestamp);
    const size =
      f1.length + f2.length + f3.length + int64FieldSize(a.offset) + f5.length + stringFieldSize(a.correlationId) +
      int32FieldSize(a.ackPolicy) + f8.length + f9.length + int32FieldSize(a.ackError);
    const pooled = Buffer.allocUnsafe(ENVELOPE_HEADER_LENGTH + size); // every byte is written below
    const buf = new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength);
    let pos = writeEnvelopeHeader(buf, 0, MsgType.Ack);
    buf.set(f1, pos);
    pos += f1.length;
    buf.set(f2, pos);
    pos += f2.length;
    buf.set(f3, pos);
    pos += f3.length;
    pos = writeInt64Field(buf, pos, tag(4, WIRE_VARINT), a.offset);
    buf.set(f5, pos);
    pos += f5.length;
    pos = writeStringField(buf, pos, tag(6, WIRE_LEN), a.correlationId);
    pos = writeInt32Field(buf, pos, tag(7, WIRE_VARINT), a.ackPolicy);
    buf.set(f8, pos);
    pos += f8.length;
    buf.set(f9, pos);
    pos += f9.length;
    pos = writeInt32Field(buf, pos, tag(10, WIRE_VARINT), a.ackError);
    assert(pos === buf.length, "ack size changed between sizing and writing");
    return buf;
  }
}
