// A segment's OffsetIndex: one entry per record (dense, as Liftbridge's is), kept in memory as
// typed arrays and mirrored on disk as 20-byte entries (spec §6.4):
//   relOffset i32 (offset - baseOffset) | timestamp i64 | position i32 | size i32 (28 + message)
// In memory the timestamp column holds the running maximum, so "first record with timestamp >=
// ts" is a binary search even when wall clocks stepped backwards between leaders.
import { assert } from "../assert.js";
import { RECORD_HEADER_BYTES, MESSAGE_FIXED_BYTES } from "./record-codec.js";

/** Bytes per on-disk index entry. */
export const INDEX_ENTRY_BYTES = 20;

/** Writes one on-disk index entry at `pos`. */
export function writeIndexEntry(view: DataView, pos: number, relOffset: number, timestampNs: bigint, position: number, recordBytes: number): void {
  view.setInt32(pos, relOffset);
  view.setBigInt64(pos + 4, timestampNs);
  view.setInt32(pos + 12, position);
  view.setInt32(pos + 16, recordBytes);
}

/** The in-memory index of one segment. */
export class OffsetIndex {
  private relOffsets = new Int32Array(64);
  private positions = new Int32Array(64);
  private maxTimestamps = new BigInt64Array(64);
  private count = 0;

  constructor(readonly baseOffset: number) {}

  /** Number of records indexed. */
  get entries(): number {
    return this.count;
  }

  /** Adds the next record; offsets must increase and fit the relative int32 field. */
  append(offset: number, position: number, timestampNs: bigint): void {
    const rel = offset - this.baseOffset;
    assert(rel >= 0 && rel <= 0x7fffffff, `OffsetIndex: offset ${offset} outside segment ${this.baseOffset}`);
    assert(this.count === 0 || rel > (this.relOffsets[this.count - 1] as number), "OffsetIndex: offsets must increase");
    if (this.count === this.relOffsets.length) this.grow();
    const prevMax = this.count === 0 ? timestampNs : (this.maxTimestamps[this.count - 1] as bigint);
    this.relOffsets[this.count] = rel;
    this.positions[this.count] = position;
    this.maxTimestamps[this.count] = timestampNs > prevMax ? timestampNs : prevMax;
    this.count++;
  }

  private grow(): void {
    const n = this.relOffsets.length * 2;
    const rel = new Int32Array(n);
    rel.set(this.relOffsets);
    const pos = new Int32Array(n);
    pos.set(this.positions);
    const ts = new BigInt64Array(n);
    ts.set(this.maxTimestamps);
    this.relOffsets = rel;
    this.positions = pos;
    this.maxTimestamps = ts;
  }

  /** Absolute offset of entry `i`. */
  offsetAt(i: number): number {
    return this.baseOffset + (this.relOffsets[i] as number);
  }

  /** Byte position of entry `i` in the segment's log file. */
  positionAt(i: number): number {
    return this.positions[i] as number;
  }

  /** Largest timestamp among entries 0..i. */
  maxTimestampAt(i: number): bigint {
    return this.maxTimestamps[i] as bigint;
  }

  /** Offset of the last entry, or -1 when empty. */
  lastOffset(): number {
    return this.count === 0 ? -1 : this.offsetAt(this.count - 1);
  }

  /** Index of the first entry with offset >= `offset` (entries when none). */
  findOffset(offset: number): number {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.relOffsets[mid] as number) < rel) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry whose timestamp is >= `timestampNs` (entries when none). */
  findTimestamp(timestampNs: bigint): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.maxTimestamps[mid] as bigint) < timestampNs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Keeps only the first `entries` entries. */
  truncateEntries(entries: number): void {
    assert(entries >= 0 && entries <= this.count, "OffsetIndex: truncate beyond its end");
    this.count = entries;
  }
}

/** The consistent leading entries of an on-disk index: dense positions from 0, increasing offsets, sane sizes. */
export interface IndexPrefix {
  readonly index: OffsetIndex;
  /** Where the last entry's record ends in the log file. */
  readonly endPosition: number;
  /** Whether every entry of the file was consistent. */
  readonly whole: boolean;
}

/**
 * Parses the leading entries of an on-disk index that are consistent with each other and with a log
 * file of `logBytes` bytes, stopping at the first entry that is not or whose offset is >= `belowOffset`.
 */
export function parseIndexPrefix(bytes: Uint8Array, baseOffset: number, logBytes: number, belowOffset = Infinity): IndexPrefix {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const index = new OffsetIndex(baseOffset);
  let expectedPosition = 0;
  let prevRel = -1;
  const whole = bytes.length - (bytes.length % INDEX_ENTRY_BYTES);
  for (let p = 0; p < whole; p += INDEX_ENTRY_BYTES) {
    const rel = view.getInt32(p);
    const position = view.getInt32(p + 12);
    const size = view.getInt32(p + 16);
    if (rel <= prevRel || position !== expectedPosition || size < RECORD_HEADER_BYTES + MESSAGE_FIXED_BYTES || position + size > logBytes || baseOffset + rel >= belowOffset) {
      return { index, endPosition: expectedPosition, whole: false };
    }
    index.append(baseOffset + rel, position, view.getBigInt64(p + 4));
    prevRel = rel;
    expectedPosition = position + size;
  }
  return { index, endPosition: expectedPosition, whole: whole === bytes.length };
}

/**
 * Parses an on-disk index and checks it against its log file (dense positions from 0, increasing
 * offsets, sane sizes, covering exactly `logBytes`); undefined when it cannot be trusted.
 */
export function parseIndexFile(bytes: Uint8Array, baseOffset: number, logBytes: number): OffsetIndex | undefined {
  const prefix = parseIndexPrefix(bytes, baseOffset, logBytes);
  return prefix.whole && prefix.endPosition === logBytes ? prefix.index : undefined;
}
