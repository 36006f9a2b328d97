// Hand-written decoder for proto.Message, for the publish hot path (every message a partition
// leader receives on NATS is an envelope to decode). Follows Go's proto3 rules (see pb-reader.ts)
// so that what Go would reject, and so store raw, is rejected here too. Bytes are views into
// the input, not copies.
import type { Result } from "../../core/errors.js";
import { err, ok } from "../../core/errors.js";
import type { AsciiCache } from "../../core/ascii.js";
import type { Message } from "./api-types.js";
import { int64FromHalves } from "./pb-writer.js";
import { PbReader, readStringBytesMapEntry, WireFormatError } from "./pb-reader.js";

const VARINT = 0;
const LEN = 2;
const EMPTY: Uint8Array = new Uint8Array(0);

type MutableMessage = { -readonly [K in keyof Message]: Message[K] };


function readVarintField(r: PbReader, m: MutableMessage, field: number): void {
  r.varint();
  if (field === 1) m.offset = int64FromHalves(r.lo, r.hi);
  else if (field === 4) m.timestamp = int64FromHalves(r.lo, r.hi);
  else if (field === 6) m.partition = r.lo | 0;
  else m.ackPolicy = r.lo | 0; // field 12
}

function readLenField(r: PbReader, m: MutableMessage, field: number, headers: Map<string, Uint8Array>): void {
  switch (field) {
    case 2: m.key = r.bytes(); return;
    case 3: m.value = r.bytes(); return;
    case 5: m.stream = r.string(); return;
    case 7: m.subject = r.string(); return;
    case 8: m.replySubject = r.string(); return;
    case 9: readStringBytesMapEntry(r, headers); return;
    case 10: m.ackInbox = r.string(); return;
    default: m.correlationId = r.string(); // field 11
  }
}

function readMessage(data: Uint8Array, strings: AsciiCache | undefined): Message {
  const headers = new Map<string, Uint8Array>();
  const m: MutableMessage = {
    offset: 0n, key: EMPTY, value: EMPTY, timestamp: 0n, stream: "", partition: 0, subject: "",
    replySubject: "", headers, ackInbox: "", correlationId: "", ackPolicy: 0,
  };
  const r = new PbReader(data, 0, data.length, strings);
  while (r.pos < r.end) {
    const t = r.tag();
    const field = t >>> 3;
    const wireType = t & 7;
    const isVarintField = field === 1 || field === 4 || field === 6 || field === 12;
    const isLenField = field === 2 || field === 3 || field === 5 || (field >= 7 && field <= 11);
    if (isVarintField && wireType === VARINT) readVarintField(r, m, field);
    else if (isLenField && wireType === LEN) readLenField(r, m, field, headers);
    else r.skip(wireType); // unknown field, or a known one with another wire type (Go skips it too)
  }
  return m;
}

/**
 * Decodes a proto.Message; malformed protobuf is an InvalidArgument error, never an exception.
 * A decoder of many messages passes its own `strings` cache (stream, subjects and inboxes repeat).
 */
export function decodeMessage(data: Uint8Array, strings?: AsciiCache): Result<Message> {
  try {
    return ok(readMessage(data, strings));
  } catch (e) {
    if (e instanceof WireFormatError) return err("InvalidArgument", `invalid proto.Message: ${e.message}`);
    throw e;
  }
}
