// Subscriptions: where a Subscribe starts and stops (spec §1 start/stop positions), and handing
// committed records to the subscriber one bounded chunk at a time. A subscription only gets a new
// chunk after its shell says the previous one was written (flow control), so a catch-up read of a
// million records never buffers without bound. A chunk is read from disk outside the step: the
// pump plans the read, it leaves as an output, and its bytes come back as an input (deliverRead).
import { err, ok, type OperatingError, type Result } from "../errors.js";
import type { CommitLog } from "../log/commit-log.js";
import { offset, timestampNs, type Offset } from "../types.js";
import type { StoredRecords } from "../log/stored-records.js";
import type { ReadPlan } from "../log/log-reader.js";
import type { SubscribeRequest } from "./api-types.js";

/** A live subscription to one partition. */
export interface Subscription {
  readonly id: number;
  readonly stream: string;
  readonly partition: number;
  /** partitionKey(stream, partition), computed once: the pump looks it up for every subscription each step. */
  readonly key: string;
  nextOffset: Offset;
  /** Inclusive last offset to deliver, or undefined to run until cancelled. */
  readonly stopOffset: Offset | undefined;
  /** True when the shell can take another chunk. */
  ready: boolean;
  /** How many bytes the shell can take in that chunk (undefined: the configured batch size). */
  readyBytes: number | undefined;
  /** The read in flight for the next chunk (its token, what it reads, and the log it planned on). */
  reading: { readonly token: number; readonly plan: ReadPlan; readonly log: CommitLog } | undefined;
}

/**
 * Computes the first offset a Subscribe starts at, and its inclusive stop offset if any. On a
 * readonly partition, STOP_ON_CANCEL ends at the newest offset (Liftbridge), so a subscription
 * starting past it is refused up front.
 */
export function resolvePositions(request: SubscribeRequest, log: CommitLog, readonly = false): Result<{ start: Offset; stop: Offset | undefined }> {
  const start = resolveStart(request, log);
  if (!start.ok) return start;
  if (request.stopPosition === "STOP_OFFSET" && request.stopOffset < -1) return stopBeforeStart(request.stopOffset, start.value);
  const stop = resolveStop(request, log);
  if (!stop.ok) return stop;
  const readonlyEnd = readonly && request.stopPosition === "STOP_ON_CANCEL" && log.newestOffset >= 0 ? log.newestOffset : undefined;
  const last = stop.value ?? readonlyEnd;
  if (last !== undefined && last < start.value) {
    return stopBeforeStart(last, start.value);
  }
  return ok({ start: start.value, stop: stop.value });
}

/** Liftbridge's refusal of a subscription that would stop before it starts. */
function stopBeforeStart(stop: number, start: number): Result<never> {
  return err("InvalidArgument", `Stop offset is before start offset: ${stop} < ${start}`);
}

function resolveStart(request: SubscribeRequest, log: CommitLog): Result<Offset> {
  switch (request.startPosition) {
    case "NEW_ONLY":
      return ok(log.logEndOffset);
    case "OFFSET": {
      if (!Number.isSafeInteger(request.startOffset)) return err("InvalidArgument", `startOffset ${request.startOffset} is not a valid offset`);
      return ok(offset(Math.max(request.startOffset, log.oldestOffset, 0)));
    }
    case "EARLIEST":
      return ok(log.oldestOffset);
    case "LATEST":
      return ok(offset(Math.max(log.newestOffset, log.oldestOffset, 0)));
    case "TIMESTAMP":
      return ok(offset(Math.max(log.offsetForTimestamp(timestampNs(request.startTimestampNs)), 0)));
    default:
      return err("InvalidArgument", `unknown start position ${String(request.startPosition)}`);
  }
}

