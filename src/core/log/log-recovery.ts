// Opening a log directory: find the segments, trust or rebuild their indexes, validate records
// after an unclean shutdown, cut the log at the first bad record, and load the checkpoints.
// Everything it would change comes back as DiskOps; it only reads through the DiskReader.
import type { Crc32c } from "../crc32c.js";
import type { DiskOp, DiskReader } from "../disk.js";
import { joinPath, parentDir } from "../disk.js";
import type { LogEvent } from "../outputs.js";
import { TEMP_SUFFIX } from "./checkpoint-file.js";
import { INDEX_ENTRY_BYTES, parseIndexFile } from "./offset-index.js";
import { INDEX_SUFFIX, LOG_SUFFIX, Segment, parseSegmentName } from "./segment.js";
import { scanSegment } from "./segment-scan.js";

/** Written by close() and removed by open(): its presence means every index was synced. */
export const CLEAN_SHUTDOWN_FILE = "clean-shutdown";
/** Suffixes of temp files from an interrupted compaction, truncation or checkpoint. */
export const LEFTOVER_SUFFIXES = [".cleaned", ".truncated", ".deleted", TEMP_SUFFIX] as const;

/** The segments recovery settled on, the ops that make the disk agree, and what it saw. */
export interface RecoveredSegments {
  readonly segments: Segment[];
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
  /** (epoch, offset) where each leader epoch first appears in scanned records. */
  readonly epochStarts: (readonly [number, number])[];
}

function removeLeftovers(dir: string, names: readonly string[], ops: DiskOp[]): string[] {
  const logs = new Set(names.filter((n) => parseSegmentName(n, LOG_SUFFIX) !== undefined));
  const kept: string[] = [];
  for (const name of names) {
    const orphanIndex = name.endsWith(INDEX_SUFFIX) && !logs.has(name.slice(0, -INDEX_SUFFIX.length) + LOG_SUFFIX);
    if (orphanIndex || LEFTOVER_SUFFIXES.some((s) => name.endsWith(s))) ops.push({ kind: "remove", path: joinPath(dir, name) });
    else kept.push(name);
  }
  return kept;
}

interface LoadContext {
  readonly reader: DiskReader;
  readonly dir: string;
  readonly clean: boolean;
  readonly nowMs: number;
  readonly crc32c: Crc32c;
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
  readonly epochStarts: (readonly [number, number])[];
  afterOffset: number;
  afterEpoch: number;
}

/** Loads one segment; returns it and whether the log ends inside it (a defect was cut off). */
function loadSegment(ctx: LoadContext, baseOffset: number): { segment: Segment; cut: boolean } {
  const seg = Segment.empty(ctx.dir, baseOffset, ctx.nowMs);
  const logBytes = ctx.reader.stat(seg.logPath)?.size ?? 0;
  const indexStat = ctx.reader.stat(seg.indexPath);
  if (ctx.clean && indexStat !== undefined) {
    const trusted = parseIndexFile(ctx.reader.read(seg.indexPath, 0, indexStat.size), baseOffset, logBytes);
    if (trusted !== undefined && (trusted.entries === 0 || trusted.offsetAt(0) > ctx.afterOffset)) {
      ctx.afterOffset = Math.max(ctx.afterOffset, trusted.lastOffset());
      return { segment: new Segment(ctx.dir, baseOffset, trusted, logBytes, ctx.nowMs), cut: false };
    }
  }
  const scan = scanSegment(ctx.reader, seg.logPath, baseOffset, logBytes, ctx, ctx.crc32c);
  ctx.afterOffset = scan.lastOffset;
  ctx.afterEpoch = scan.lastEpoch;
  ctx.epochStarts.push(...scan.epochStarts);
  const segment = new Segment(ctx.dir, baseOffset, scan.index, scan.validBytes, ctx.nowMs);
  if (!sameBytes(ctx.reader, seg.indexPath, indexStat?.size, scan.indexBytes)) {
    if (ctx.clean) ctx.events.push({ level: "warn", msg: "rebuilt segment index from its log", fields: { path: seg.indexPath } });
    ctx.ops.push({ kind: "create", path: seg.indexPath }, { kind: "write", path: seg.indexPath, position: 0, chunks: [scan.indexBytes] });
  }
  if (scan.defect === undefined) return { segment, cut: false };
  ctx.events.push({
    level: "warn",
    msg: scan.defect === "truncated" ? "truncating torn record at the end of the log" : "truncating the log at a corrupt record",
    fields: { path: seg.logPath, defect: scan.defect, position: scan.validBytes, droppedBytes: logBytes - scan.validBytes },
  });
  return { segment, cut: true };
}

