// Opening a log directory after a clean or an unclean stop. Segments wholly below the recovery
// point are trusted through their index (rebuilt from that segment's log when it is damaged);
// the rest is scanned record by record. Only a torn or corrupt tail of the last segment, at or
// after the recovery point, is cut; damage anywhere else is kept on disk and reported as
// DamagedRanges, and no segment is ever removed. Everything it would change comes back as DiskOps.
import type { Crc32c } from "../crc32c.js";
import type { DiskOp, DiskReader } from "../disk.js";
import { joinPath, parentDir } from "../disk.js";
import type { LogEvent } from "../outputs.js";
import { TEMP_SUFFIX } from "./checkpoint-file.js";
import type { DamagedRange } from "./damaged-range.js";
import type { OffsetIndex } from "./offset-index.js";
import { INDEX_ENTRY_BYTES, parseIndexFile, parseIndexPrefix } from "./offset-index.js";
import { RECORD_HEADER_BYTES, readU64, viewOf } from "./record-codec.js";
import { INDEX_SUFFIX, LOG_SUFFIX, Segment, parseSegmentName } from "./segment.js";
import type { ScanHole, ScanPrefix } from "./segment-scan.js";
import { scanSegment } from "./segment-scan.js";

/** Written by close() and removed by open(): its presence means everything was synced at close. */
export const CLEAN_SHUTDOWN_FILE = "clean-shutdown";
/** Suffixes of temp files from an interrupted compaction, truncation or checkpoint. */
export const LEFTOVER_SUFFIXES = [".cleaned", ".truncated", ".deleted", TEMP_SUFFIX] as const;

/** What recovery needs besides the directory. */
export interface RecoveryOptions {
  /** The checkpointed recovery point, undefined when missing or unreadable (the whole log is scanned). */
  readonly recoveryPoint: number | undefined;
  /** Compacted logs have legitimate gaps between segments; others do not. */
  readonly compactEnabled: boolean;
  /** Planted bug (test only): the old recovery, cutting the log at the first bad record anywhere. */
  readonly truncateBeforeRecoveryPoint: boolean;
}

/** The segments recovery settled on, the ops that make the disk agree, and what it saw. */
export interface RecoveredSegments {
  readonly segments: Segment[];
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
  /** (epoch, offset) where each leader epoch first appears in scanned records. */
  readonly epochStarts: (readonly [number, number])[];
  /** Offsets held on disk but unreadable (damaged durable data, missing segment files). */
  readonly damaged: DamagedRange[];
}

/** Removes temp leftovers and orphan indexes outside the log; returns the names kept and the bases of orphan indexes inside it. */
function removeLeftovers(dir: string, names: readonly string[], ops: DiskOp[]): { kept: string[]; innerOrphans: number[] } {
  const logBases = names.map((n) => parseSegmentName(n, LOG_SUFFIX)).filter((b): b is number => b !== undefined);
  const [lo, hi] = [Math.min(...logBases), Math.max(...logBases)];
  const kept: string[] = [];
  const innerOrphans: number[] = [];
  for (const name of names) {
    const indexBase = parseSegmentName(name, INDEX_SUFFIX);
    const orphan = indexBase !== undefined && !logBases.includes(indexBase);
    // An index between two segments whose log is gone is evidence of a missing segment: keep it.
    if (orphan && indexBase > lo && indexBase < hi) innerOrphans.push(indexBase);
    else if (orphan || LEFTOVER_SUFFIXES.some((s) => name.endsWith(s))) ops.push({ kind: "remove", path: joinPath(dir, name) });
    if (!orphan) kept.push(name);
  }
  return { kept, innerOrphans };
}

interface LoadContext {
  readonly reader: DiskReader;
  readonly dir: string;
  readonly nowMs: number;
  readonly crc32c: Crc32c;
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
  readonly epochStarts: (readonly [number, number])[];
  /** Segments wholly below this offset are trusted through their index. */
  readonly scanFrom: number;
  /** Damage at or after this offset, at the end of the last segment, may be cut. */
  readonly durableBelow: number;
  readonly legacy: boolean;
  afterOffset: number;
  afterEpoch: number;
}

interface LoadedSegment {
  readonly segment: Segment;
  /** Records beyond what was trusted were read (they are fdatasync'ed before the recovery point moves past them). */
  readonly scanned: boolean;
  readonly holes: readonly ScanHole[];
  /** Bad bytes run to the end of the file and were kept (damaged durable data). */
  readonly tailKept: boolean;
  /** Bad bytes at the end of the file were cut (a torn tail). */
  readonly cut: boolean;
}

