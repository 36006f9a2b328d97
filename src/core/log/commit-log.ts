// The CommitLog: one partition's segmented, append-only log as a pure model. It never does IO:
// every mutation returns the DiskOps that the driver applies, in order, before the next call;
// reads go through the injected DiskReader (which sees every op already applied).
import { assert } from "../assert.js";
import type { Crc32c } from "../crc32c.js";
import { crc32c as pureCrc32c } from "../crc32c.js";
import type { DiskOp, DiskReader } from "../disk.js";
import { DiskError, joinPath, parentDir } from "../disk.js";
import type { Result } from "../errors.js";
import { err, ok } from "../errors.js";
import type { LogEvent } from "../outputs.js";
import type { Epoch, Offset, TimeMs, TimestampNs } from "../types.js";
import { atomicWriteOps, readTextFile, textBytes } from "./checkpoint-file.js";
import type { DamagedRange } from "./damaged-range.js";
import { clipDamagedRanges, damagedRangeAt, nextDamagedFrom } from "./damaged-range.js";
import { validateFollowerBatch } from "./follower-batch.js";
import { HeaderKeyCache, encodeLeaderBatch, prepareLeaderBatch } from "./leader-batch.js";
import { LeaderEpochCache, parseEpochCheckpoint } from "./leader-epoch-cache.js";
import { LogCompaction } from "./log-compactor.js";
import type { LogConfig } from "./log-config.js";
import { validateLogConfig } from "./log-config.js";
import type { ReadMode, ReadPlan, ReadResult } from "./log-reader.js";
import { finishRead, planRead, readRecords, segmentFor } from "./log-reader.js";
import { CLEAN_SHUTDOWN_FILE, epochStartsFromLog, recoverSegments } from "./log-recovery.js";
import { retainedFrom } from "./log-retention.js";
import { INDEX_ENTRY_BYTES } from "./offset-index.js";
import { loadRecoveryPoint, recoveryPointOps } from "./recovery-point.js";
import type { AppendMessage } from "./record-codec.js";
import { Segment } from "./segment.js";

/** File holding the high watermark as ASCII decimal (spec §6.1). */
export const HW_CHECKPOINT_FILE = "replication-offset-checkpoint";
/** File holding the leader epoch cache (spec §6.1). */
export const EPOCH_CHECKPOINT_FILE = "leader-epoch-checkpoint";

// Buffered index bytes are written once they reach this size (see CommitLog.pendingIndex).
const INDEX_WRITE_BYTES = 64 * 1024;

// Relative offsets in the index are int32: roll before a segment would need a larger one.
const MAX_RELATIVE_OFFSET = 0x7fffffff;

/** What open() returns: the log, the ops that finish recovery, and what recovery saw. */
export interface OpenedLog {
  readonly log: CommitLog;
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
}

/** A successful leader append. */
export interface LeaderAppend {
  readonly firstOffset: Offset;
  readonly lastOffset: Offset;
  readonly ops: DiskOp[];
}

/** A successful follower append. */
export interface FollowerAppend {
  readonly lastOffset: Offset;
  readonly ops: DiskOp[];
}

/** Ops and events from a cleanup (retention, then compaction). */
export interface CleanupResult {
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
  /** A compaction is under way: call cleanup again soon for its next bounded step. */
  readonly more: boolean;
}

function loadHighWatermark(reader: DiskReader, path: string, events: LogEvent[]): number {
  const text = readTextFile(reader, path);
  if (text === undefined) return -1;
  const trimmed = text.trim();
  if (/^-?[0-9]{1,16}$/.test(trimmed) && Number(trimmed) >= -1) return Number(trimmed);
  // Liftbridge #333: an empty or garbled checkpoint must not stop the broker from starting.
  events.push({ level: "warn", msg: "ignoring unreadable high watermark checkpoint", fields: { path } });
  return -1;
}