function sameBytes(reader: DiskReader, path: string, size: number | undefined, expected: Uint8Array): boolean {
  if (size !== expected.length) return false;
  const actual = reader.read(path, 0, size);
  if (actual.length !== expected.length) return false;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return false;
  return true;
}

/**
 * Cuts the log after segment `last`: later segments go first (newest first, one directory sync
 * each, so a crash leaves a contiguous log), then the torn or corrupt tail of `last`.
 */
function cutAfter(ctx: LoadContext, last: Segment, later: readonly number[]): void {
  for (const base of [...later].reverse()) {
    const gone = Segment.empty(ctx.dir, base, ctx.nowMs);
    ctx.events.push({ level: "warn", msg: "dropping segment after the end of the log", fields: { path: gone.logPath } });
    for (const path of [gone.logPath, gone.indexPath]) if (ctx.reader.stat(path) !== undefined) ctx.ops.push({ kind: "remove", path });
    ctx.ops.push({ kind: "syncDir", path: ctx.dir });
  }
  ctx.ops.push(
    { kind: "truncate", path: last.logPath, length: last.sizeBytes },
    { kind: "fdatasync", path: last.logPath },
    { kind: "truncate", path: last.indexPath, length: last.entries * INDEX_ENTRY_BYTES },
  );
}

/** mkdir -p, then a directory sync of the parent of every directory it created, deepest first. */
function mkdirOps(reader: DiskReader, dir: string): DiskOp[] {
  const ops: DiskOp[] = [{ kind: "mkdir", path: dir }];
  for (let d = dir; d !== "" && reader.stat(d) === undefined; d = parentDir(d)) ops.push({ kind: "syncDir", path: parentDir(d) });
  return ops;
}

/** Recovers the segments of the log in `dir` (creating the directory and segment 0 if needed). */
export function recoverSegments(reader: DiskReader, dir: string, nowMs: number, crc32c: Crc32c): RecoveredSegments {
  const ops: DiskOp[] = [];
  const events: LogEvent[] = [];
  const epochStarts: (readonly [number, number])[] = [];
  const exists = reader.stat(dir) !== undefined;
  if (!exists) ops.push(...mkdirOps(reader, dir));
  const names = exists ? removeLeftovers(dir, reader.list(dir), ops) : [];
  const clean = names.includes(CLEAN_SHUTDOWN_FILE);
  if (clean) ops.push({ kind: "remove", path: joinPath(dir, CLEAN_SHUTDOWN_FILE) });
  const bases = names.map((n) => parseSegmentName(n, LOG_SUFFIX)).filter((b): b is number => b !== undefined);
  const ctx: LoadContext = { reader, dir, clean, nowMs, crc32c, ops, events, epochStarts, afterOffset: -1, afterEpoch: 0 };
  const segments: Segment[] = [];
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i] as number;
    if (base <= ctx.afterOffset) {
      // Overlaps the previous segment: the log cannot continue here.
      events.push({ level: "warn", msg: "segment overlaps its predecessor", fields: { baseOffset: base } });
      cutAfter(ctx, segments[segments.length - 1] as Segment, bases.slice(i));
      break;
    }
    const { segment, cut } = loadSegment(ctx, base);
    segments.push(segment);
    if (cut) {
      cutAfter(ctx, segment, bases.slice(i + 1));
      break;
    }
  }
  if (segments.length === 0) {
    const first = Segment.empty(dir, 0, nowMs);
    segments.push(first);
    ops.push({ kind: "create", path: first.logPath }, { kind: "create", path: first.indexPath });
  }
  ops.push({ kind: "syncDir", path: dir });
  return { segments, ops, events, epochStarts };
}
