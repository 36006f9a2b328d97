// Hand-written decoder for proto.PublishRequest, the PublishAsync hot path (one per published
// message), with the same Go proto3 rules as the wire decoders: unknown fields and known fields
// with another wire type are skipped; malformed input is an error value, never an exception.
import type { Result } from "../../core/errors.js";
import { err, ok } from "../../core/errors.js";
import type { PublishRequest } from "../wire/api-types.js";
import { PbReader, readStringBytesMapEntry, WireFormatError } from "../wire/pb-reader.js";
import { int64FromHalves } from "../wire/pb-writer.js";

const VARINT = 0;
const LEN = 2;
const EMPTY: Uint8Array = new Uint8Array(0);

type MutablePublishRequest = { -readonly [K in keyof PublishRequest]: PublishRequest[K] };


function readLenField(r: PbReader, m: MutablePublishRequest, field: number, headers: Map<string, Uint8Array>): void {
  switch (field) {
    case 1: m.key = r.bytes(); return;
    case 2: m.value = r.bytes(); return;
    case 3: m.stream = r.string(); return;
    case 5: readStringBytesMapEntry(r, headers); return;
    case 6: m.ackInbox = r.string(); return;
    default: m.correlationId = r.string(); // field 7
  }
}

function readVarintField(r: PbReader, m: MutablePublishRequest, field: number): void {
  r.varint();
  if (field === 4) m.partition = r.lo | 0;
  else if (field === 8) m.ackPolicy = r.lo | 0;
  else m.expectedOffset = int64FromHalves(r.lo, r.hi); // field 9
}

function readPublishRequest(data: Uint8Array): PublishRequest {
  const headers = new Map<string, Uint8Array>();
  const m: MutablePublishRequest = {
    key: EMPTY, value: EMPTY, stream: "", partition: 0, headers, ackInbox: "", correlationId: "", ackPolicy: 0, expectedOffset: 0n,
  };
  const r = new PbReader(data, 0, data.length);
  while (r.pos < r.end) {
    const t = r.tag();
    const field = t >>> 3;
    const wireType = t & 7;
    const isLenField = field === 1 || field === 2 || field === 3 || field === 5 || field === 6 || field === 7;
    const isVarintField = field === 4 || field === 8 || field === 9;
    if (isLenField && wireType === LEN) readLenField(r, m, field, headers);
    else if (isVarintField && wireType === VARINT) readVarintField(r, m, field);
    else r.skip(wireType);
  }
  return m;
}

/** Decodes a proto.PublishRequest (bytes are views into `data`); malformed input is InvalidArgument. */
export function decodePublishRequest(data: Uint8Array): Result<PublishRequest> {
  try {
    return ok(readPublishRequest(data));
  } catch (e) {
    if (e instanceof WireFormatError) return err("InvalidArgument", `invalid proto.PublishRequest: ${e.message}`);
    throw e;
  }
}
