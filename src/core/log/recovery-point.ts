// The recovery point checkpoint (Kafka's recovery-point-offset-checkpoint, one per partition
// directory here): the first offset not known durable. Recovery after an unclean stop scans only
// the log from there on; everything below it was fdatasync'ed and is never cut.
import type { DiskOp, DiskReader } from "../disk.js";
import { joinPath } from "../disk.js";
import type { LogEvent } from "../outputs.js";
import { atomicWriteOps, readTextFile, textBytes } from "./checkpoint-file.js";

/** File holding the recovery point as ASCII decimal. */
export const RECOVERY_POINT_FILE = "recovery-point-offset-checkpoint";

/** The checkpointed recovery point of the log in `dir`, or undefined when missing or unreadable (with a warning). */
export function loadRecoveryPoint(reader: DiskReader, dir: string, events: LogEvent[]): number | undefined {
  const path = joinPath(dir, RECOVERY_POINT_FILE);
  const text = readTextFile(reader, path);
  if (text === undefined) {
    if (reader.stat(path) !== undefined) events.push({ level: "warn", msg: "ignoring unreadable recovery point checkpoint; scanning the whole log", fields: { path } });
    return undefined;
  }
  const trimmed = text.trim();
  if (/^[0-9]{1,16}$/.test(trimmed) && Number.isSafeInteger(Number(trimmed))) return Number(trimmed);
  events.push({ level: "warn", msg: "ignoring unreadable recovery point checkpoint; scanning the whole log", fields: { path } });
  return undefined;
}

/**
 * The ops that write `offset` as the recovery point of the log in `dir`; `durable` syncs the
 * directory too (a lowered recovery point must be: a lagging one only makes recovery scan more).
 * A raised one is safe to write before the fdatasyncs that justify it complete only because it
 * rides the partition's lane behind them (docs/decisions.md, "The simulator": the loss once
 * blamed on this, broker seed 26, was most likely a stale offset index).
 */
export function recoveryPointOps(dir: string, offset: number, durable: boolean): DiskOp[] {
  return atomicWriteOps(joinPath(dir, RECOVERY_POINT_FILE), textBytes(String(offset)), durable);
}
