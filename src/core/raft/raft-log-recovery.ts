// Start-up of the Raft log directory: read the snapshot, the hard state and every segment, cut a
// torn last write, and refuse (naming the file, the byte and the damage) whatever cannot be a torn
// last write: damage followed by intact frames, damage in a segment that has a successor, a damaged
// snapshot, a missing hard state, entries missing after the snapshot, a commit index past the log.
// Nothing is deleted that a durable snapshot does not account for.
import type { Crc32c } from "../crc32c.js";
import { joinPath, readWholeFile, type DiskOp, type DiskReader } from "../disk.js";
import { ok, type OperatingError, type Result } from "../errors.js";
import { TEMP_SUFFIX } from "../log/checkpoint-file.js";
import { mkdirOps } from "../log/log-recovery.js";
import type { LogEvent } from "../outputs.js";
import { decodeFrames, tornTail, type FrameParser } from "./raft-frame.js";
import { parseEntry, parseHardState, parseSnapshot } from "./raft-record.js";
import { RaftSegment, parseRaftSegmentName } from "./raft-segment.js";
import type { HardState, RaftEntry, RaftSnapshot } from "./raft-types.js";

/** The hard state file: appended frames, the last intact one wins. */
export const HARD_STATE_FILE = "hardstate";
/** The snapshot file: one frame, replaced atomically. */
export const SNAPSHOT_FILE = "snapshot";

/** A fresh node's hard state. */
export const INITIAL_HARD_STATE: HardState = { term: 0, vote: "", commit: 0 };

/** Why the Raft log will not open: the file, the byte where the damage starts and what it is. */
export interface RaftLogRefusal extends OperatingError {
  readonly file: string;
  readonly position: number;
  readonly problem: string;
}

/** What start-up found, and the disk work (apply it before anything else) that makes the disk agree. */
export interface RecoveredRaftLog {
  readonly hardState: HardState;
  readonly snapshot: RaftSnapshot | undefined;
  /** Entries after the snapshot, in index order. */
  readonly entries: RaftEntry[];
  readonly segments: RaftSegment[];
  readonly hardStateBytes: number;
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
}

type Refused = { readonly ok: false; readonly error: RaftLogRefusal };

function refuse(file: string, position: number, problem: string, advice = "restore the directory from a backup or rebuild this node from its peers"): Refused {
  const message = `the Raft log cannot be trusted: ${file} at byte ${position}: ${problem}; nothing was changed. To go on, ${advice}`;
  return { ok: false, error: { code: "CorruptRecord", message, file, position, problem } };
}

interface Ctx {
  readonly reader: DiskReader;
  readonly dir: string;
  readonly crc: Crc32c;
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
}

/** Reads a file of frames, cutting a torn tail; damage that is not one is a refusal. */
function readFrames<T>(ctx: Ctx, path: string, parse: FrameParser<T>, cuttable: boolean, order?: (items: readonly T[]) => number): { items: T[]; starts: number[]; validBytes: number } | Refused {
  const size = ctx.reader.stat(path)?.size ?? 0;
  const bytes = readWholeFile(ctx.reader, path, size);
  const decoded = decodeFrames(bytes, parse, ctx.crc);
  // Intact frames out of order (an index that does not follow) end the good part too.
  const good = order === undefined ? decoded.items.length : order(decoded.items);
  const validBytes = good < decoded.items.length ? (decoded.starts[good] as number) : decoded.validBytes;
  const problem = good < decoded.items.length ? "an entry out of order" : decoded.problem;
  const items = decoded.items.slice(0, good);
  const starts = decoded.starts.slice(0, good);
  if (problem === undefined) return { items, starts, validBytes };
  // A whole frame with a good CRC that does not parse was written in full (a newer version's?): no torn write.
  if (problem === "undecodable record") return refuse(path, validBytes, "a whole record of a version or kind this server cannot read");
  if (!cuttable || !tornTail(bytes, validBytes, parse, ctx.crc)) {
    const why = cuttable ? `${problem}, and it is not an unfinished last write (more data follows)` : `${problem} in a file that was synced whole`;
    return refuse(path, validBytes, why);
  }
  ctx.events.push({ level: "warn", msg: "Raft log file has a torn tail (an unfinished last write); cutting it", fields: { path, position: validBytes, droppedBytes: bytes.length - validBytes, problem } });
  ctx.ops.push({ kind: "truncate", path, length: validBytes }, { kind: "fdatasync", path });
  return { items, starts, validBytes };
}

/** Loads the segments; indexes must follow one another above `snapshotIndex` (below it a gap is compacted away). */
function loadSegments(ctx: Ctx, bases: readonly number[], snapshotIndex: number): { segments: RaftSegment[]; entries: RaftEntry[] } | Refused {
  const segments: RaftSegment[] = [];
  const entries: RaftEntry[] = [];
  let next = 1;
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i] as number;
    const path = new RaftSegment(ctx.dir, base, [], 0).path;
    if (base < next) return refuse(path, 0, `the segment starts at index ${base} inside the previous one, which ends at ${next - 1}`);
    if (base > next && base > snapshotIndex + 1) {
      return refuse(path, 0, `the segment starts at index ${base} but the entries before it end at ${next - 1} (after the snapshot at ${snapshotIndex}): entries are missing`);
    }
    const order = (items: readonly RaftEntry[]): number => {
      let k = 0;
      while (k < items.length && (items[k] as RaftEntry).index === base + k && (k === 0 || (items[k] as RaftEntry).term >= (items[k - 1] as RaftEntry).term)) k++;
      return k;
    };
    // A segment with a successor was synced before the successor was created: no torn tail there.
    const read = readFrames(ctx, path, parseEntry, i === bases.length - 1, order);
    if ("ok" in read) return read;
    segments.push(new RaftSegment(ctx.dir, base, read.starts, read.validBytes));
    entries.push(...read.items);
    next = base + read.items.length;
  }
  return { segments, entries };
}

