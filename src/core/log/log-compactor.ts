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

/** Compacts every sealed segment of the log in `dir` against `highWatermark`. */
export function compactLog(reader: DiskReader, dir: string, segments: readonly Segment[], highWatermark: number, crc32c: Crc32c): CompactionResult {
  const latest = new Map<string, number>();
  const sealed: SegmentRecords[] = [];
  for (let s = 0; s < segments.length; s++) {
    const data = readSegment(reader, segments[s] as Segment, crc32c);
    if (typeof data === "string") {
      return { segments: [...segments], ops: [], events: [{ level: "error", msg: "compaction skipped: corrupt record", fields: { where: data } }] };
    }
    for (const r of data.records) if (r.key !== null && r.offset <= highWatermark) latest.set(keyId(r.key), r.offset);
    if (s < segments.length - 1) sealed.push(data);
  }
  const ops: DiskOp[] = [];
  const out: Segment[] = [];
  let removed = 0;
  sealed.forEach((data, s) => {
    const segment = segments[s] as Segment;
    const keep: number[] = [];
    data.records.forEach((r, i) => {
      if (r.key === null || r.offset > highWatermark || latest.get(keyId(r.key)) === r.offset) keep.push(i);
    });
    removed += data.records.length - keep.length;
    const next = keep.length === data.records.length ? segment : rewriteSegment(dir, segment, data, keep, ops);
    if (next !== undefined) out.push(next);
  });
  out.push(segments[segments.length - 1] as Segment);
  const events: LogEvent[] = removed > 0 ? [{ level: "info", msg: "compacted log", fields: { dir, removedRecords: removed } }] : [];
  return { segments: out, ops, events };
}
