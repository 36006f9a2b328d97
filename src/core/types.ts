// Branded numeric kinds, so an offset is never passed where a time or an epoch is expected.
import { assertInt } from "./assert.js";

declare const brand: unique symbol;
/** A `T` that the type checker keeps apart from other `T`s with a different brand `B`. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Monotonic milliseconds, for timers and deadlines only (never stored in records). */
export type TimeMs = Brand<number, "TimeMs">;
/** Wall-clock nanoseconds since the Unix epoch, as stored in records (beyond 2^53, so a bigint). */
export type TimestampNs = Brand<bigint, "TimestampNs">;
/** A position in a partition's log; -1 means "before the first record". */
export type Offset = Brand<number, "Offset">;
/** A leader epoch (the metadata log index that made the leader). */
export type Epoch = Brand<number, "Epoch">;
/** A broker's server id. */
export type NodeId = Brand<string, "NodeId">;

/** Brands a monotonic millisecond count. */
export function timeMs(n: number): TimeMs {
  return assertInt(n, "TimeMs", 0) as TimeMs;
}

/** Brands a wall-clock nanosecond timestamp. */
export function timestampNs(n: bigint): TimestampNs {
  return n as TimestampNs;
}

/** Brands an offset (>= -1). */
export function offset(n: number): Offset {
  return assertInt(n, "Offset", -1) as Offset;
}

/** Brands a leader epoch (>= 0). */
export function epoch(n: number): Epoch {
  return assertInt(n, "Epoch", 0) as Epoch;
}

/** Brands a node id (non-empty). */
export function nodeId(s: string): NodeId {
  assertInt(s.length, "NodeId length", 1);
  return s as NodeId;
}
