// One Segment: a `%020d.log` file of contiguous records and its `%020d.index`, named by the
// segment's baseOffset (spec §6.1). The Segment object is bookkeeping only; it never does IO.
import { joinPath } from "../disk.js";
import { OffsetIndex } from "./offset-index.js";

/** Suffix of segment data files. */
export const LOG_SUFFIX = ".log";
/** Suffix of segment index files. */
export const INDEX_SUFFIX = ".index";

/** The 20-digit zero-padded file stem for a base offset. */
export function segmentStem(baseOffset: number): string {
  return String(baseOffset).padStart(20, "0");
}

/** The base offset named by a segment file (`00000000000000000042.log` -> 42), or undefined. */
export function parseSegmentName(name: string, suffix: string): number | undefined {
  if (!name.endsWith(suffix)) return undefined;
  const stem = name.slice(0, name.length - suffix.length);
  if (!/^[0-9]{20}$/.test(stem)) return undefined;
  const n = Number(stem);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A segment's in-memory state: where its files are, how big it is, and its index. */
export class Segment {
  readonly logPath: string;
  readonly indexPath: string;

  constructor(
    dir: string,
    readonly baseOffset: number,
    public index: OffsetIndex,
    public sizeBytes: number,
    /** Monotonic time the segment was created or loaded, for segment.max.age. */
    readonly createdMs: number,
  ) {
    this.logPath = joinPath(dir, segmentStem(baseOffset) + LOG_SUFFIX);
    this.indexPath = joinPath(dir, segmentStem(baseOffset) + INDEX_SUFFIX);
  }

  /** A new, empty segment starting at `baseOffset`. */
  static empty(dir: string, baseOffset: number, nowMs: number): Segment {
    return new Segment(dir, baseOffset, new OffsetIndex(baseOffset), 0, nowMs);
  }

  /** Number of records in the segment. */
  get entries(): number {
    return this.index.entries;
  }

  /** The offset the next record appended here would get. */
  get nextOffset(): number {
    const last = this.index.lastOffset();
    return last < 0 ? this.baseOffset : last + 1;
  }

  /** Largest record timestamp in the segment, or undefined when empty. */
  get maxTimestampNs(): bigint | undefined {
    return this.index.entries === 0 ? undefined : this.index.maxTimestampAt(this.index.entries - 1);
  }

  /** Byte length of record `i` (records are contiguous, so it ends where the next begins). */
  recordBytesAt(i: number): number {
    const end = i + 1 < this.index.entries ? this.index.positionAt(i + 1) : this.sizeBytes;
    return end - this.index.positionAt(i);
  }
}