/** The snapshot, whole or refused: it is renamed into place only after its bytes were synced. */
function loadSnapshot(ctx: Ctx, names: readonly string[]): { snapshot: RaftSnapshot | undefined } | Refused {
  if (!names.includes(SNAPSHOT_FILE)) return { snapshot: undefined };
  const path = joinPath(ctx.dir, SNAPSHOT_FILE);
  const read = readFrames(ctx, path, parseSnapshot, false);
  if ("ok" in read) return read;
  if (read.items.length !== 1) return refuse(path, 0, `${read.items.length} snapshot records where there must be exactly one`);
  return { snapshot: read.items[0] };
}

/** A new directory (or one whose creation a crash interrupted before any segment existed). */
function initialize(ctx: Ctx, exists: boolean, startIndex: number): RaftSegment {
  if (!exists) ctx.ops.push(...mkdirOps(ctx.reader, ctx.dir));
  const segment = new RaftSegment(ctx.dir, startIndex, [], 0);
  if (ctx.reader.stat(joinPath(ctx.dir, HARD_STATE_FILE)) === undefined) ctx.ops.push({ kind: "create", path: joinPath(ctx.dir, HARD_STATE_FILE) });
  ctx.ops.push({ kind: "create", path: segment.path }, { kind: "syncDir", path: ctx.dir });
  return segment;
}

/**
 * Recovers the Raft log in `dir` (creating it when missing). Refusals change nothing on disk.
 * Reads are synchronous: this runs at start-up only.
 */
export function recoverRaftLog(reader: DiskReader, dir: string, crc: Crc32c): Result<RecoveredRaftLog, RaftLogRefusal> {
  const ctx: Ctx = { reader, dir, crc, ops: [], events: [] };
  const exists = reader.stat(dir) !== undefined;
  const names = exists ? reader.list(dir) : [];
  for (const name of names) if (name.endsWith(TEMP_SUFFIX)) ctx.ops.push({ kind: "remove", path: joinPath(dir, name) });
  const bases = names.map(parseRaftSegmentName).filter((b): b is number => b !== undefined).sort((a, b) => a - b);
  const hsPath = joinPath(dir, HARD_STATE_FILE);
  if (!names.includes(HARD_STATE_FILE) && (bases.length > 0 || names.includes(SNAPSHOT_FILE))) {
    return refuse(hsPath, 0, "the hard state file (term, vote, commit) is missing while entries or a snapshot exist: the vote this node gave may be lost");
  }
  const snap = loadSnapshot(ctx, names);
  if ("ok" in snap) return snap;
  const snapshotIndex = snap.snapshot?.meta.index ?? 0;
  const hs = names.includes(HARD_STATE_FILE) ? readFrames(ctx, hsPath, parseHardState, true) : { items: [], starts: [], validBytes: 0 };
  if ("ok" in hs) return hs;
  const loaded = loadSegments(ctx, bases, snapshotIndex);
  if ("ok" in loaded) return loaded;
  const segments = loaded.segments.length === 0 ? [initialize(ctx, exists, snapshotIndex + 1)] : loaded.segments;
  const entries = settleAfterSnapshot(ctx, segments, loaded.entries, snap.snapshot);
  const lastIndex = entries.length > 0 ? (entries[entries.length - 1] as RaftEntry).index : snapshotIndex;
  const stored = hs.items[hs.items.length - 1] ?? INITIAL_HARD_STATE;
  if (stored.commit > lastIndex) {
    return refuse(hsPath, hs.starts[hs.starts.length - 1] ?? 0, `the commit index ${stored.commit} is past the last entry ${lastIndex}: durable entries are missing from the segments`);
  }
  // A snapshot holds only committed state: its index is committed even if the hard state lagged.
  const hardState = stored.commit < snapshotIndex ? { ...stored, commit: snapshotIndex } : stored;
  if (ctx.ops.some((op) => op.kind === "remove")) ctx.ops.push({ kind: "syncDir", path: dir });
  return ok({ hardState, snapshot: snap.snapshot, entries, segments, hardStateBytes: hs.validBytes, ops: ctx.ops, events: ctx.events });
}

/**
 * The entries after the snapshot. When the log holds the snapshot's index with another term, a
 * crash interrupted the install of a leader's snapshot: the entries belong to the history it
 * replaced and go (the durable snapshot accounts for them). When the log ends before the snapshot,
 * a new segment starts after it.
 */
function settleAfterSnapshot(ctx: Ctx, segments: RaftSegment[], entries: RaftEntry[], snapshot: RaftSnapshot | undefined): RaftEntry[] {
  if (snapshot === undefined) return entries;
  const { index, term } = snapshot.meta;
  const last = segments[segments.length - 1] as RaftSegment;
  const atSnapshot = entries.find((e) => e.index === index);
  if (atSnapshot !== undefined && atSnapshot.term !== term) {
    ctx.events.push({ level: "warn", msg: "dropping Raft entries the snapshot replaced (a crash interrupted its install)", fields: { path: last.path, snapshotIndex: index, snapshotTerm: term, entryTerm: atSnapshot.term } });
    for (const s of [...segments].reverse()) ctx.ops.push({ kind: "remove", path: s.path }, { kind: "syncDir", path: ctx.dir });
    segments.length = 0;
  }
  if (segments.length === 0 || last.lastIndex < index) {
    const fresh = new RaftSegment(ctx.dir, index + 1, [], 0);
    ctx.ops.push({ kind: "create", path: fresh.path }, { kind: "syncDir", path: ctx.dir });
    segments.push(fresh);
    return [];
  }
  return entries.filter((e) => e.index > index);
}
