// The LeaderEpochCache (Kafka KIP-101): the start offset of every leader epoch in this log, so a
// follower can ask "where did your epoch e end?" and truncate exactly to the divergence point.
// Persisted as `leader-epoch-checkpoint`: "0\n<count>\n<epoch> <startOffset>\n..." (spec §6.1).
import type { DiskOp } from "../disk.js";
import type { Epoch, Offset } from "../types.js";
import { atomicWriteOps, textBytes } from "./checkpoint-file.js";

/** One (epoch, startOffset) pair. */
export interface EpochEntry {
  readonly epoch: Epoch;
  readonly startOffset: Offset;
}

/** Answer to endOffsetForEpoch: the largest known epoch <= the requested one (-1 if none) and where it ends. */
export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: Offset;
}

/** Parses a leader-epoch checkpoint, or undefined when the text is not a valid one. */
export function parseEpochCheckpoint(text: string): EpochEntry[] | undefined {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines[0] !== "0" || lines.length < 2 || !/^[0-9]+$/.test(lines[1] ?? "")) return undefined;
  const count = Number(lines[1]);
  if (lines.length !== count + 2) return undefined;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const m = /^([0-9]{1,16}) ([0-9]{1,16})$/.exec(line);
    if (m === null) return undefined;
    const e = Number(m[1]);
    const o = Number(m[2]);
    const prev = entries[entries.length - 1];
    if (!Number.isSafeInteger(e) || !Number.isSafeInteger(o)) return undefined;
    if (prev !== undefined && (e <= prev.epoch || o < prev.startOffset)) return undefined;
    entries.push({ epoch: e as Epoch, startOffset: o as Offset });
  }
  return entries;
}

/** The leader epochs of one log, oldest first, with their checkpoint file. */
export class LeaderEpochCache {
  private list: EpochEntry[];

  constructor(
    readonly checkpointPath: string,
    entries: readonly EpochEntry[],
    private readonly logEndOffset: () => number,
  ) {
    this.list = [...entries];
  }

  /** The cached entries, oldest first. */
  get entries(): readonly EpochEntry[] {
    return this.list;
  }

  /** The newest epoch, or -1 when none is known. */
  get latestEpoch(): number {
    return this.list[this.list.length - 1]?.epoch ?? -1;
  }

  /**
   * Records that `epoch` starts at `startOffset`. Ignored (no ops) unless the epoch is newer than
   * the latest and the offset is not below the latest start, as in Liftbridge.
   */
  assign(epoch: Epoch, startOffset: Offset): DiskOp[] {
    const last = this.list[this.list.length - 1];
    if (last !== undefined && (epoch <= last.epoch || startOffset < last.startOffset)) return [];
    this.list.push({ epoch, startOffset });
    return this.checkpointOps();
  }

  /**
   * KIP-101: the start offset of the first epoch greater than `epoch` (the exclusive end of
   * `epoch`), or logEndOffset when there is none; plus the largest known epoch <= `epoch`.
   */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    let floor = -1;
    for (const entry of this.list) {
      if (entry.epoch > epoch) return { epoch: floor, endOffset: entry.startOffset };
      floor = entry.epoch;
    }
    return { epoch: floor, endOffset: this.logEndOffset() as Offset };
  }

  /** The epoch of the record at `offset` (the entry with the largest start <= offset), or -1. */
  epochAt(offset: number): number {
    let found = -1;
    for (const entry of this.list) {
      if (entry.startOffset > offset) break;
      found = entry.epoch;
    }
    return found;
  }

  /** Drops entries starting at or after `offset` (after truncateTo(offset)). */
  clearLatest(offset: number): DiskOp[] {
    const kept = this.list.filter((e) => e.startOffset < offset);
    if (kept.length === this.list.length) return [];
    this.list = kept;
    return this.checkpointOps();
  }

  /** Drops entries wholly below `offset`, moving the one that spans it to start there (retention). */
  clearEarliest(offset: number): DiskOp[] {
    let firstKept = 0;
    while (firstKept + 1 < this.list.length && (this.list[firstKept + 1] as EpochEntry).startOffset <= offset) firstKept++;
    const spanning = this.list[firstKept];
    if (spanning === undefined || (firstKept === 0 && spanning.startOffset >= offset)) return [];
    const start = Math.max(spanning.startOffset, offset) as Offset;
    this.list = [{ epoch: spanning.epoch, startOffset: start }, ...this.list.slice(firstKept + 1)];
    return this.checkpointOps();
  }

  /** The ops that durably write the current entries to the checkpoint file. */
  checkpointOps(): DiskOp[] {
    const body = this.list.map((e) => `${e.epoch} ${e.startOffset}\n`).join("");
    return atomicWriteOps(this.checkpointPath, textBytes(`0\n${this.list.length}\n${body}`));
  }
}
