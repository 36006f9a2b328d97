// Compaction by key (spec §6.6): keep the latest record of every key at or below the high
// watermark; keyless records and records above the high watermark always stay. Sealed segments
// are rewritten through `<base>.log.cleaned` / `.index.cleaned` and renamed over the originals;
// the active segment is never touched. Small segments are not merged.
import type { Crc32c } from "../crc32c.js";
import type { DiskOp, DiskReader } from "../disk.js";
import type { LogEvent } from "../outputs.js";
import { INDEX_ENTRY_BYTES, OffsetIndex, writeIndexEntry } from "./offset-index.js";
import type { LogRecord } from "./record-codec.js";
import { checkRecordAt, parseRecordAt, viewOf } from "./record-codec.js";
import { segmentFor } from "./log-reader.js";
import { Segment } from "./segment.js";

/** Suffix of a segment file being rewritten by compaction. */
export const CLEANED_SUFFIX = ".cleaned";

/** The rewritten segment list and the ops and events that go with it. */
export interface CompactionResult {
  readonly segments: Segment[];
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
}

/** A string that identifies a key's bytes exactly (one char per byte). */
function keyId(key: Uint8Array): string {
  let s = "";
  for (let i = 0; i < key.length; i += 8192) s += String.fromCharCode(...key.subarray(i, i + 8192));
  return s;
}

/** Verified records [from, to) of one segment, read as one range starting at byte `start`. */
interface RecordRange {
  readonly buf: Uint8Array;
  readonly start: number;
  readonly records: LogRecord[];
}

/** Where record `i` of `segment` ends (records are contiguous). */
function endOf(segment: Segment, i: number): number {
  return segment.index.positionAt(i) + segment.recordBytesAt(i);
}

/**
 * The end (exclusive) of the longest run of records from `from` (below `limit`) whose bytes fit in
 * `budgetBytes`; when none fits, exactly one record if `atLeastOne`, else `from` (budget spent).
 */
function rangeWithin(segment: Segment, from: number, limit: number, budgetBytes: number, atLeastOne: boolean): number {
  const start = segment.index.positionAt(from);
  let lo = from; // records [from, lo) fit
  let hi = limit; // records [from, hi] would not, unless hi === limit
  while (lo < hi) {
    const mid = lo + Math.ceil((hi - lo) / 2); // does [from, mid) fit?
    if (endOf(segment, mid - 1) - start <= budgetBytes) lo = mid;
    else hi = mid - 1;
  }
  return lo === from && atLeastOne ? from + 1 : lo;
}

/** Reads and verifies records [from, to) of a segment as one range; a string names the first corrupt one. */
function readRecords(reader: DiskReader, segment: Segment, from: number, to: number, crc32c: Crc32c): RecordRange | string {
  const start = segment.index.positionAt(from);
  const buf = reader.read(segment.logPath, start, endOf(segment, to - 1) - start);
  const view = viewOf(buf);
  const records: LogRecord[] = [];
  for (let i = from; i < to; i++) {
    const p = segment.index.positionAt(i);
    const h = checkRecordAt(buf, view, p - start, buf.length, crc32c);
    const parsed = typeof h === "string" ? h : h.offset !== segment.index.offsetAt(i) ? "badOffset" : parseRecordAt(buf, view, p - start, h);
    if (typeof parsed === "string") return `${parsed} at position ${p} of ${segment.logPath}`;
    records.push(parsed);
  }
  return { buf, start, records };
}

/**
 * One sealed segment being rewritten across steps: the kept records already written to
 * `<log>.cleaned` (at `position`), and their index entries, kept in memory until the end.
 */
class SegmentRewrite {
  /** Next entry of the segment to read. */
  next = 0;
  /** Bytes of kept records written to the temp log so far. */
  position = 0;
  removed = 0;
  readonly index: OffsetIndex;
  readonly indexChunks: Uint8Array[] = [];
  readonly logTemp: string;
  readonly indexTemp: string;
  /** Whether the temp log was created (by an op of this or an earlier step). */
  created = false;
  /** Whether the temp log was created by an op of an earlier step. */
  createdEarlier = false;
  private readonly entries: number;
  private readonly sizeBytes: number;

  constructor(readonly segment: Segment) {
    this.index = new OffsetIndex(segment.baseOffset);
    this.logTemp = segment.logPath + CLEANED_SUFFIX;
    this.indexTemp = segment.indexPath + CLEANED_SUFFIX;
    this.entries = segment.entries;
    this.sizeBytes = segment.sizeBytes;
  }

  /** Whether the segment is still sealed in the live list, unchanged (not removed, truncated or made active). */
  liveIn(segments: readonly Segment[]): boolean {
    const at = segments.indexOf(this.segment);
    return at >= 0 && at < segments.length - 1 && this.segment.entries === this.entries && this.segment.sizeBytes === this.sizeBytes;
  }

