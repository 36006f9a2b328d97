// The read path: whole records from a start offset, bounded by an inclusive offset (the high
// watermark for consumers, the log end for replication) and a byte budget. Every record is
// checked (framing, CRC, offset against the index) before it is returned; corrupt bytes are
// never served and never replicated.
import type { Crc32c } from "../crc32c.js";
import type { DiskReader } from "../disk.js";
import type { Result } from "../errors.js";
import { err, ok } from "../errors.js";
import type { Offset } from "../types.js";
import type { LogRecord, RecordHeader } from "./record-codec.js";
import { checkRecordAt, hasValidLayoutAt, parseRecordAt, viewOf } from "./record-codec.js";
import type { Segment } from "./segment.js";

/**
 * What read() returns: the records' raw bytes (verified), how many, and, when decoding was asked
 * for, parsed views of them.
 */
export interface ReadResult {
  /** Empty unless the read decoded (ReadMode "decoded"). */
  readonly records: LogRecord[];
  readonly bytes: Uint8Array;
  readonly count: number;
  /** The offset to read from next. */
  readonly nextOffset: Offset;
}

/** "decoded": one LogRecord per record; "stored": verified bytes only (the caller forwards them). */
export type ReadMode = "decoded" | "stored";

/** Index of the segment that would hold `offset` (the last with baseOffset <= offset), or 0. */
export function segmentFor(segments: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((segments[mid] as Segment).baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Entries [first, end) of `segment` to read: bounded by offset, bytes left, at least one record overall. */
function spanOf(segment: Segment, first: number, maxOffsetInclusive: number, bytesLeft: number, mustTakeOne: boolean): number {
  const index = segment.index;
  let end = first;
  let bytes = 0;
  while (end < index.entries && index.offsetAt(end) <= maxOffsetInclusive) {
    const size = segment.recordBytesAt(end);
    if (bytes + size > bytesLeft && !(mustTakeOne && end === first)) break;
    bytes += size;
    end++;
  }
  return end;
}

class ReadAccumulator {
  readonly records: LogRecord[] = [];
  readonly chunks: Uint8Array[] = [];
  bytes = 0;
  count = 0;
  lastOffset = -1;
  corrupt: string | undefined;

  constructor(private readonly mode: ReadMode) {}

  /** Verifies (and in "decoded" mode parses) entries [first, end) of `segment` from `buf` (which starts at entry first). */
  take(segment: Segment, first: number, end: number, buf: Uint8Array, crc32c: Crc32c): void {
    const view = viewOf(buf);
    const base = segment.index.positionAt(first);
    let p = 0;
    for (let i = first; i < end; i++) {
      const h = checkRecordAt(buf, view, p, buf.length, crc32c);
      const expected = segment.index.offsetAt(i);
      const defect = typeof h === "string" ? h : h.offset !== expected ? "badOffset" : this.keep(buf, view, p, h);
      if (defect !== undefined) {
        this.corrupt = `${defect} at offset ${expected} (${segment.logPath} position ${base + p})`;
        break;
      }
      this.count++;
      this.lastOffset = expected;
      p += (h as RecordHeader).recordBytes;
    }
    if (p > 0) this.chunks.push(buf.subarray(0, p));
    this.bytes += p;
  }

  /** Checks the message's layout (and keeps the parsed record when decoding); "badLayout" if it lies. */
  private keep(buf: Uint8Array, view: DataView, p: number, h: RecordHeader): "badLayout" | undefined {
    if (this.mode === "stored") return hasValidLayoutAt(buf, view, p, h) ? undefined : "badLayout";
    const parsed = parseRecordAt(buf, view, p, h);
    if (typeof parsed === "string") return parsed;
    this.records.push(parsed);
    return undefined;
  }

  result(startOffset: number): ReadResult {
    const bytes = this.chunks.length === 1 ? (this.chunks[0] as Uint8Array) : concat(this.chunks, this.bytes);
    return { records: this.records, bytes, count: this.count, nextOffset: (this.count === 0 ? startOffset : this.lastOffset + 1) as Offset };
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/**
 * Reads whole records with offsets in [startOffset, maxOffsetInclusive], at most `maxBytes` of
 * them but always at least one when any is available (so a large record cannot stall a reader).
 * A corrupt first record is a CorruptRecord error; a later one ends the read before it.
 */
export function readRecords(
  reader: DiskReader,
  segments: readonly Segment[],
  startOffset: number,
  maxOffsetInclusive: number,
  maxBytes: number,
  crc32c: Crc32c,
  mode: ReadMode = "decoded",
): Result<ReadResult> {
  const acc = new ReadAccumulator(mode);
  let s = segmentFor(segments, startOffset);
  let first = (segments[s] as Segment).index.findOffset(startOffset);
  while (s < segments.length && acc.corrupt === undefined) {
    const segment = segments[s] as Segment;
    const end = spanOf(segment, first, maxOffsetInclusive, maxBytes - acc.bytes, acc.count === 0);
    if (end > first) {
      const from = segment.index.positionAt(first);
      const to = end < segment.entries ? segment.index.positionAt(end) : segment.sizeBytes;
      acc.take(segment, first, end, reader.read(segment.logPath, from, to - from), crc32c);
    }
    if (end < segment.entries) break;
    s++;
    first = 0;
  }
  if (acc.corrupt !== undefined && acc.count === 0) return err("CorruptRecord", `corrupt record: ${acc.corrupt}`);
  return ok(acc.result(startOffset));
}

/**
 * One disk read of a log: entries [first, end) of one segment, the file range holding them.
 * Held by the caller until the bytes come back (the segment's index stays as it was: a segment is
 * never changed in place below the high watermark; compaction and truncation replace the log's
 * segments or the whole log).
 */
export interface ReadPlan {
  readonly segment: Segment;
  readonly first: number;
  readonly end: number;
  readonly path: string;
  readonly position: number;
  readonly length: number;
}

/**
 * The read that starts at `startOffset` (at most `maxBytes`, at least one record, never past the
 * end of its segment: a chunk does not cross segments), or undefined when nothing is there to read.
 */
export function planRead(segments: readonly Segment[], startOffset: number, maxOffsetInclusive: number, maxBytes: number): ReadPlan | undefined {
  for (let s = segmentFor(segments, startOffset); s < segments.length; s++) {
    const segment = segments[s] as Segment;
    const first = segment.index.findOffset(startOffset);
    const end = spanOf(segment, first, maxOffsetInclusive, maxBytes, true);
    if (end > first) {
      const position = segment.index.positionAt(first);
      const to = end < segment.entries ? segment.index.positionAt(end) : segment.sizeBytes;
      return { segment, first, end, path: segment.logPath, position, length: to - position };
    }
    // Past this segment's last entry (compaction may leave a segment ending early): the next one.
    if (first < segment.entries) return undefined;
  }
  return undefined;
}

/** Verifies a planned read's bytes as readRecords does; a corrupt first record is a CorruptRecord error. */
export function finishRead(plan: ReadPlan, bytes: Uint8Array, startOffset: number, crc32c: Crc32c, mode: ReadMode): Result<ReadResult> {
  const acc = new ReadAccumulator(mode);
  if (bytes.length < plan.length) {
    acc.corrupt = `short read at ${plan.path} position ${plan.position}: ${bytes.length} of ${plan.length} bytes`;
  } else {
    acc.take(plan.segment, plan.first, plan.end, bytes, crc32c);
  }
  if (acc.corrupt !== undefined && acc.count === 0) return err("CorruptRecord", `corrupt record: ${acc.corrupt}`);
  return ok(acc.result(startOffset));
}