function resolveStop(request: SubscribeRequest, log: CommitLog): Result<Offset | undefined> {
  switch (request.stopPosition) {
    case "STOP_ON_CANCEL":
      return ok(undefined);
    case "STOP_OFFSET":
      if (!Number.isSafeInteger(request.stopOffset)) return err("InvalidArgument", `stopOffset ${request.stopOffset} is not a valid offset`);
      // Liftbridge: -1 is its "wait for new messages" value; other negatives fail the stop < start check.
      if (request.stopOffset === -1) return ok(undefined);
      return ok(offset(request.stopOffset));
    case "STOP_LATEST":
      if (log.newestOffset < log.oldestOffset) return err("StreamEmpty", "Stream is empty");
      return ok(log.newestOffset);
    case "STOP_TIMESTAMP": {
      // The last offset whose timestamp is <= stopTimestamp: one before the first one after it.
      const after = log.offsetForTimestamp(timestampNs(request.stopTimestampNs + 1n));
      return ok(offset(Math.max(after - 1, -1)));
    }
    default:
      return err("InvalidArgument", `unknown stop position ${String(request.stopPosition)}`);
  }
}

/** The outcome of pumping one subscription. */
export type PumpResult =
  | { readonly kind: "idle" }
  | { readonly kind: "read"; readonly plan: ReadPlan }
  | { readonly kind: "records"; readonly records: StoredRecords; readonly end?: OperatingError }
  | { readonly kind: "end"; readonly error: OperatingError };

/**
 * Plans a ready subscription's next chunk of committed records (at most `maxBytes`; its bytes go to
 * deliverRead), or says it has reached its stop offset or the end of a readonly partition.
 */
export function pumpSubscription(sub: Subscription, log: CommitLog, readonly: boolean, maxBytes: number): PumpResult {
  if (sub.stopOffset !== undefined && sub.nextOffset > sub.stopOffset) return { kind: "end", error: stopReached() };
  const hw = log.highWatermark;
  if (sub.nextOffset > hw) {
    if (readonly && log.newestOffset === hw) return { kind: "end", error: readonlyEnd() };
    return { kind: "idle" };
  }
  if (!sub.ready || sub.reading !== undefined) return { kind: "idle" };
  // Compaction and retention may have removed offsets: start at the oldest still kept.
  if (sub.nextOffset < log.oldestOffset) sub.nextOffset = log.oldestOffset;
  const last = sub.stopOffset === undefined ? hw : offset(Math.min(hw, sub.stopOffset));
  const plan = log.planRead(sub.nextOffset, last, maxBytes);
  if (!plan.ok) return { kind: "end", error: readFailed(plan.error.message) };
  return plan.value === undefined ? { kind: "idle" } : { kind: "read", plan: plan.value };
}

/** A planned read's bytes came back: hands the records on (and says when the subscription ends with them). */
export function deliverRead(sub: Subscription, log: CommitLog, readonly: boolean, plan: ReadPlan, bytes: Uint8Array): PumpResult {
  const read = log.readPlanned(plan, bytes, "stored");
  if (!read.ok) return { kind: "end", error: readFailed(read.error.message) };
  const hw = log.highWatermark;
  if (read.value.count === 0) return { kind: "idle" };
  sub.nextOffset = read.value.nextOffset;
  sub.ready = false;
  const records: StoredRecords = { bytes: read.value.bytes, count: read.value.count };
  if (sub.stopOffset !== undefined && sub.nextOffset > sub.stopOffset) return { kind: "records", records, end: stopReached() };
  if (readonly && sub.nextOffset > hw && log.newestOffset === hw) return { kind: "records", records, end: readonlyEnd() };
  return { kind: "records", records };
}

/** How a subscription ends when its next chunk cannot be read (the disk refused, or a corrupt record). */
export function readFailed(reason: string): OperatingError {
  return { code: "Internal", message: `read failed: ${reason}` };
}

function readonlyEnd(): OperatingError {
  return { code: "EndOfReadonlyPartition", message: "End of readonly partition" };
}

function stopReached(): OperatingError {
  return { code: "StopOffsetReached", message: "Stop offset reached" };
}
