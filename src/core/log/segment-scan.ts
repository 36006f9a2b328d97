// Scanning a segment's log file record by record: how recovery validates the part of the log after
// the recovery point and rebuilds a missing or corrupt index. A record whose length, CRC, offset or
// epoch is bad ends a valid run; with `resync`, the scan then looks for the next valid record in the
// same file, so that damage in the middle of a segment costs only the damaged bytes.
import type { Crc32c } from "../crc32c.js";
import type { DiskReader } from "../disk.js";
import { INDEX_ENTRY_BYTES, OffsetIndex, writeIndexEntry } from "./offset-index.js";
import type { RecordDefect } from "./record-codec.js";
import { MESSAGE_FIXED_BYTES, RECORD_HEADER_BYTES, checkRecordAt, readU64, viewOf } from "./record-codec.js";

// Read granularity: big enough to amortise calls, small enough not to hold a whole segment.
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

/** Damaged bytes inside a segment that the scan stepped over: offsets in [fromOffset, toOffset) are unreadable. */
export interface ScanHole {
  readonly fromOffset: number;
  readonly toOffset: number;
  /** Byte position of the first damaged byte. */
  readonly position: number;
}

/** What a scan found. */
export interface SegmentScan {
  readonly index: OffsetIndex;
  /** The on-disk index that matches the valid records. */
  readonly indexBytes: Uint8Array;
  /** End of the last valid record (the file's length when nothing is wrong at its end). */
  readonly validBytes: number;
  /** Why the scan stopped before the end of the file, if it did. */
  readonly defect: RecordDefect | undefined;
  /** Damage in the middle of the file, each followed by valid records (only with `resync`). */
  readonly holes: readonly ScanHole[];
  /** Offset of the last valid record (or the `afterOffset` given). */
  readonly lastOffset: number;
  /** Leader epoch of the last valid record (or the `afterEpoch` given). */
  readonly lastEpoch: number;
  /** (epoch, offset) where each epoch newer than `afterEpoch` first appears. */
  readonly epochStarts: readonly (readonly [number, number])[];
}

/** Where the previous segment left off (records here must come after it) and where the next begins. */
export interface ScanStart {
  readonly afterOffset: number;
  readonly afterEpoch: number;
  /** Records must have offsets below this (the next segment's baseOffset). */
  readonly beforeOffset?: number;
}

/** A trusted prefix of the segment (from its index, below the recovery point): the scan starts after it. */
export interface ScanPrefix {
  readonly index: OffsetIndex;
  /** The on-disk index bytes of the prefix entries. */
  readonly indexBytes: Uint8Array;
  /** Byte position where the prefix's last record ends. */
  readonly endPosition: number;
}

class ScanState {
  readonly index: OffsetIndex;
  readonly timestamps: bigint[] = [];
  readonly sizes: number[] = [];
  readonly epochStarts: [number, number][] = [];
  readonly holes: ScanHole[] = [];
  readonly prefixEntries: number;
  lastOffset: number;
  lastEpoch: number;
  /** Absolute position of the next byte to check; the end of the last valid record. */
  validBytes = 0;
  defect: RecordDefect | undefined = undefined;

  constructor(readonly baseOffset: number, readonly start: ScanStart, readonly prefix: ScanPrefix | undefined) {
    this.index = prefix?.index ?? new OffsetIndex(baseOffset);
    this.prefixEntries = this.index.entries;
    this.validBytes = prefix?.endPosition ?? 0;
    this.lastOffset = this.prefixEntries > 0 ? this.index.lastOffset() : start.afterOffset;
    this.lastEpoch = start.afterEpoch;
  }

  /** Whether `offset` may follow the last valid record in this segment. */
  fits(offset: number): boolean {
    return offset > this.lastOffset && offset >= this.baseOffset && offset - this.baseOffset <= 0x7fffffff && offset < (this.start.beforeOffset ?? Infinity);
  }

