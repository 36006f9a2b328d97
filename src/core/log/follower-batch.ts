// Validating records a follower received from its leader before appending them verbatim: every
// record whole and CRC-clean, offsets increasing from the log end, leader epochs non-decreasing.
import type { Crc32c } from "../crc32c.js";
import type { Result } from "../errors.js";
import { err, ok } from "../errors.js";
import type { RecordHeader } from "./record-codec.js";
import { checkRecordAt, parseRecordAt, viewOf } from "./record-codec.js";

/** The headers of a validated follower batch, in order, with each record's position in it. */
export interface FollowerBatch {
  readonly headers: readonly RecordHeader[];
  readonly positions: readonly number[];
}

/** Checks `records` against the log's end offset and last leader epoch; nothing is appended on error. */
export function validateFollowerBatch(records: Uint8Array, logEndOffset: number, lastEpoch: number, crc32c: Crc32c): Result<FollowerBatch> {
  const view = viewOf(records);
  const headers: RecordHeader[] = [];
  const positions: number[] = [];
  let prevOffset = logEndOffset - 1;
  let prevEpoch = lastEpoch;
  let p = 0;
  while (p < records.length) {
    const h = checkRecordAt(records, view, p, records.length, crc32c);
    if (typeof h === "string") return err("CorruptRecord", `follower batch: ${h} record at byte ${p}`);
    if (typeof parseRecordAt(records, view, p, h) === "string") return err("CorruptRecord", `follower batch: bad message layout at byte ${p}`);
    if (h.offset <= prevOffset) {
      return err("OffsetOutOfRange", `follower batch: offset ${h.offset} at byte ${p} does not follow ${prevOffset} (log end ${logEndOffset})`);
    }
    if (h.leaderEpoch < prevEpoch) return err("InvalidArgument", `follower batch: leader epoch ${h.leaderEpoch} at offset ${h.offset} is below ${prevEpoch}`);
    headers.push(h);
    positions.push(p);
    prevOffset = h.offset;
    prevEpoch = h.leaderEpoch;
    p += h.recordBytes;
  }
  return ok({ headers, positions });
}
