// The memory every Subscribe call of one server may hold in chunks written but not yet taken by
// their HTTP/2 streams (`grpc.subscribers.max.buffered.bytes`). Each call also has its own cap;
// this one bounds the sum, so thousands of subscribers that stop reading cannot take the broker's
// memory. A call is granted at most its fair share of what is free (free / calls), so a herd of
// catch-up readers starting at once cannot all be granted the whole pool; one that finds nothing
// to take waits, first come first served, until memory returns.

/** The smallest grant worth a read: smaller shares wait rather than churn one record at a time. */
export const MIN_GRANT_BYTES = 32 * 1024;

/** A call waiting for pool memory. */
export interface PoolWaiter {
  /** The pool has memory again: ask for it. */
  poolReady(): void;
}

/** Bytes shared by all Subscribe calls of a server. */
export class SubscriberBufferPool {
  private used = 0;
  private calls = 0;
  private readonly waiters = new Set<PoolWaiter>();

  constructor(readonly capacity: number) {}

  /** Bytes not held by any call (never negative; a call may overshoot by one record). */
  get free(): number {
    return Math.max(0, this.capacity - this.used);
  }

  /** Bytes held by all calls. */
  get held(): number {
    return this.used;
  }

  /** Counts a new call. */
  join(): void {
    this.calls++;
  }

  /** The most one call may be granted now: its share of the free memory. */
  get fairShare(): number {
    return Math.floor(this.free / Math.max(1, this.calls));
  }

  /** Records that a call now holds `bytes` more. */
  take(bytes: number): void {
    this.used += bytes;
  }

  /** Records that a call released `bytes`, and wakes waiters while memory lasts. */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    for (const waiter of this.waiters) {
      if (this.fairShare < MIN_GRANT_BYTES) break;
      this.waiters.delete(waiter);
      waiter.poolReady();
    }
  }

  /** Queues `waiter` until memory is given back. */
  wait(waiter: PoolWaiter): void {
    this.waiters.add(waiter);
  }

  /** Forgets a call that ended (and its wait, if any). */
  leave(waiter: PoolWaiter): void {
    this.calls = Math.max(0, this.calls - 1);
    this.waiters.delete(waiter);
  }
}
