/** Thrown when a programmer error is detected; never caught in the core, a failed seed in the simulator. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Crashes with `message` unless `condition` holds (programmer errors only, never bad input). */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks a switch as exhaustive: the compiler rejects a missing case, the runtime crashes on one. */
export function assertNever(value: never, what = "value"): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}

/** Asserts `n` is a safe integer within [min, max] and returns it. */
export function assertInt(n: number, what: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  // Checked before any message is built: this runs on hot paths (every branded offset).
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  assert(Number.isSafeInteger(n), `${what} must be a safe integer, got ${n}`);
  assert(n >= min, `${what} must be >= ${min}, got ${n}`);
  throw new AssertionError(`${what} must be <= ${max}, got ${n}`);
}