/** Whether entry `i` of `index` names the record its position holds (a cheap check that an index is not garbage). */
function entryMatchesLog(ctx: LoadContext, index: OffsetIndex, logPath: string, i: number): boolean {
  const header = ctx.reader.read(logPath, index.positionAt(i), RECORD_HEADER_BYTES);
  return header.length === RECORD_HEADER_BYTES && readU64(viewOf(header), 0) === index.offsetAt(i);
}

/** Whether the first and last entries of `index` match the log (an empty index always does). */
function spotChecked(ctx: LoadContext, index: OffsetIndex, logPath: string): boolean {
  return index.entries === 0 || (entryMatchesLog(ctx, index, logPath, 0) && entryMatchesLog(ctx, index, logPath, index.entries - 1));
}

/** The index entries of a segment that lie below the recovery point, when its index file agrees with itself and the log. */
function trustedPrefix(ctx: LoadContext, seg: Segment, logBytes: number, indexBytes: Uint8Array | undefined): ScanPrefix | undefined {
  if (ctx.legacy || indexBytes === undefined || seg.baseOffset >= ctx.scanFrom) return undefined;
  const p = parseIndexPrefix(indexBytes, seg.baseOffset, logBytes, ctx.scanFrom);
  if (p.index.entries === 0 || p.index.offsetAt(0) <= ctx.afterOffset || !spotChecked(ctx, p.index, seg.logPath)) return undefined;
  // The index holds no epochs: take the last trusted record's, so the scan checks epochs from there.
  const header = ctx.reader.read(seg.logPath, p.index.positionAt(p.index.entries - 1), RECORD_HEADER_BYTES);
  ctx.afterEpoch = Math.max(ctx.afterEpoch, readU64(viewOf(header), 16));
  return { index: p.index, indexBytes: indexBytes.subarray(0, p.index.entries * INDEX_ENTRY_BYTES), endPosition: p.endPosition };
}

/** Loads one segment: trusted through its index when wholly below the recovery point, else scanned. */
function loadSegment(ctx: LoadContext, base: number, nextBase: number, isLast: boolean): LoadedSegment {
  const seg = Segment.empty(ctx.dir, base, ctx.nowMs);
  const logBytes = ctx.reader.stat(seg.logPath)?.size ?? 0;
  const indexSize = ctx.reader.stat(seg.indexPath)?.size;
  const indexBytes = indexSize === undefined ? undefined : ctx.reader.read(seg.indexPath, 0, indexSize);
  if (nextBase <= ctx.scanFrom && indexBytes !== undefined) {
    const trusted = parseIndexFile(indexBytes, base, logBytes);
    const fits = trusted !== undefined && (trusted.entries === 0 || (trusted.offsetAt(0) > ctx.afterOffset && trusted.lastOffset() < nextBase));
    if (trusted !== undefined && fits && spotChecked(ctx, trusted, seg.logPath)) {
      ctx.afterOffset = Math.max(ctx.afterOffset, trusted.lastOffset());
      return { segment: new Segment(ctx.dir, base, trusted, logBytes, ctx.nowMs), scanned: false, holes: [], tailKept: false, cut: false };
    }
  }
  const prefix = trustedPrefix(ctx, seg, logBytes, indexBytes);
  const start = { afterOffset: ctx.afterOffset, afterEpoch: ctx.afterEpoch, beforeOffset: nextBase };
  // In the last segment, the first bad record at or after the recovery point ends the log (it may be
  // a write that never became durable); a segment with a successor was synced before it, so damage
  // there is corruption of durable data wherever it is.
  const resyncBelow = isLast ? ctx.durableBelow : Infinity;
  const trustedEntries = prefix?.index.entries ?? 0;
  const scan = scanSegment(ctx.reader, seg.logPath, base, logBytes, start, ctx.crc32c, { resync: !ctx.legacy, resyncBelow, ...(prefix !== undefined ? { prefix } : {}) });
  ctx.afterOffset = scan.lastOffset;
  ctx.afterEpoch = scan.lastEpoch;
  ctx.epochStarts.push(...scan.epochStarts);
  const segment = new Segment(ctx.dir, base, scan.index, scan.validBytes, ctx.nowMs);
  const cut = scan.defect !== undefined && (ctx.legacy || (isLast && scan.lastOffset + 1 >= ctx.durableBelow));
  const tailKept = scan.defect !== undefined && !cut;
  for (const hole of scan.holes) {
    ctx.events.push({ level: "warn", msg: "corrupt records kept in the log; readers that reach them get CorruptRecord", fields: { path: seg.logPath, position: hole.position, fromOffset: hole.fromOffset, toOffset: hole.toOffset } });
  }
  if (tailKept) {
    ctx.events.push({ level: "warn", msg: "corrupt data below the recovery point kept, not truncated; readers that reach it get CorruptRecord", fields: { path: seg.logPath, defect: scan.defect, position: scan.validBytes, fromOffset: scan.lastOffset + 1 } });
  }
  // An index is derived data: rewrite it when the scan is clean, leave it as found next to damage.
  // The rewrite is synced: entries of a lost tail must not come back after a crash, where they
  // would describe the records later written at the same offsets and positions (trusted below
  // the recovery point, a stale entry's size hid an acked record; broker-admin seed 165).
  if (scan.holes.length === 0 && !tailKept && !sameBytes(indexBytes, scan.indexBytes)) {
    if (nextBase <= ctx.scanFrom) ctx.events.push({ level: "warn", msg: "rebuilt segment index from its log", fields: { path: seg.indexPath } });
    ctx.ops.push({ kind: "create", path: seg.indexPath }, { kind: "write", path: seg.indexPath, position: 0, chunks: [scan.indexBytes] }, { kind: "fdatasync", path: seg.indexPath });
  }
  if (cut) {
    ctx.events.push({
      level: "warn",
      msg: scan.defect === "truncated" ? "truncating torn record at the end of the log" : "truncating the log at a corrupt record",
      fields: { path: seg.logPath, defect: scan.defect, position: scan.validBytes, droppedBytes: logBytes - scan.validBytes },
    });
  }
  // Records found past the trusted prefix may not be durable yet: recovery syncs them.
  return { segment, scanned: scan.index.entries > trustedEntries, holes: scan.holes, tailKept, cut };
}