  /** Consumes the valid records of `buf` (which starts at validBytes); returns the bytes used. */
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
      if (!this.fits(h.offset)) {
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
    const prefixBytes = this.prefix?.indexBytes ?? new Uint8Array(0);
    const bytes = new Uint8Array(prefixBytes.length + this.sizes.length * INDEX_ENTRY_BYTES);
    bytes.set(prefixBytes, 0);
    const view = viewOf(bytes);
    for (let i = 0; i < this.sizes.length; i++) {
      const e = this.prefixEntries + i;
      writeIndexEntry(view, prefixBytes.length + i * INDEX_ENTRY_BYTES, this.index.offsetAt(e) - this.baseOffset, this.timestamps[i] as bigint, this.index.positionAt(e), this.sizes[i] as number);
    }
    return bytes;
  }
}

/** Scans forward from validBytes until a defect or the end of the file. */
function scanRun(state: ScanState, reader: DiskReader, logPath: string, logBytes: number, crc32c: Crc32c): void {
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
}

/**
 * The position of the first whole, CRC-clean record after `from` whose offset and epoch may follow
 * the last valid one, or undefined. A cheap test of the offset and size fields comes first, so the
 * CRC is computed only at plausible positions.
 */
function findNextRecord(state: ScanState, reader: DiskReader, logPath: string, from: number, logBytes: number, crc32c: Crc32c): number | undefined {
  for (let chunkStart = from; chunkStart + RECORD_HEADER_BYTES <= logBytes; chunkStart += SCAN_CHUNK_BYTES) {
    const buf = reader.read(logPath, chunkStart, Math.min(SCAN_CHUNK_BYTES + RECORD_HEADER_BYTES, logBytes - chunkStart));
    const view = viewOf(buf);
    const last = Math.min(SCAN_CHUNK_BYTES, buf.length - RECORD_HEADER_BYTES + 1);
    for (let q = 0; q < last; q++) {
      const offset = readU64(view, q);
      if (offset < 0 || !state.fits(offset)) continue;
      const size = view.getUint32(q + 24);
      if (size < MESSAGE_FIXED_BYTES || chunkStart + q + RECORD_HEADER_BYTES + size > logBytes) continue;
      const record = reader.read(logPath, chunkStart + q, RECORD_HEADER_BYTES + size);
      const h = checkRecordAt(record, viewOf(record), 0, record.length, crc32c);
      if (typeof h !== "string" && h.leaderEpoch >= state.lastEpoch) return chunkStart + q;
    }
  }
  return undefined;
}

/**
 * Scans `logBytes` bytes of a segment's log file, validating every record after the trusted
 * `prefix` (if any). With `resync`, damage below `resyncBelow` that is followed by valid records
 * becomes a hole and the scan goes on; `defect` is then set only for damage that runs to the end
 * of the file or starts at or after `resyncBelow`.
 */
export function scanSegment(
  reader: DiskReader,
  logPath: string,
  baseOffset: number,
  logBytes: number,
  start: ScanStart,
  crc32c: Crc32c,
  options: { readonly resync?: boolean; readonly resyncBelow?: number; readonly prefix?: ScanPrefix } = {},
): SegmentScan {
  const state = new ScanState(baseOffset, start, options.prefix);
  for (;;) {
    scanRun(state, reader, logPath, logBytes, crc32c);
    // Damage at or after `resyncBelow` ends the scan: there it is a torn tail, to be cut.
    if (state.defect === undefined || options.resync !== true || state.lastOffset + 1 >= (options.resyncBelow ?? Infinity)) break;
    const next = findNextRecord(state, reader, logPath, state.validBytes + 1, logBytes, crc32c);
    if (next === undefined) break;
    const record = reader.read(logPath, next, RECORD_HEADER_BYTES);
    state.holes.push({ fromOffset: state.lastOffset + 1, toOffset: readU64(viewOf(record), 0), position: state.validBytes });
    state.validBytes = next;
    state.defect = undefined;
  }
  return {
    index: state.index,
    indexBytes: state.indexBytes(),
    validBytes: state.validBytes,
    defect: state.defect,
    holes: state.holes,
    lastOffset: state.lastOffset,
    lastEpoch: state.lastEpoch,
    epochStarts: state.epochStarts,
  };
}