/** The checkpointed leader epochs, or undefined when the file is missing or unreadable (with a warning). */
function loadEpochEntries(reader: DiskReader, path: string, events: LogEvent[]): ReturnType<typeof parseEpochCheckpoint> {
  const text = readTextFile(reader, path);
  if (text === undefined) {
    if (reader.stat(path) !== undefined) events.push({ level: "warn", msg: "ignoring unreadable leader epoch checkpoint", fields: { path } });
    return undefined;
  }
  const entries = parseEpochCheckpoint(text);
  if (entries !== undefined) return entries;
  events.push({ level: "warn", msg: "ignoring unreadable leader epoch checkpoint", fields: { path } });
  return undefined;
}

/** One partition's commit log. Create it with CommitLog.open. */
export class CommitLog {
  /** The log's leader epochs (KIP-101), checkpointed to leader-epoch-checkpoint. */
  readonly leaderEpochCache: LeaderEpochCache;
  private segments: Segment[];
  private hw: number;
  private recoveryPointOffset: number;
  /** The recovery point as last written to its checkpoint file (a missing file reads as 0). */
  private checkpointedRecoveryPoint: number;
  /** The high watermark as last written to its checkpoint file (-1 when missing or unreadable). */
  private checkpointedHw: number;
  /** Offsets recovery found damaged below the recovery point: kept on disk, never served, never reused. */
  private damaged: DamagedRange[];
  private readonly unsyncedLogs = new Set<string>();
  private readonly unsyncedIndexes = new Set<string>();
  private readonly headerKeys = new HeaderKeyCache();
  /**
   * Index entries not yet written to the active segment's .index file. The index is never needed
   * on disk to be current (recovery rebuilds it from the log), so entries are written in chunks of
   * INDEX_WRITE_BYTES, or at a sync, roll, truncate, cleanup or close: one syscall per append, not two.
   */
  private pendingIndex: { readonly path: string; readonly position: number; readonly chunks: Uint8Array[]; bytes: number } | undefined;
  private readonly crc32c: Crc32c;
  private closed = false;
  /** The compaction under way (it reads a bounded number of segment bytes per cleanup call). */
  private compaction: { readonly run: LogCompaction; readonly startedAt: string } | undefined;
  /** High watermark, log end and active segment when the last completed compaction started: unchanged, it has nothing to do. */
  private compactedAt: string | undefined;

  private constructor(
    private readonly reader: DiskReader,
    readonly dir: string,
    readonly config: LogConfig,
    segments: Segment[],
    hw: number,
    epochCache: (log: CommitLog) => LeaderEpochCache,
    damaged: DamagedRange[],
    checkpointedRecoveryPoint: number,
  ) {
    this.segments = segments;
    this.damaged = damaged;
    this.crc32c = config.crc32c ?? pureCrc32c;
    this.leaderEpochCache = epochCache(this);
    this.hw = Math.min(hw, this.logEndOffset - 1);
    this.checkpointedHw = hw;
    // Recovery fdatasyncs every segment it scanned, so once its ops are applied all of the log is durable.
    this.recoveryPointOffset = this.logEndOffset;
    this.checkpointedRecoveryPoint = checkpointedRecoveryPoint;
  }