function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array): boolean {
  if (actual === undefined || actual.length !== expected.length) return false;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return false;
  return true;
}

/** Cuts the torn tail of `last`; the planted bug also removes every later segment (newest first). */
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
    // Durable, so the cut entries never come back to describe the records written after them.
    { kind: "fdatasync", path: last.indexPath },
  );
}

/** mkdir -p, then a directory sync of the parent of every directory it created, deepest first. */
export function mkdirOps(reader: DiskReader, dir: string): DiskOp[] {
  const ops: DiskOp[] = [{ kind: "mkdir", path: dir }];
  for (let d = dir; d !== "" && reader.stat(d) === undefined; d = parentDir(d)) ops.push({ kind: "syncDir", path: parentDir(d) });
  return ops;
}

/** Offsets missing between consecutive segments where there is evidence of damage become DamagedRanges. */
function gapRanges(segments: readonly Segment[], tailKept: ReadonlySet<Segment>, innerOrphans: readonly number[], compactEnabled: boolean): DamagedRange[] {
  const out: DamagedRange[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    const [a, b] = [segments[i] as Segment, segments[i + 1] as Segment];
    if (a.nextOffset >= b.baseOffset) continue;
    const orphan = innerOrphans.some((o) => o > a.baseOffset && o < b.baseOffset);
    // A compacted log has gaps of its own; elsewhere a gap means lost records.
    if (!tailKept.has(a) && !orphan && compactEnabled) continue;
    const reason = tailKept.has(a) ? `corrupt bytes at the end of ${a.logPath}` : `records missing between ${a.logPath} and ${b.logPath} (a segment file was removed or truncated)`;
    out.push({ from: a.nextOffset, to: b.baseOffset, reason });
  }
  return out;
}

/**
 * Makes sure no offset below the checkpointed recovery point is given out again: when the last
 * segment ends in kept damage or ends below the recovery point, a new segment starts past both.
 */
function closeLogEnd(ctx: LoadContext, segments: Segment[], tailKept: boolean, recoveryPoint: number, damaged: DamagedRange[]): void {
  const last = segments[segments.length - 1] as Segment;
  const leo = last.nextOffset;
  if (!tailKept && leo >= recoveryPoint) return;
  const base = Math.max(leo, recoveryPoint, tailKept && last.entries === 0 ? last.baseOffset + 1 : 0);
  if (base > leo) {
    const reason = tailKept ? `corrupt bytes at the end of ${last.logPath}` : `records below the recovery point ${recoveryPoint} are missing after ${last.logPath}`;
    damaged.push({ from: leo, to: base, reason });
  }
  if (!tailKept) ctx.events.push({ level: "warn", msg: "records below the recovery point are missing; their offsets are not reused", fields: { path: last.logPath, fromOffset: leo, toOffset: base } });
  const next = Segment.empty(ctx.dir, base, ctx.nowMs);
  segments.push(next);
  ctx.ops.push({ kind: "create", path: next.logPath }, { kind: "create", path: next.indexPath });
}

