// A FIFO of asynchronous jobs with at most `max` running at once: the driver's thread-pool ops
// (each pins a descriptor while it runs) and, in a queue of their own, its reads.

/** A job: starts its work and calls `release` exactly once when it is done. */
export type BoundedJob = (release: () => void) => void;

/** Runs jobs in arrival order, at most `max` at a time. */
export class BoundedJobs {
  private waiting: BoundedJob[] = [];
  private head = 0;
  private running = 0;

  /** `onRelease` runs after every job's release (the driver checks whether its stop may finish). */
  constructor(
    private readonly max: number,
    private readonly onRelease: () => void = () => undefined,
  ) {}

  /** Queues a job; it starts now if a slot is free. */
  run(job: BoundedJob): void {
    this.waiting.push(job);
    this.startWaiting();
  }

  private startWaiting(): void {
    while (this.running < this.max && this.head < this.waiting.length) {
      const job = this.waiting[this.head++]!;
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      }
      this.running++;
      job(() => {
        this.running--;
        this.startWaiting();
        this.onRelease();
      });
    }
  }
}
