// Checks what the broker serves against what clients were told: every acked message present
// exactly once, at the offset its ack named, acked messages of one publisher in publish order,
// nothing read that no client published, and no holes in a partition's offsets.
import type { PublishHistory } from "./publish-history.js";
import { idOfValue } from "./publish-history.js";

/** One record read back from a partition. */
export interface ReadRecord {
  readonly offset: number;
  readonly value: Uint8Array;
}

/** A partition's records from earliest to latest, or the error its read ended with. */
export type PartitionRead = { readonly records: readonly ReadRecord[] } | { readonly error: string };

/** What the checker found; `ok` only when every anomaly list is empty. */
export interface CheckReport {
  readonly ok: boolean;
  readonly published: number;
  readonly acked: number;
  /** Read back, counting each distinct id once. */
  readonly present: number;
  /** Ids acked but not read back. */
  readonly lost: string[];
  /** Ids read back more than once (no publisher here ever retries, so any repeat is a duplicate). */
  readonly duplicated: string[];
  /** Acked ids read back after a later-sequenced acked id of the same publisher. */
  readonly reordered: string[];
  /** Values read back that no publisher sent. */
  readonly invented: string[];
  /** Acked ids whose ack named an offset that holds something else. */
  readonly misplaced: string[];
  /** "partition: offset a then b" for every hole or step back in a partition's offsets. */
  readonly gaps: string[];
  /** "partition: error" for partitions that could not be read to the end. */
  readonly unreadable: string[];
}

interface Located {
  readonly partition: number;
  readonly offset: number;
}

/** Checks `reads` (partition number -> what was read) against `history`. */
export function checkHistory(history: PublishHistory, reads: ReadonlyMap<number, PartitionRead>): CheckReport {
  const found = new Map<string, Located[]>();
  const invented: string[] = [];
  const gaps: string[] = [];
  const unreadable: string[] = [];
  const atOffset = new Map<string, string>();
  for (const [partition, read] of reads) {
    if ("error" in read) {
      unreadable.push(`${partition}: ${read.error}`);
      continue;
    }
    let previous: number | undefined;
    for (const record of read.records) {
      if (previous !== undefined && record.offset !== previous + 1) gaps.push(`${partition}: offset ${previous} then ${record.offset}`);
      previous = record.offset;
      const id = idOfValue(record.value);
      if (id === undefined || history.get(id) === undefined) {
        invented.push(`${partition}@${record.offset}: ${Buffer.from(record.value).toString("utf8", 0, 60)}`);
        continue;
      }
      atOffset.set(`${partition}@${record.offset}`, id);
      const where = found.get(id) ?? [];
      where.push({ partition, offset: record.offset });
      found.set(id, where);
    }
  }
  const ops = history.ops();
  const acked = ops.filter((op) => op.outcome === "acked");
  const lost = acked.filter((op) => !found.has(op.id)).map((op) => op.id);
  const duplicated = [...found].filter(([, where]) => where.length > 1).map(([id]) => id);
  const misplaced = acked
    .filter((op) => found.has(op.id) && atOffset.get(`${op.partition}@${op.ackOffset}`) !== op.id)
    .map((op) => op.id);
  const reordered = reorderedIds(acked, found);
  const anomalies = lost.length + duplicated.length + reordered.length + invented.length + misplaced.length + gaps.length + unreadable.length;
  return {
    ok: anomalies === 0, published: ops.length, acked: acked.length, present: found.size,
    lost, duplicated, reordered, invented, misplaced, gaps, unreadable,
  };
}

/** Acked ops of each publisher, in sequence order, must sit at increasing positions. */
function reorderedIds(acked: readonly { publisher: string; seq: number; id: string }[], found: ReadonlyMap<string, Located[]>): string[] {
  const byPublisher = new Map<string, { seq: number; id: string }[]>();
  for (const op of acked) {
    const list = byPublisher.get(op.publisher) ?? [];
    list.push(op);
    byPublisher.set(op.publisher, list);
  }
  const out: string[] = [];
  for (const list of byPublisher.values()) {
    list.sort((a, b) => a.seq - b.seq);
    let last: Located | undefined;
    for (const op of list) {
      const at = found.get(op.id)?.[0];
      if (at === undefined) continue; // lost, reported as such
      if (last !== undefined && (at.partition !== last.partition || at.offset <= last.offset)) out.push(op.id);
      last = at;
    }
  }
  return out;
}

/** One line of counts for logs and reports. */
export function summarize(report: CheckReport): string {
  return `published ${report.published}, acked ${report.acked}, present ${report.present}, lost ${report.lost.length}, ` +
    `duplicated ${report.duplicated.length}, reordered ${report.reordered.length}, invented ${report.invented.length}, ` +
    `misplaced ${report.misplaced.length}, gaps ${report.gaps.length}, unreadable ${report.unreadable.length}`;
}