  /** Appends the kept records of a range to the temp log (creating it first) and to the in-memory index. */
  append(range: RecordRange, keep: (r: LogRecord) => boolean, ops: DiskOp[]): void {
    const segment = this.segment;
    const kept = range.records.flatMap((r, k) => (keep(r) ? [k] : []));
    this.removed += range.records.length - kept.length;
    const from = this.next;
    this.next += range.records.length;
    if (kept.length === 0) return;
    const at = this.position;
    const chunks: Uint8Array[] = [];
    const entries = new Uint8Array(kept.length * INDEX_ENTRY_BYTES);
    const entriesView = viewOf(entries);
    kept.forEach((k, n) => {
      const record = range.records[k] as LogRecord;
      const size = segment.recordBytesAt(from + k);
      const start = segment.index.positionAt(from + k) - range.start;
      chunks.push(range.buf.subarray(start, start + size));
      writeIndexEntry(entriesView, n * INDEX_ENTRY_BYTES, record.offset - segment.baseOffset, record.timestampNs, this.position, size);
      this.index.append(record.offset, this.position, record.timestampNs);
      this.position += size;
    });
    this.indexChunks.push(entries);
    if (!this.created) {
      // The originals are closed first, as a whole rewrite always did.
      ops.push({ kind: "close", path: segment.logPath }, { kind: "close", path: segment.indexPath }, { kind: "create", path: this.logTemp });
      this.created = true;
    }
    ops.push({ kind: "write", path: this.logTemp, position: at, chunks });
  }

  /** Drops the rewrite: removes the temp log if it was created. */
  abandon(ops: DiskOp[]): void {
    if (this.created) ops.push({ kind: "close", path: this.logTemp }, { kind: "remove", path: this.logTemp });
  }

  /** Ends the rewrite (every record read): makes the temp files durable and renames them over the originals; the replacement, or undefined if emptied. */
  finish(dir: string, ops: DiskOp[]): Segment | undefined {
    const segment = this.segment;
    if (!this.created) {
      ops.push({ kind: "close", path: segment.logPath }, { kind: "close", path: segment.indexPath });
      ops.push({ kind: "remove", path: segment.logPath }, { kind: "remove", path: segment.indexPath }, { kind: "syncDir", path: dir });
      return undefined;
    }
    ops.push(
      { kind: "fdatasync", path: this.logTemp },
      { kind: "close", path: this.logTemp },
      { kind: "create", path: this.indexTemp },
      { kind: "write", path: this.indexTemp, position: 0, chunks: this.indexChunks },
      { kind: "fdatasync", path: this.indexTemp },
      { kind: "close", path: this.indexTemp },
    );
    // Reads of later steps may have reopened the originals: release them before the renames.
    if (this.createdEarlier) ops.push({ kind: "close", path: segment.logPath }, { kind: "close", path: segment.indexPath });
    ops.push({ kind: "rename", from: this.logTemp, to: segment.logPath }, { kind: "rename", from: this.indexTemp, to: segment.indexPath }, { kind: "syncDir", path: dir });
    return new Segment(dir, segment.baseOffset, this.index, this.position, segment.createdMs);
  }
}

/** Bytes of records one compaction step reads (at least one record): the rest waits for the next step. */
export const COMPACTION_STEP_BYTES = 16 * 1024 * 1024;

/** The outcome of one bounded compaction step. */
export type CompactionStep =
  | { readonly kind: "more" }
  | { readonly kind: "done"; readonly removedRecords: number }
  | { readonly kind: "corrupt"; readonly where: string };

/**
 * One compaction of a log against the high watermark it started with, done in bounded steps:
 * first every segment (the then-active one included, up to its then-last record) is read, in
 * ranges of records, to find each key's latest offset; then the segments sealed at the start that
 * hold a superseded record are rewritten, each read again range by range, its kept records
 * appended to `<log>.cleaned` in each step's ops and the temp files renamed over the originals at
 * its end. No step reads more than its budget, except one record larger than it. Records
 * appended meanwhile are not considered (they stay); a segment that retention or truncation
 * removed meanwhile is skipped, or its rewrite abandoned (temp file removed).
 */
export class LogCompaction {
  private readonly latest = new Map<string, number>();
  /** Indexes (into `scanned`) of the segments holding a record some later one supersedes: only these are rewritten. */
  private readonly superseded = new Set<number>();
  private readonly sealed: readonly Segment[];
  private readonly scanned: readonly Segment[];
  /** Entries of each scanned segment at the start: later ones are above the high watermark. */
  private readonly scanEntries: readonly number[];
  private scanNext = 0;
  private scanEntry = 0;
  private rewriteNext = 0;
  private rewrite: SegmentRewrite | undefined;
  private removed = 0;

  constructor(
    private readonly dir: string,
    segments: readonly Segment[],
    private readonly highWatermark: number,
    private readonly crc32c: Crc32c,
  ) {
    this.scanned = [...segments];
    this.scanEntries = segments.map((s) => s.entries);
    this.sealed = segments.slice(0, -1);
  }