  /**
   * Opens (or creates) the log in `dir`: recovers segments from the recovery point on (see
   * log-recovery.ts), rebuilds bad indexes, cuts a torn tail after the recovery point, and loads
   * the checkpoints. Apply `ops` before any other call.
   */
  static open(reader: DiskReader, dir: string, config: LogConfig, nowMs: TimeMs): OpenedLog {
    const valid = validateLogConfig(config);
    assert(valid.ok, `CommitLog.open: invalid config: ${valid.ok ? "" : valid.error.message}`);
    const preEvents: LogEvent[] = [];
    const recoveryPoint = reader.stat(dir) === undefined ? undefined : loadRecoveryPoint(reader, dir, preEvents);
    const recovered = recoverSegments(reader, dir, nowMs, config.crc32c ?? pureCrc32c, {
      recoveryPoint,
      compactEnabled: config.compactEnabled,
      truncateBeforeRecoveryPoint: config.truncateBeforeRecoveryPoint === true,
    });
    const events = [...preEvents, ...recovered.events];
    const hw = loadHighWatermark(reader, joinPath(dir, HW_CHECKPOINT_FILE), events);
    const entries = loadEpochEntries(reader, joinPath(dir, EPOCH_CHECKPOINT_FILE), events);
    const epochCache = (l: CommitLog): LeaderEpochCache => new LeaderEpochCache(joinPath(dir, EPOCH_CHECKPOINT_FILE), entries ?? [], () => l.logEndOffset);
    const log = new CommitLog(reader, dir, config, recovered.segments, hw, epochCache, recovered.damaged, recoveryPoint ?? 0);
    const ops = recovered.ops;
    ops.push(...log.recoveryPointCheckpointOps());
    // Epochs seen in scanned records but missing from the checkpoint (crash before it was written);
    // without a checkpoint, every record's epoch (only the scanned part is read otherwise).
    const epochStarts = entries === undefined && log.logEndOffset > log.oldestOffset ? epochStartsFromLog(reader, recovered.segments) : recovered.epochStarts;
    for (const [e, o] of epochStarts) ops.push(...log.leaderEpochCache.assign(e as Epoch, o as Offset));
    ops.push(...log.leaderEpochCache.clearLatest(log.logEndOffset + 1));
    ops.push(...log.leaderEpochCache.clearEarliest(log.oldestOffset));
    if (hw > log.hw) events.push({ level: "warn", msg: "high watermark checkpoint is beyond the log end; lowered", fields: { checkpoint: hw, highWatermark: log.hw } });
    return { log, ops, events };
  }

  /** open(), but a disk read error while recovering is an Internal error (the partition cannot be served), not a throw. */
  static tryOpen(reader: DiskReader, dir: string, config: LogConfig, nowMs: TimeMs): Result<OpenedLog> {
    try {
      return ok(CommitLog.open(reader, dir, config, nowMs));
    } catch (e) {
      if (!(e instanceof DiskError) || config.readErrorThrows === true) throw e;
      return err("Internal", `cannot open the log in ${dir}: ${e.message}`);
    }
  }

  /** Offset of the first record kept (the first segment's baseOffset). */
  get oldestOffset(): Offset {
    return (this.segments[0] as Segment).baseOffset as Offset;
  }

  /** Offset of the last record, -1 when the log has never had one. */
  get newestOffset(): Offset {
    return (this.logEndOffset - 1) as Offset;
  }

  /** The offset the next appended record gets. */
  get logEndOffset(): Offset {
    return this.active.nextOffset as Offset;
  }

  /** Offset of the last committed record (-1 initially). */
  get highWatermark(): Offset {
    return this.hw as Offset;
  }

  /** First offset not yet known durable: everything below it has been fdatasync'ed. */
  get recoveryPoint(): Offset {
    return this.recoveryPointOffset as Offset;
  }

  /** Offsets recovery found damaged (kept on disk, answered with CorruptRecord, never reused). */
  get damagedRanges(): readonly DamagedRange[] {
    return this.damaged;
  }

  /** Base offsets of the segments, oldest first (for metrics and tests). */
  get segmentBaseOffsets(): Offset[] {
    return this.segments.map((s) => s.baseOffset as Offset);
  }

