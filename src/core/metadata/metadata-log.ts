// The local, durable log of metadata ops: one record per op, [u32 length][u32 CRC-32C][JSON],
// big-endian. Every append is fdatasynced before anything that depends on it is released (the
// broker answers CreateStream from replyAfterPersist). The next step replaces this file with a
// Raft log; the records, indexes and replay stay the same.
import { crc32c, type Crc32c } from "../crc32c.js";
import { joinPath, parentDir, readWholeFile, type DiskOp, type DiskReader } from "../disk.js";
import { decodeFrames, encodeFrame, tornTail, type FrameFormat } from "../crc-frames.js";
import type { LogEvent } from "../outputs.js";
import type { MetadataOp } from "./metadata-op.js";

const OPEN_BRACE = 0x7b;

/** Records are crc-frames.ts frames of at most 16 MiB; every payload is a JSON object. */
const METADATA_FRAMES: FrameFormat = {
  name: "metadata log",
  maxPayloadBytes: 16 * 1024 * 1024,
  mayStartAt: (bytes, at) => bytes[at] === OPEN_BRACE,
};

/** One op with the log index it was applied at (1-based). */
export interface IndexedOp {
  readonly index: number;
  readonly op: MetadataOp;
}

/**
 * What the file looked like. A torn tail is the last append, cut short by a crash before its
 * fdatasync (nothing was answered for it), and is cut; damage followed by anything that could be
 * a later entry is corruption of fsynced entries, which open() never cuts (see isTornTail).
 */
export type MetadataLogCondition =
  | { readonly kind: "missing" }
  | { readonly kind: "intact" }
  | { readonly kind: "tornTail" | "corrupt"; readonly validBytes: number; readonly totalBytes: number; readonly problem: string };

/** The result of opening the metadata log: the ops to replay and the disk work recovery needs. */
export interface OpenedMetadataLog {
  readonly log: MetadataLog;
  /** The intact entries (for a corrupt file: those before the damage). */
  readonly entries: readonly IndexedOp[];
  /** Disk work: create a missing file, cut a torn tail; nothing for a corrupt file (the caller decides). */
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
  readonly condition: MetadataLogCondition;
  /** The whole file as read (empty when missing), so a corrupt one can be kept aside before it is cut. */
  readonly bytes: Uint8Array;
}

/** An append-only file of metadata ops with crash recovery. */
export class MetadataLog {
  /** Records appended since the last confirmed persist: rewritten if a persist fails. */
  private unconfirmed: Array<{ readonly position: number; readonly record: Uint8Array }> = [];
  /** A persist failed (disk full) since the last confirm: appends rewrite the unconfirmed records first. */
  private rewriteFirst = false;
  /** Index of the last record known durable: ops up to it are committed (Raft's commit index, later). */
  private confirmedIndex: number;

  private constructor(
    readonly path: string,
    private sizeBytes: number,
    private lastIndex: number,
    private readonly crc: Crc32c,
  ) {
    this.confirmedIndex = lastIndex;
  }

  /**
   * Opens (or creates) the log in `dir`, cutting a torn tail. A corrupt file is reported, not
   * changed: the returned log continues after its intact prefix, and only the caller may cut it
   * (after keeping a copy) or refuse to start.
   */
  static open(reader: DiskReader, dir: string, crc: Crc32c = crc32c): OpenedMetadataLog {
    const path = joinPath(dir, "metadata.log");
    const stat = reader.stat(path);
    if (stat === undefined) {
      const ops: DiskOp[] = [
        { kind: "mkdir", path: dir },
        { kind: "create", path },
        { kind: "fdatasync", path },
        { kind: "syncDir", path: dir },
      ];
      if (parentDir(dir) !== dir) ops.push({ kind: "syncDir", path: parentDir(dir) });
      return { log: new MetadataLog(path, 0, 0, crc), entries: [], ops, events: [], condition: { kind: "missing" }, bytes: new Uint8Array(0) };
    }
    const bytes = readWholeFile(reader, path, stat.size);
    const { items, validBytes, problem } = decodeFrames(METADATA_FRAMES, bytes, parseOp, crc);
    const entries = items.map((op, i): IndexedOp => ({ index: i + 1, op }));
    const log = new MetadataLog(path, validBytes, entries.length, crc);
    if (problem === undefined) return { log, entries, ops: [], events: [], condition: { kind: "intact" }, bytes };
    const damage = { validBytes, totalBytes: bytes.length, problem };
    if (problem !== "undecodable record" && isTornTail(bytes, validBytes, crc)) {
      const events: LogEvent[] = [{ level: "warn", msg: "metadata log has a torn tail (an unfinished last append); cutting it", fields: { path, ...damage } }];
      const ops: DiskOp[] = [{ kind: "truncate", path, length: validBytes }, { kind: "fdatasync", path }];
      return { log, entries, ops, events, condition: { kind: "tornTail", ...damage }, bytes };
    }
    return { log, entries, ops: [], events: [], condition: { kind: "corrupt", ...damage }, bytes };
  }

