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

interface SegmentRecords {
  readonly buf: Uint8Array;
  readonly records: LogRecord[];
  readonly sizes: number[];
}

/** Reads and verifies every record of a segment; a string names the first corrupt one. */
function readSegment(reader: DiskReader, segment: Segment, crc32c: Crc32c): SegmentRecords | string {
  const buf = reader.read(segment.logPath, 0, segment.sizeBytes);
  const view = viewOf(buf);
  const records: LogRecord[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < segment.entries; i++) {
    const p = segment.index.positionAt(i);
    const h = checkRecordAt(buf, view, p, buf.length, crc32c);
    const parsed = typeof h === "string" ? h : h.offset !== segment.index.offsetAt(i) ? "badOffset" : parseRecordAt(buf, view, p, h);
    if (typeof parsed === "string") return `${parsed} at position ${p} of ${segment.logPath}`;
    records.push(parsed);
    sizes.push(segment.recordBytesAt(i));
  }
  return { buf, records, sizes };
}

/** Rewrites one sealed segment keeping `keep` records; returns the replacement (or undefined if emptied). */
function rewriteSegment(dir: string, segment: Segment, data: SegmentRecords, keep: readonly number[], ops: DiskOp[]): Segment | undefined {
  ops.push({ kind: "close", path: segment.logPath }, { kind: "close", path: segment.indexPath });
  if (keep.length === 0) {
    ops.push({ kind: "remove", path: segment.logPath }, { kind: "remove", path: segment.indexPath }, { kind: "syncDir", path: dir });
    return undefined;
  }
  const index = new OffsetIndex(segment.baseOffset);
  const indexBytes = new Uint8Array(keep.length * INDEX_ENTRY_BYTES);
  const indexView = viewOf(indexBytes);
  const chunks: Uint8Array[] = [];
  let position = 0;
  keep.forEach((i, n) => {
    const record = data.records[i] as LogRecord;
    const size = data.sizes[i] as number;
    const from = segment.index.positionAt(i);
    chunks.push(data.buf.subarray(from, from + size));
    index.append(record.offset, position, record.timestampNs);
    writeIndexEntry(indexView, n * INDEX_ENTRY_BYTES, record.offset - segment.baseOffset, record.timestampNs, position, size);
    position += size;
  });
  const logTemp = segment.logPath + CLEANED_SUFFIX;
  const indexTemp = segment.indexPath + CLEANED_SUFFIX;
  ops.push(
    { kind: "create", path: logTemp },
    { kind: "write", path: logTemp, position: 0, chunks },
    { kind: "fdatasync", path: logTemp },
    { kind: "close", path: logTemp },
    { kind: "create", path: indexTemp },
    { kind: "write", path: indexTemp, position: 0, chunks: [indexBytes] },
    { kind: "fdatasync", path: indexTemp },
    { kind: "close", path: indexTemp },
    { kind: "rename", from: logTemp, to: segment.logPath },
    { kind: "rename", from: indexTemp, to: segment.indexPath },
    { kind: "syncDir", path: dir },
  );
  return new Segment(dir, segment.baseOffset, index, position, segment.createdMs);
}

/** Bytes of segments one compaction step reads (at least one segment): the rest waits for the next step. */
export const COMPACTION_STEP_BYTES = 16 * 1024 * 1024;

/** The outcome of one bounded compaction step. */
export type CompactionStep =
  | { readonly kind: "more" }
  | { readonly kind: "done"; readonly removedRecords: number }
  | { readonly kind: "corrupt"; readonly where: string };

/**
 * One compaction of a log against the high watermark it started with, done in bounded steps:
 * first every segment (the then-active one included) is read to find each key's latest offset,
 * then the segments sealed at the start are rewritten, each read again (so no step holds more
 * than its budget of segment bytes). Records appended meanwhile are not considered (they stay);
 * a segment that retention or truncation removed meanwhile is skipped.
 */
export class LogCompaction {
  private readonly latest = new Map<string, number>();
  /** Indexes (into `scanned`) of the segments holding a record some later one supersedes: only these are rewritten. */
  private readonly superseded = new Set<number>();
  private readonly sealed: readonly Segment[];
  private readonly scanned: readonly Segment[];
  private scanNext = 0;
  private rewriteNext = 0;
  private removed = 0;

  constructor(
    private readonly dir: string,
    segments: readonly Segment[],
    private readonly highWatermark: number,
    private readonly crc32c: Crc32c,
  ) {
    this.scanned = [...segments];
    this.sealed = segments.slice(0, -1);
  }

  /**
   * Does at most `budgetBytes` of reading (at least one segment). `segments` is the log's live
   * list: a rewritten segment replaces its original there (or leaves it, emptied); ops go to `ops`.
   */
  step(reader: DiskReader, segments: Segment[], ops: DiskOp[], budgetBytes: number = COMPACTION_STEP_BYTES): CompactionStep {
    let spent = 0;
    while (this.scanNext < this.scanned.length && (spent === 0 || spent < budgetBytes)) {
      const segment = this.scanned[this.scanNext++] as Segment;
      const data = readSegment(reader, segment, this.crc32c);
      if (typeof data === "string") return { kind: "corrupt", where: data };
      for (const r of data.records) {
        if (r.key === null || r.offset > this.highWatermark) continue;
        const id = keyId(r.key);
        const before = this.latest.get(id);
        if (before !== undefined) this.superseded.add(segmentFor(this.scanned, before));
        this.latest.set(id, r.offset);
      }
      spent += segment.sizeBytes;
    }
    while (this.rewriteNext < this.sealed.length && (spent === 0 || spent < budgetBytes)) {
      if (!this.superseded.has(this.rewriteNext)) {
        this.rewriteNext++; // nothing in it is superseded: it stays as it is, unread
        continue;
      }
      const segment = this.sealed[this.rewriteNext++] as Segment;
      const at = segments.indexOf(segment);
      if (at < 0 || at === segments.length - 1) continue; // removed (retention, truncation) since the start
      spent += segment.sizeBytes;
      const data = readSegment(reader, segment, this.crc32c);
      if (typeof data === "string") return { kind: "corrupt", where: data };
      const keep: number[] = [];
      data.records.forEach((r, i) => {
        if (r.key === null || r.offset > this.highWatermark || this.latest.get(keyId(r.key)) === r.offset) keep.push(i);
      });
      if (keep.length === data.records.length) continue;
      this.removed += data.records.length - keep.length;
      const next = rewriteSegment(this.dir, segment, data, keep, ops);
      if (next === undefined) segments.splice(at, 1);
      else segments[at] = next;
    }
    const done = this.scanNext >= this.scanned.length && this.rewriteNext >= this.sealed.length;
    return done ? { kind: "done", removedRecords: this.removed } : { kind: "more" };
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
