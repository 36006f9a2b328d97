// The simulator's one event queue: a binary min-heap ordered by (virtual time, sequence number).
// The sequence number is assigned at schedule time by this queue, so events due at the same
// millisecond are delivered in the order they were scheduled: a run is a function of its seed.
import { assert } from "../src/core/assert.js";

/** One scheduled event; also the handle used to cancel it. Fields are read-only to callers. */
export class ScheduledEvent<T> {
  /** Set by cancel(); a canceled event stays in the heap until it surfaces (lazy deletion). */
  canceled = false;
  /** Position in the heap array, or -1 once popped (so a late cancel is a harmless no-op). */
  heapIndex = -1;

  constructor(
    readonly atMs: number,
    readonly seq: number,
    readonly label: string,
    readonly payload: T,
  ) {}
}

/** True when `a` is due strictly before `b` under the (time, seq) order. */
function before<T>(a: ScheduledEvent<T>, b: ScheduledEvent<T>): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

/** A priority queue of events keyed by (atMs, seq) with O(log n) push/pop and O(1) cancel. */
export class EventQueue<T> {
  private readonly heap: ScheduledEvent<T>[] = [];
  private nextSeq = 0;
  private canceledInHeap = 0;

  /** Live (not canceled) events waiting. */
  get size(): number {
    return this.heap.length - this.canceledInHeap;
  }

  /** Sequence numbers handed out so far (also the next one to be assigned). */
  get scheduledCount(): number {
    return this.nextSeq;
  }

  /** Schedules `payload` at virtual time `atMs` and returns its handle. */
  push(atMs: number, label: string, payload: T): ScheduledEvent<T> {
    // Checked inline: assertInt would build its messages on every call, and this is the hot path.
    if (!(Number.isSafeInteger(atMs) && atMs >= 0)) assert(false, `event time must be a non-negative safe integer, got ${atMs}`);
    const event = new ScheduledEvent(atMs, this.nextSeq++, label, payload);
    event.heapIndex = this.heap.length;
    this.heap.push(event);
    this.siftUp(event.heapIndex);
    return event;
  }

  /** Cancels a scheduled event; canceling a delivered or already canceled event does nothing. */
  cancel(event: ScheduledEvent<T>): void {
    if (event.canceled || event.heapIndex < 0) return;
    assert(this.heap[event.heapIndex] === event, "cancel: event does not belong to this queue");
    event.canceled = true;
    this.canceledInHeap++;
    // Lazy deletion keeps cancel O(1); compact when garbage dominates so the heap stays small.
    if (this.canceledInHeap > 64 && this.canceledInHeap * 2 > this.heap.length) this.compact();
  }

  /** The time of the next live event, or undefined when none is waiting. */
  peekTimeMs(): number | undefined {
    this.dropCanceledTop();
    return this.heap[0]?.atMs;
  }

  /** Removes and returns the next live event, or undefined when none is waiting. */
  pop(): ScheduledEvent<T> | undefined {
    this.dropCanceledTop();
    return this.removeTop();
  }

  private dropCanceledTop(): void {
    while (this.heap.length > 0 && (this.heap[0] as ScheduledEvent<T>).canceled) {
      this.removeTop();
      this.canceledInHeap--;
    }
  }

  private removeTop(): ScheduledEvent<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as ScheduledEvent<T>;
    if (last !== top) {
      heap[0] = last;
      last.heapIndex = 0;
      this.siftDown(0);
    }
    top.heapIndex = -1;
    return top;
  }

  private compact(): void {
    const live = this.heap.filter((e) => {
      if (e.canceled) e.heapIndex = -1;
      return !e.canceled;
    });
    this.heap.length = 0;
    this.canceledInHeap = 0;
    for (const e of live) {
      e.heapIndex = this.heap.length;
      this.heap.push(e);
    }
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    const event = heap[index] as ScheduledEvent<T>;
    let i = index;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex] as ScheduledEvent<T>;
      if (!before(event, parent)) break;
      heap[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    heap[i] = event;
    event.heapIndex = i;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const n = heap.length;
    const event = heap[index] as ScheduledEvent<T>;
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right] as ScheduledEvent<T>, heap[left] as ScheduledEvent<T>)) child = right;
      const childEvent = heap[child] as ScheduledEvent<T>;
      if (!before(childEvent, event)) break;
      heap[i] = childEvent;
      childEvent.heapIndex = i;
      i = child;
    }
    heap[i] = event;
    event.heapIndex = i;
  }
}