  /** Index of the last op known durable (committed): what a broker may apply. */
  get durableIndex(): number {
    return this.confirmedIndex;
  }

  /** Index the next appended op will get. */
  get nextIndex(): number {
    return this.lastIndex + 1;
  }

  /** Appends an op; the returned ops write and fdatasync it. */
  append(op: MetadataOp): { index: number; ops: DiskOp[] } {
    const record = encodeRecord(op, this.crc);
    // Never leave a hole before the new record: a hole would end the log at recovery.
    const rewrites: DiskOp[] = this.rewriteFirst ? this.unconfirmed.map((u) => ({ kind: "write", path: this.path, position: u.position, chunks: [u.record] })) : [];
    const ops: DiskOp[] = [
      ...rewrites,
      { kind: "write", path: this.path, position: this.sizeBytes, chunks: [record] },
      { kind: "fdatasync", path: this.path },
    ];
    this.unconfirmed.push({ position: this.sizeBytes, record });
    this.sizeBytes += record.length;
    this.lastIndex += 1;
    return { index: this.lastIndex, ops };
  }

  /** Everything appended so far is durable (a persist that carried it succeeded). */
  confirm(): void {
    this.confirmedIndex = this.lastIndex;
    this.unconfirmed = [];
    this.rewriteFirst = false;
  }

  /** A persist failed with the disk full: unconfirmed records may be missing or torn on disk. */
  persistFailed(): void {
    if (this.unconfirmed.length > 0) this.rewriteFirst = true;
  }

  /**
   * A persist failed: the kernel may have dropped the unconfirmed records even though reads see
   * them, and the directory entries may not be durable. Writing them again and syncing makes them
   * durable (or fails again, and this runs again).
   */
  rewriteUnconfirmed(): DiskOp[] {
    const dir = parentDir(this.path);
    const ops: DiskOp[] = this.unconfirmed.map((u) => ({ kind: "write", path: this.path, position: u.position, chunks: [u.record] }));
    ops.push({ kind: "fdatasync", path: this.path }, { kind: "syncDir", path: dir });
    if (dir !== "") ops.push({ kind: "syncDir", path: parentDir(dir) });
    return ops;
  }
}

/** Encodes one op as a record. */
export function encodeRecord(op: MetadataOp, crc: Crc32c = crc32c): Uint8Array {
  return encodeFrame(METADATA_FRAMES, new TextEncoder().encode(JSON.stringify(op)), crc);
}

/**
 * Whether the bytes from `pos` (where decoding stopped) can be one unfinished append and nothing
 * else (crc-frames.ts tornTail): anything else (a bad record followed by more bytes) is corruption.
 */
export function isTornTail(bytes: Uint8Array, pos: number, crc: Crc32c = crc32c): boolean {
  return tornTail(METADATA_FRAMES, bytes, pos, parseOp, crc);
}

function parseOp(payload: Uint8Array): MetadataOp | undefined {
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload)) as unknown;
    if (typeof value !== "object" || value === null || !("op" in value) || typeof value.op !== "string") return undefined;
    return value as MetadataOp;
  } catch {
    return undefined;
  }
}