/** Recovers the segments of the log in `dir` (creating the directory and segment 0 if needed). */
export function recoverSegments(reader: DiskReader, dir: string, nowMs: number, crc32c: Crc32c, options: RecoveryOptions): RecoveredSegments {
  const ops: DiskOp[] = [];
  const events: LogEvent[] = [];
  const exists = reader.stat(dir) !== undefined;
  if (!exists) ops.push(...mkdirOps(reader, dir));
  const { kept: names, innerOrphans } = exists ? removeLeftovers(dir, reader.list(dir), ops) : { kept: [], innerOrphans: [] };
  const clean = names.includes(CLEAN_SHUTDOWN_FILE);
  if (clean) ops.push({ kind: "remove", path: joinPath(dir, CLEAN_SHUTDOWN_FILE) });
  const bases = names.map((n) => parseSegmentName(n, LOG_SUFFIX)).filter((b): b is number => b !== undefined).sort((a, b) => a - b);
  const legacy = options.truncateBeforeRecoveryPoint;
  const point = options.recoveryPoint ?? 0;
  const ctx: LoadContext = { reader, dir, nowMs, crc32c, ops, events, epochStarts: [], legacy, afterOffset: -1, afterEpoch: 0, scanFrom: clean ? Infinity : legacy ? 0 : point, durableBelow: clean ? Infinity : point };
  const segments: Segment[] = [];
  const damaged: DamagedRange[] = [];
  const tailKept = new Set<Segment>();
  for (let i = 0; i < bases.length; i++) {
    const loaded = loadSegment(ctx, bases[i] as number, bases[i + 1] ?? Infinity, i === bases.length - 1);
    segments.push(loaded.segment);
    for (const h of loaded.holes) damaged.push({ from: h.fromOffset, to: h.toOffset, reason: `corrupt bytes at position ${h.position} of ${loaded.segment.logPath}` });
    if (loaded.tailKept) tailKept.add(loaded.segment);
    if (loaded.cut) {
      cutAfter(ctx, loaded.segment, legacy ? bases.slice(i + 1) : []);
      break;
    }
    if (loaded.scanned) ops.push({ kind: "fdatasync", path: loaded.segment.logPath });
  }
  if (segments.length === 0) {
    const first = Segment.empty(dir, legacy ? 0 : Math.max(0, options.recoveryPoint ?? 0), nowMs);
    segments.push(first);
    ops.push({ kind: "create", path: first.logPath }, { kind: "create", path: first.indexPath });
  } else if (!legacy) {
    damaged.push(...gapRanges(segments, tailKept, innerOrphans, options.compactEnabled));
    closeLogEnd(ctx, segments, tailKept.has(segments[segments.length - 1] as Segment), options.recoveryPoint ?? -1, damaged);
  }
  ops.push({ kind: "syncDir", path: dir });
  return { segments, ops, events, epochStarts: ctx.epochStarts, damaged: damaged.sort((a, b) => a.from - b.from) };
}

// Read granularity of the epoch walk.
const EPOCH_WALK_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * (epoch, offset) where each leader epoch first appears, read from the header of every indexed
 * record: how a lost or garbled leader-epoch-checkpoint is rebuilt (a full read of the log, paid
 * only in that case).
 */
export function epochStartsFromLog(reader: DiskReader, segments: readonly Segment[]): (readonly [number, number])[] {
  const starts: [number, number][] = [];
  let lastEpoch = -1;
  for (const segment of segments) {
    let buf: Uint8Array = new Uint8Array(0);
    let bufStart = 0;
    for (let i = 0; i < segment.entries; i++) {
      const position = segment.index.positionAt(i);
      if (position + RECORD_HEADER_BYTES > bufStart + buf.length) {
        buf = reader.read(segment.logPath, position, Math.max(EPOCH_WALK_CHUNK_BYTES, RECORD_HEADER_BYTES));
        bufStart = position;
        if (buf.length < RECORD_HEADER_BYTES) break;
      }
      const epoch = readU64(viewOf(buf), position - bufStart + 16);
      if (epoch > lastEpoch) starts.push([epoch, segment.index.offsetAt(i)]);
      lastEpoch = Math.max(lastEpoch, epoch);
    }
  }
  return starts;
}