  /**
   * Does at most `budgetBytes` of reading (more only for one record larger than it). `segments`
   * is the log's live list: a rewritten segment replaces its original there (or leaves it,
   * emptied) when its rewrite ends; ops go to `ops`.
   */
  step(reader: DiskReader, segments: Segment[], ops: DiskOp[], budgetBytes: number = COMPACTION_STEP_BYTES): CompactionStep {
    const spent = { bytes: 0 };
    const scan = this.scanStep(reader, segments, budgetBytes, spent);
    if (scan !== undefined) return scan;
    const rewrite = this.rewriteStep(reader, segments, ops, budgetBytes, spent);
    if (rewrite !== undefined) return rewrite;
    return { kind: "done", removedRecords: this.removed };
  }

  /** Drops a rewrite under way (its temp file removed); the compaction must not step again. */
  abandon(ops: DiskOp[]): void {
    this.rewrite?.abandon(ops);
    this.rewrite = undefined;
  }

  /** The scan phase's share of a step: undefined when the scan is over, else the step's outcome. */
  private scanStep(reader: DiskReader, segments: readonly Segment[], budgetBytes: number, spent: { bytes: number }): CompactionStep | undefined {
    while (this.scanNext < this.scanned.length) {
      const segment = this.scanned[this.scanNext] as Segment;
      const limit = this.scanEntries[this.scanNext] as number;
      // Done with it, or removed (retention, truncation) since the start: its records are gone.
      if (this.scanEntry >= limit || !segments.includes(segment)) {
        this.scanNext++;
        this.scanEntry = 0;
        continue;
      }
      const to = rangeWithin(segment, this.scanEntry, limit, budgetBytes - spent.bytes, spent.bytes === 0);
      if (to === this.scanEntry) return { kind: "more" };
      const range = readRecords(reader, segment, this.scanEntry, to, this.crc32c);
      if (typeof range === "string") return { kind: "corrupt", where: range };
      spent.bytes += range.buf.length;
      for (const r of range.records) {
        if (r.key === null || r.offset > this.highWatermark) continue;
        const id = keyId(r.key);
        const before = this.latest.get(id);
        if (before !== undefined) this.superseded.add(segmentFor(this.scanned, before));
        this.latest.set(id, r.offset);
      }
      this.scanEntry = to;
    }
    return undefined;
  }

  /** The rewrite phase's share of a step: undefined when every rewrite is over, else the step's outcome. */
  private rewriteStep(reader: DiskReader, segments: Segment[], ops: DiskOp[], budgetBytes: number, spent: { bytes: number }): CompactionStep | undefined {
    if (this.rewrite !== undefined) this.rewrite.createdEarlier = this.rewrite.created;
    while (this.rewrite !== undefined || this.rewriteNext < this.sealed.length) {
      if (this.rewrite === undefined) {
        const index = this.rewriteNext++;
        // Nothing in it is superseded: it stays as it is, unread.
        if (this.superseded.has(index)) this.rewrite = new SegmentRewrite(this.sealed[index] as Segment);
        continue;
      }
      const rewrite = this.rewrite;
      if (!rewrite.liveIn(segments)) {
        this.abandon(ops); // removed (retention, truncation) since the start
        continue;
      }
      const segment = rewrite.segment;
      if (rewrite.next < segment.entries) {
        const to = rangeWithin(segment, rewrite.next, segment.entries, budgetBytes - spent.bytes, spent.bytes === 0);
        if (to === rewrite.next) return { kind: "more" };
        const range = readRecords(reader, segment, rewrite.next, to, this.crc32c);
        if (typeof range === "string") {
          this.abandon(ops);
          return { kind: "corrupt", where: range };
        }
        spent.bytes += range.buf.length;
        rewrite.append(range, (r) => r.key === null || r.offset > this.highWatermark || this.latest.get(keyId(r.key)) === r.offset, ops);
        continue;
      }
      this.rewrite = undefined;
      if (rewrite.removed === 0) {
        rewrite.abandon(ops); // nothing superseded after all: the segment stays as it is
        continue;
      }
      this.removed += rewrite.removed;
      const next = rewrite.finish(this.dir, ops);
      const at = segments.indexOf(segment);
      if (next === undefined) segments.splice(at, 1);
      else segments[at] = next;
    }
    return undefined;
  }
}

/** Compacts every sealed segment of the log in `dir` against `highWatermark`, all at once. */
export function compactLog(reader: DiskReader, dir: string, segments: readonly Segment[], highWatermark: number, crc32c: Crc32c): CompactionResult {
  const live = [...segments];
  const ops: DiskOp[] = [];
  const result = new LogCompaction(dir, segments, highWatermark, crc32c).step(reader, live, ops, Infinity);
  if (result.kind === "corrupt") return { segments: [...segments], ops: [], events: [{ level: "error", msg: "compaction skipped: corrupt record", fields: { where: result.where } }] };
  const removed = result.kind === "done" ? result.removedRecords : 0;
  const events: LogEvent[] = removed > 0 ? [{ level: "info", msg: "compacted log", fields: { dir, removedRecords: removed } }] : [];
  return { segments: live, ops, events };
}