  /** Total bytes of all segment files. */
  get sizeBytes(): number {
    return this.segments.reduce((n, s) => n + s.sizeBytes, 0);
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1] as Segment;
  }

  /** Raises the high watermark; lower values are ignored (it is monotonic). */
  setHighWatermark(offset: Offset): void {
    if (offset > this.hw) this.hw = offset;
  }

  /**
   * The ops that write the high watermark checkpoint and the recovery point checkpoint, each only
   * when it differs from what was last written (on the same timer, as Kafka's checkpoint thread
   * writes both). Neither syncs the directory: both may lag (a lower high watermark after a crash
   * is what the timer's interval allows anyway; a lower recovery point only scans more), and with
   * a thousand partitions a directory fsync each per tick is most of the checkpoint's cost.
   */
  checkpointHighWatermark(): DiskOp[] {
    const ops = this.recoveryPointCheckpointOps();
    if (this.hw === this.checkpointedHw) return ops;
    this.checkpointedHw = this.hw;
    return [...atomicWriteOps(joinPath(this.dir, HW_CHECKPOINT_FILE), textBytes(String(this.hw)), false), ...ops];
  }

  /** The ops that write the recovery point checkpoint, when it differs from the one on disk (durably when lowered). */
  private recoveryPointCheckpointOps(): DiskOp[] {
    if (this.recoveryPointOffset === this.checkpointedRecoveryPoint) return [];
    const lowered = this.recoveryPointOffset < this.checkpointedRecoveryPoint;
    this.checkpointedRecoveryPoint = this.recoveryPointOffset;
    return recoveryPointOps(this.dir, this.recoveryPointOffset, lowered);
  }

  /**
   * Appends `messages` as leader: assigns consecutive offsets, the batch timestamp and
   * `leaderEpoch`. Every message is validated first (MessageTooLarge, IncorrectOffset for an
   * expectedOffset mismatch, NotLeader for a stale epoch); on error nothing is written. The ops
   * are one log write, one index write and, under sync policy `always`, one final fdatasync.
   */
  appendAsLeader(messages: readonly AppendMessage[], timestampNs: TimestampNs, leaderEpoch: Epoch, nowMs: TimeMs): Result<LeaderAppend> {
    assert(!this.closed, "CommitLog: append after close");
    const first = this.logEndOffset;
    if (messages.length === 0) return ok({ firstOffset: first, lastOffset: (first - 1) as Offset, ops: [] });
    if (leaderEpoch < this.leaderEpochCache.latestEpoch) {
      return err("NotLeader", `leader epoch ${leaderEpoch} is older than the log's latest epoch ${this.leaderEpochCache.latestEpoch}`);
    }
    const prepared = prepareLeaderBatch(messages, first, this.config.maxMessageBytes, this.headerKeys);
    if (!prepared.ok) return prepared;
    const ops = this.rollIfNeeded(prepared.value.totalBytes, first, messages.length, nowMs);
    ops.push(...this.leaderEpochCache.assign(leaderEpoch, first));
    const segment = this.active;
    const logPosition = segment.sizeBytes;
    const indexPosition = segment.entries * INDEX_ENTRY_BYTES;
    const encoded = encodeLeaderBatch(messages, prepared.value, first, timestampNs, leaderEpoch, segment, this.crc32c);
    segment.sizeBytes += prepared.value.totalBytes;
    this.pushWriteOps(ops, segment, logPosition, encoded.logBytes, indexPosition, encoded.indexBytes);
    return ok({ firstOffset: first, lastOffset: (first + messages.length - 1) as Offset, ops });
  }

  /**
   * Appends records received from the leader verbatim (spec §4.3 bytes) after checking them:
   * whole and CRC-clean (CorruptRecord), offsets increasing from logEndOffset (OffsetOutOfRange;
   * a gap is allowed because a compacted leader has gaps), epochs non-decreasing (InvalidArgument).
   */
  appendAsFollower(records: Uint8Array, nowMs: TimeMs): Result<FollowerAppend> {
    assert(!this.closed, "CommitLog: append after close");
    const leo = this.logEndOffset;
    if (records.length === 0) return ok({ lastOffset: (leo - 1) as Offset, ops: [] });
    const lastEpoch = Math.max(0, this.leaderEpochCache.epochAt(leo - 1));
    const batch = validateFollowerBatch(records, leo, lastEpoch, this.crc32c);
    if (!batch.ok) return batch;
    const headers = batch.value.headers;
    const first = (headers[0] as (typeof headers)[number]).offset;
    const ops = this.rollIfNeeded(records.length, first, (headers[headers.length - 1]?.offset ?? first) - first + 1, nowMs);
    for (const h of headers) ops.push(...this.leaderEpochCache.assign(h.leaderEpoch as Epoch, h.offset as Offset));
    const segment = this.active;
    const logPosition = segment.sizeBytes;
    const indexPosition = segment.entries * INDEX_ENTRY_BYTES;
    const indexBytes = new Uint8Array(headers.length * INDEX_ENTRY_BYTES);
    const indexView = new DataView(indexBytes.buffer);
    headers.forEach((h, i) => {
      const position = logPosition + (batch.value.positions[i] as number);
      indexView.setInt32(i * INDEX_ENTRY_BYTES, h.offset - segment.baseOffset);
      indexView.setBigInt64(i * INDEX_ENTRY_BYTES + 4, h.timestampNs);
      indexView.setInt32(i * INDEX_ENTRY_BYTES + 12, position);
      indexView.setInt32(i * INDEX_ENTRY_BYTES + 16, h.recordBytes);
      segment.index.append(h.offset, position, h.timestampNs);
    });
    segment.sizeBytes += records.length;
    this.pushWriteOps(ops, segment, logPosition, records, indexPosition, indexBytes);
    return ok({ lastOffset: segment.index.lastOffset() as Offset, ops });
  }

  private pushWriteOps(ops: DiskOp[], segment: Segment, logPosition: number, logBytes: Uint8Array, indexPosition: number, indexBytes: Uint8Array): void {
    assert(segment.sizeBytes <= 0x7fffffff, "CommitLog: segment grew past 2 GiB");
    ops.push({ kind: "write", path: segment.logPath, position: logPosition, chunks: [logBytes] });
    const pending = this.pendingIndex;
    if (pending !== undefined && (pending.path !== segment.indexPath || pending.position + pending.bytes !== indexPosition)) ops.push(...this.flushIndexOps());
    if (this.pendingIndex === undefined) this.pendingIndex = { path: segment.indexPath, position: indexPosition, chunks: [], bytes: 0 };
    this.pendingIndex.chunks.push(indexBytes);
    this.pendingIndex.bytes += indexBytes.length;
    if (this.pendingIndex.bytes >= INDEX_WRITE_BYTES) ops.push(...this.flushIndexOps());
    this.unsyncedIndexes.add(segment.indexPath);
    if (this.config.syncPolicy === "always") {
      ops.push({ kind: "fdatasync", path: segment.logPath });
      this.recoveryPointOffset = this.logEndOffset;
    } else {
      this.unsyncedLogs.add(segment.logPath);
    }
  }

  /** The op that writes the buffered index entries (none when nothing is buffered). */
  private flushIndexOps(): DiskOp[] {
    const pending = this.pendingIndex;
    this.pendingIndex = undefined;
    if (pending === undefined || pending.bytes === 0) return [];
    return [{ kind: "write", path: pending.path, position: pending.position, chunks: pending.chunks }];
  }

  private rollIfNeeded(incomingBytes: number, firstOffset: number, offsetSpan: number, nowMs: number): DiskOp[] {
    const a = this.active;
    const full = a.entries > 0 && a.sizeBytes + incomingBytes > this.config.segmentMaxBytes;
    const old = a.entries > 0 && this.config.segmentMaxAgeMs > 0 && nowMs - a.createdMs >= this.config.segmentMaxAgeMs;
    const far = firstOffset + offsetSpan - a.baseOffset > MAX_RELATIVE_OFFSET;
    return full || old || far ? this.roll(firstOffset, nowMs) : [];
  }

  private roll(baseOffset: number, nowMs: number): DiskOp[] {
    const old = this.active;
    const next = Segment.empty(this.dir, baseOffset, nowMs);
    this.segments.push(next);
    // Whatever the sync policy, a sealed segment is flushed before its successor exists (as Kafka
    // does): otherwise a crash could keep the new segment but lose the old one's tail, leaving a
    // gap that recovery cannot tell from compaction.
    const ops: DiskOp[] = this.flushIndexOps();
    if (this.unsyncedLogs.delete(old.logPath)) ops.push({ kind: "fdatasync", path: old.logPath });
    if (this.unsyncedLogs.size === 0) this.recoveryPointOffset = Math.max(this.recoveryPointOffset, old.nextOffset);
    return [
      ...ops,
      { kind: "close", path: old.indexPath },
      { kind: "create", path: next.logPath },
      { kind: "create", path: next.indexPath },
      { kind: "syncDir", path: this.dir },
      // After the sealed segment's fdatasync: a crash from here on never scans it again.
      ...this.recoveryPointCheckpointOps(),
    ];
  }

  /** Rolls the active segment if it is non-empty and older than segmentMaxAgeMs. */
  maybeRoll(nowMs: TimeMs): DiskOp[] {
    assert(!this.closed, "CommitLog: roll after close");
    return this.rollIfNeeded(0, this.logEndOffset, 0, nowMs);
  }

  /** Rolls a new segment now if the active one holds any record (tests, admin). */
  forceRoll(nowMs: TimeMs): DiskOp[] {
    assert(!this.closed, "CommitLog: roll after close");
    return this.active.entries > 0 ? this.roll(this.logEndOffset, nowMs) : [];
  }

  /**
   * Reads whole records from `startOffset` (raised to oldestOffset) through `maxOffsetInclusive`
   * (e.g. the high watermark), about `maxBytes` of them (at least one when any is available).
   * Returns the raw bytes, verified, and parsed views of them unless `mode` is "stored" (a reader
   * that forwards records as stored); a corrupt first record is a CorruptRecord error.
   */
  read(startOffset: Offset, maxOffsetInclusive: Offset, maxBytes: number, mode: ReadMode = "decoded"): Result<ReadResult> {
    const range = this.readRange(startOffset, maxOffsetInclusive);
    if (!range.ok) return range;
    const [start, upper] = range.value;
    if (start > upper) return ok({ records: [], bytes: new Uint8Array(0), count: 0, nextOffset: start as Offset });
    try {
      return readRecords(this.reader, this.segments, start, upper, maxBytes, this.crc32c, mode);
    } catch (e) {
      if (!(e instanceof DiskError) || this.config.readErrorThrows === true) throw e;
      // The disk refused the read (EIO, or EMFILE after NodeDisk's retry): an answer, not a crash.
      return err("Internal", `read failed: ${e.message}`);
    }
  }

  /**
   * read() without the disk: the one file range to read for the records from `startOffset`
   * (undefined: none to read yet); hand its bytes to readPlanned. The core's read path
   * (subscriptions): the read leaves the step as an output and its bytes come back as an input.
   */
  planRead(startOffset: Offset, maxOffsetInclusive: Offset, maxBytes: number): Result<ReadPlan | undefined> {
    const range = this.readRange(startOffset, maxOffsetInclusive);
    if (!range.ok) return range;
    const [start, upper] = range.value;
    return ok(start > upper ? undefined : planRead(this.segments, start, upper, maxBytes));
  }

  /** The verified records of a planned read's bytes (CorruptRecord when the first is bad). */
  readPlanned(plan: ReadPlan, bytes: Uint8Array, mode: ReadMode = "decoded"): Result<ReadResult> {
    return finishRead(plan, bytes, plan.segment.index.offsetAt(plan.first), this.crc32c, mode);
  }

  /** [start, upper] to read: from the oldest offset kept, stopping before damaged offsets (a read that starts in them is an error). */
  private readRange(startOffset: Offset, maxOffsetInclusive: Offset): Result<readonly [number, number]> {
    assert(!this.closed, "CommitLog: read after close");
    const start = Math.max(startOffset, this.oldestOffset);
    const upper = Math.min(maxOffsetInclusive, this.newestOffset, nextDamagedFrom(this.damaged, start) - 1);
    const damage = start > upper ? undefined : damagedRangeAt(this.damaged, start);
    if (damage !== undefined) {
      return err("CorruptRecord", `corrupt record: offset ${start} of the log in ${this.dir} is unreadable (offsets ${damage.from} to ${damage.to - 1}: ${damage.reason})`);
    }
    return ok([start, upper]);
  }

  /** The first offset whose record timestamp is >= `timestampNs`, or logEndOffset when none is. */
  offsetForTimestamp(timestampNs: TimestampNs): Offset {
    for (const segment of this.segments) {
      const maxTs = segment.maxTimestampNs;
      if (maxTs !== undefined && maxTs >= timestampNs) return segment.index.offsetAt(segment.index.findTimestamp(timestampNs)) as Offset;
    }
    return this.logEndOffset;
  }

  /**
   * Drops every record at or after `offset` (a follower reconciling with its leader). Later
   * segments are removed newest first, one directory sync each, before the segment holding
   * `offset` is cut, so a crash leaves a contiguous log. Below oldestOffset: OffsetOutOfRange.
   */
  truncateTo(offset: Offset): Result<DiskOp[]> {
    assert(!this.closed, "CommitLog: truncate after close");
    if (!Number.isSafeInteger(offset) || offset < this.oldestOffset) {
      return err("OffsetOutOfRange", `cannot truncate to ${offset}: below the log start ${this.oldestOffset}`);
    }
    if (offset >= this.logEndOffset) return ok([]);
    const ops: DiskOp[] = this.flushIndexOps();
    // A compaction under way, or the memory of the last one, describes records about to go.
    this.compaction?.run.abandon(ops);
    this.compaction = undefined;
    this.compactedAt = undefined;
    const k = segmentFor(this.segments, offset);
    for (const gone of this.segments.splice(k + 1).reverse()) {
      ops.push(...this.forgetOps(gone), { kind: "remove", path: gone.logPath }, { kind: "remove", path: gone.indexPath }, { kind: "syncDir", path: this.dir });
    }
    const segment = this.active;
    const keep = segment.index.findOffset(offset);
    segment.sizeBytes = keep < segment.entries ? segment.index.positionAt(keep) : segment.sizeBytes;
    segment.index.truncateEntries(keep);
    ops.push(
      { kind: "truncate", path: segment.logPath, length: segment.sizeBytes },
      { kind: "fdatasync", path: segment.logPath },
      { kind: "truncate", path: segment.indexPath, length: keep * INDEX_ENTRY_BYTES },
      // Durable: a cut entry that came back after a crash would describe the next record at its offset.
      { kind: "fdatasync", path: segment.indexPath },
    );
    // Compaction may have left a gap below `offset`: a segment based at `offset` records the log end.
    if (this.logEndOffset < offset) ops.push(...this.roll(offset, segment.createdMs));
    if (this.hw >= offset) this.hw = offset - 1;
    this.recoveryPointOffset = Math.min(this.recoveryPointOffset, this.logEndOffset);
    this.damaged = clipDamagedRanges(this.damaged, 0, offset);
    ops.push(...this.leaderEpochCache.clearLatest(offset));
    // A recovery point on disk beyond the new end would make a restart skip these offsets.
    if (this.checkpointedRecoveryPoint > this.recoveryPointOffset) ops.push(...this.recoveryPointCheckpointOps());
    return ok(ops);
  }

  private forgetOps(segment: Segment): DiskOp[] {
    this.unsyncedLogs.delete(segment.logPath);
    this.unsyncedIndexes.delete(segment.indexPath);
    return [
      { kind: "close", path: segment.logPath },
      { kind: "close", path: segment.indexPath },
    ];
  }

  /**
   * Retention (age, then messages, then bytes; whole segments, oldest first, never the active
   * one), then compaction by key if enabled. `wallNs` is the wall clock, for age retention.
   */
  cleanup(_nowMs: TimeMs, wallNs: TimestampNs): CleanupResult {
    assert(!this.closed, "CommitLog: cleanup after close");
    const ops: DiskOp[] = this.flushIndexOps();
    const events: LogEvent[] = [];
    const cut = retainedFrom(this.segments, this.config, wallNs);
    if (cut > 0) {
      // Oldest first, one directory sync each: a crash leaves a contiguous suffix.
      for (const gone of this.segments.splice(0, cut)) {
        ops.push(...this.forgetOps(gone), { kind: "remove", path: gone.logPath }, { kind: "remove", path: gone.indexPath }, { kind: "syncDir", path: this.dir });
      }
      events.push({ level: "info", msg: "retention deleted segments", fields: { dir: this.dir, segments: cut, oldestOffset: this.oldestOffset } });
      ops.push(...this.leaderEpochCache.clearEarliest(this.oldestOffset));
      this.damaged = clipDamagedRanges(this.damaged, this.oldestOffset, Infinity);
    }
    // Compaction rewrites segments: it must not drop damaged durable bytes, so it waits for an operator.
    let more = false;
    if (this.config.compactEnabled && this.hw >= 0 && this.segments.length > 1 && this.damaged.length === 0) {
      more = this.compactStep(ops, events);
    } else {
      this.compaction?.run.abandon(ops);
      this.compaction = undefined;
    }
    return { ops, events, more };
  }

  /** The next bounded step of a compaction under way (nothing when none is); `more` while it is not done. */
  continueCompaction(): CleanupResult {
    assert(!this.closed, "CommitLog: compaction after close");
    const ops: DiskOp[] = [];
    const events: LogEvent[] = [];
    if (this.compaction === undefined) return { ops, events, more: false };
    ops.push(...this.flushIndexOps());
    return { ops, events, more: this.compactStep(ops, events) };
  }

  /**
   * One bounded step of compaction by key (starting one unless nothing changed since the last);
   * true while more steps are needed. A disk read error ends this run (logged), the log intact.
   */
  private compactStep(ops: DiskOp[], events: LogEvent[]): boolean {
    // A roll seals the active segment without moving the high watermark or the log end: the newly
    // sealed segment may now be compacted, so the active segment's base is part of "unchanged".
    const at = `${this.hw}/${this.logEndOffset}/${(this.segments[this.segments.length - 1] as Segment).baseOffset}`;
    if (this.compaction === undefined && at === this.compactedAt) return false;
    const compaction = this.compaction ?? { run: new LogCompaction(this.dir, this.segments, this.hw, this.crc32c), startedAt: at };
    this.compaction = undefined;
    const before = [...this.segments];
    let step: ReturnType<LogCompaction["step"]>;
    try {
      step = compaction.run.step(this.reader, this.segments, ops, this.config.compactionStepBytes);
    } catch (e) {
      if (!(e instanceof DiskError) || this.config.readErrorThrows === true) throw e;
      compaction.run.abandon(ops);
      events.push({ level: "error", msg: "compaction skipped: a segment could not be read", fields: { dir: this.dir, error: e.message } });
      return false;
    }
    // A rewritten segment's index was just written and fdatasync'ed whole.
    for (const s of before) if (!this.segments.includes(s)) this.unsyncedIndexes.delete(s.indexPath);
    if (step.kind === "more") {
      this.compaction = compaction;
      return true;
    }
    if (step.kind === "corrupt") {
      events.push({ level: "error", msg: "compaction skipped: corrupt record", fields: { where: step.where } });
      return false;
    }
    this.compactedAt = compaction.startedAt;
    if (step.removedRecords > 0) events.push({ level: "info", msg: "compacted log", fields: { dir: this.dir, removedRecords: step.removedRecords } });
    return false;
  }

  /** fdatasync ops for every segment written since the last sync (sync policy `interval`). */
  syncOps(): DiskOp[] {
    const ops: DiskOp[] = [...this.flushIndexOps(), ...[...this.unsyncedLogs].map((path) => ({ kind: "fdatasync", path }) as const)];
    this.unsyncedLogs.clear();
    this.recoveryPointOffset = this.logEndOffset;
    ops.push(...this.recoveryPointCheckpointOps());
    return ops;
  }

  /** Flushes everything, checkpoints the high watermark, marks a clean shutdown and releases handles. */
  close(): DiskOp[] {
    assert(!this.closed, "CommitLog: closed twice");
    const ops = this.syncOps();
    this.compaction?.run.abandon(ops);
    this.compaction = undefined;
    for (const path of this.unsyncedIndexes) ops.push({ kind: "fdatasync", path });
    this.unsyncedIndexes.clear();
    ops.push(...this.checkpointHighWatermark());
    for (const s of this.segments) ops.push({ kind: "close", path: s.logPath }, { kind: "close", path: s.indexPath });
    const marker = joinPath(this.dir, CLEAN_SHUTDOWN_FILE);
    ops.push({ kind: "create", path: marker }, { kind: "close", path: marker }, { kind: "syncDir", path: this.dir });
    this.closed = true;
    return ops;
  }

  /** Removes the whole log directory (stream deleted). */
  delete(): DiskOp[] {
    this.pendingIndex = undefined;
    const ops: DiskOp[] = [];
    if (!this.closed) for (const s of this.segments) ops.push(...this.forgetOps(s));
    this.closed = true;
    ops.push({ kind: "removeTree", path: this.dir }, { kind: "syncDir", path: parentDir(this.dir) });
    return ops;
  }
}
