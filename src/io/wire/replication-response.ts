// The replication response (spec §4.3): envelope header (MsgType 3, no CRC), leaderEpoch uint64
// BE, high watermark int64 BE, then zero or more log records exactly as on disk (§6.2). Not a
// protobuf: followers append the record bytes verbatim.
import { assert } from "../../core/assert.js";
import type { Result } from "../../core/errors.js";
import { err, ok } from "../../core/errors.js";
import { ENVELOPE_HEADER_LENGTH, MsgType, decodeEnvelopeOf, writeEnvelopeHeader } from "./envelope.js";

/** Bytes before the records: envelope header, leaderEpoch, high watermark. */
export const REPLICATION_RESPONSE_HEADER_LENGTH = ENVELOPE_HEADER_LENGTH + 16;

/** A decoded replication response; `records` is a view into the input. */
export interface ReplicationResponse {
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly records: Uint8Array;
}

/** Encodes a replication response around already-encoded records (concatenated in order), in one allocation. */
export function encodeReplicationResponse(leaderEpoch: number, highWatermark: number, records: readonly Uint8Array[]): Uint8Array {
  assert(Number.isSafeInteger(leaderEpoch) && leaderEpoch >= 0, `leaderEpoch must be a non-negative safe integer, got ${leaderEpoch}`);
  assert(Number.isSafeInteger(highWatermark) && highWatermark >= -1, `highWatermark must be a safe integer >= -1, got ${highWatermark}`);
  let size = REPLICATION_RESPONSE_HEADER_LENGTH;
  for (const r of records) size += r.length;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  let pos = writeEnvelopeHeader(buf, 0, MsgType.ReplicationResponse);
  view.setBigUint64(pos, BigInt(leaderEpoch), false);
  view.setBigInt64(pos + 8, BigInt(highWatermark), false);
  pos += 16;
  for (const r of records) {
    buf.set(r, pos);
    pos += r.length;
  }
  return buf;
}

/** Decodes a replication response; a bad envelope, short data or an out-of-range number is an error. */
export function decodeReplicationResponse(data: Uint8Array): Result<ReplicationResponse> {
  const payload = decodeEnvelopeOf(data, MsgType.ReplicationResponse);
  if (!payload.ok) return payload;
  const p = payload.value;
  if (p.length < 16) return err("InvalidArgument", "not enough data");
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const leaderEpoch = view.getBigUint64(0, false);
  const highWatermark = view.getBigInt64(8, false);
  if (leaderEpoch > BigInt(Number.MAX_SAFE_INTEGER)) return err("InvalidArgument", `leaderEpoch out of range: ${leaderEpoch}`);
  if (highWatermark < -1n || highWatermark > BigInt(Number.MAX_SAFE_INTEGER)) {
    return err("InvalidArgument", `high watermark out of range: ${highWatermark}`);
  }
  return ok({ leaderEpoch: Number(leaderEpoch), highWatermark: Number(highWatermark), records: p.subarray(16) });
}
