// Scanning a segment's log file record by record: how recovery validates a tail after a crash and
// rebuilds a missing or corrupt index. The first record whose length, CRC, offset or epoch is bad
// ends the valid part of the segment.
import type { Crc32c } from "../crc32c.js";
import type { DiskReader } from "../disk.js";
import { INDEX_ENTRY_BYTES, OffsetIndex, writeIndexEntry } from "./offset-index.js";
import type { RecordDefect } from "./record-codec.js";
import { RECORD_HEADER_BYTES, checkRecordAt, viewOf } from "./record-codec.js";

// Read granularity: big enough to amortise calls, small enough not to hold a whole segment.
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

/** What a scan found. */
export interface SegmentScan {
  readonly index: OffsetIndex;
  /** The on-disk index that matches the valid records. */
  readonly indexBytes: Uint8Array;
  /** Bytes of valid records from the start of the file. */
  readonly validBytes: number;
  /** Why the scan stopped before the end of the file, if it did. */
  readonly defect: RecordDefect | undefined;
  /** Offset of the last valid record (or the `afterOffset` given). */
  readonly lastOffset: number;
  /** Leader epoch of the last valid record (or the `afterEpoch` given). */
  readonly lastEpoch: number;
  /** (epoch, offset) where each epoch newer than `afterEpoch` first appears. */
  readonly epochStarts: readonly (readonly [number, number])[];
}

/** Where the previous segment left off: records here must come after it. */
export interface ScanStart {
  readonly afterOffset: number;
  readonly afterEpoch: number;
}

class ScanState {
  readonly index: OffsetIndex;
  readonly timestamps: bigint[] = [];
  readonly sizes: number[] = [];
  readonly epochStarts: [number, number][] = [];
  lastOffset: number;
  lastEpoch: number;
  validBytes = 0;
  defect: RecordDefect | undefined = undefined;

  constructor(readonly baseOffset: number, start: ScanStart) {
    this.index = new OffsetIndex(baseOffset);
    this.lastOffset = start.afterOffset;
    this.lastEpoch = start.afterEpoch;
  }

  /** Consumes the valid records of `buf` (which starts at validBytes); false when one is bad. */
  consume(buf: Uint8Array, crc32c: Crc32c): number {
    const view = viewOf(buf);
    let p = 0;
    for (;;) {
      const h = checkRecordAt(buf, view, p, buf.length, crc32c);
      if (h === "truncated") return p;
      if (typeof h === "string") {
        this.defect = h;
        return p;
      }
      if (h.offset <= this.lastOffset || h.offset < this.baseOffset || h.offset - this.baseOffset > 0x7fffffff) {
        this.defect = "badOffset";
        return p;
      }
      if (h.leaderEpoch < this.lastEpoch) {
        this.defect = "badEpoch";
        return p;
      }
      if (h.leaderEpoch > this.lastEpoch) this.epochStarts.push([h.leaderEpoch, h.offset]);
      this.index.append(h.offset, this.validBytes + p, h.timestampNs);
      this.timestamps.push(h.timestampNs);
      this.sizes.push(h.recordBytes);
      this.lastOffset = h.offset;
      this.lastEpoch = h.leaderEpoch;
      p += h.recordBytes;
    }
  }

  indexBytes(): Uint8Array {
    const bytes = new Uint8Array(this.sizes.length * INDEX_ENTRY_BYTES);
    const view = viewOf(bytes);
    for (let i = 0; i < this.sizes.length; i++) {
      writeIndexEntry(view, i * INDEX_ENTRY_BYTES, this.index.offsetAt(i) - this.baseOffset, this.timestamps[i] as bigint, this.index.positionAt(i), this.sizes[i] as number);
    }
    return bytes;
  }
}

/** Scans `logBytes` bytes of a segment's log file, validating every record. */
export function scanSegment(
  reader: DiskReader,
  logPath: string,
  baseOffset: number,
  logBytes: number,
  start: ScanStart,
  crc32c: Crc32c,
): SegmentScan {
  const state = new ScanState(baseOffset, start);
  let want = SCAN_CHUNK_BYTES;
  while (state.validBytes < logBytes && state.defect === undefined) {
    const buf = reader.read(logPath, state.validBytes, Math.min(want, logBytes - state.validBytes));
    const used = state.consume(buf, crc32c);
    if (used > 0) {
      state.validBytes += used;
      want = SCAN_CHUNK_BYTES;
      continue;
    }
    if (state.defect !== undefined) break;
    // The first record did not fit: read exactly its length if the file holds it, else it is torn.
    const needed = buf.length >= RECORD_HEADER_BYTES ? RECORD_HEADER_BYTES + viewOf(buf).getUint32(24) : Infinity;
    if (needed <= want || state.validBytes + needed > logBytes || buf.length < Math.min(want, logBytes - state.validBytes)) {
      state.defect = "truncated";
      break;
    }
    want = needed;
  }
  return {
    index: state.index,
    indexBytes: state.indexBytes(),
    validBytes: state.validBytes,
    defect: state.defect,
    lastOffset: state.lastOffset,
    lastEpoch: state.lastEpoch,
    epochStarts: state.epochStarts,
  };
}
