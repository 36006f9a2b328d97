// Which disk ops production runs in libuv's thread pool, so that the simulator completes exactly
// those asynchronously (and the rest at once, as production does on the event loop).
import type { DiskOp } from "../disk.js";

/**
 * Writes at least this large go to the thread pool: a group commit under load is tens of KiB,
 * and the kernel may throttle such a writer (dirty page limits) while NATS keeps sending. A
 * single message's write stays on the event loop, where it costs less than a thread-pool hop.
 */
export const THREAD_POOL_WRITE_MIN_BYTES = 32 * 1024;

/** True for an op production completes asynchronously (fdatasync, and writes of a group commit). */
export function isThreadPoolOp(op: DiskOp): boolean {
  if (op.kind === "fdatasync") return true;
  if (op.kind !== "write") return false;
  let bytes = 0;
  for (const c of op.chunks) bytes += c.length;
  return bytes >= THREAD_POOL_WRITE_MIN_BYTES;
}
