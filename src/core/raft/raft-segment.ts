// One segment of the Raft log: a `%020d.raft` file of contiguous entry frames named by its first
// index, as commit-log segments are named by their base offset (segment.ts). Bookkeeping only.
import { joinPath } from "../disk.js";
import { parseSegmentName, segmentStem } from "../log/segment.js";

/** Suffix of Raft log segment files (their frames are not the commit log's records). */
export const RAFT_SEGMENT_SUFFIX = ".raft";

/** The first index named by a segment file, or undefined for any other name. */
export function parseRaftSegmentName(name: string): number | undefined {
  return parseSegmentName(name, RAFT_SEGMENT_SUFFIX);
}

/** Where a segment's entries are: its file, first index and the byte position of every entry. */
export class RaftSegment {
  readonly path: string;

  constructor(
    dir: string,
    /** Index of the segment's first entry (the next index when it is empty). */
    readonly baseIndex: number,
    /** Byte position of entry baseIndex + i. */
    readonly positions: number[],
    public sizeBytes: number,
  ) {
    this.path = joinPath(dir, segmentStem(baseIndex) + RAFT_SEGMENT_SUFFIX);
  }

  /** Index of the last entry, baseIndex - 1 when empty. */
  get lastIndex(): number {
    return this.baseIndex + this.positions.length - 1;
  }

  /** Forgets the entries from `index` on; returns the byte length that keeps the ones before. */
  cutFrom(index: number): number {
    const keep = index - this.baseIndex;
    this.sizeBytes = keep < this.positions.length ? (this.positions[keep] as number) : this.sizeBytes;
    this.positions.length = Math.min(keep, this.positions.length);
    return this.sizeBytes;
  }
}
