// Named timers behind one nextDeadline(): an indexed binary min-heap keyed by structured names,
// so per-partition and per-peer timers (Raft's electionTimeout and heartbeat, a follower's fetch)
// cost O(log n) to arm, re-arm or cancel and O(1) to find the next deadline. Equal deadlines fire
// in key order (the key's canonical string), never in arming order, so a replay that armed the
// same timers along a different path still fires them in the same order.
import { assert } from "../assert.js";

interface Entry<K> {
  readonly id: string;
  readonly key: K;
  atMs: number;
  /** Position in the heap array, kept up to date by every swap. */
  index: number;
}

/** A set of named timers, each armed at one monotonic time; `id(key)` names a key canonically. */
export class TimerQueue<K> {
  private readonly heap: Entry<K>[] = [];
  private readonly byId = new Map<string, Entry<K>>();

  constructor(private readonly id: (key: K) => string) {}

  /** How many timers are armed. */
  get size(): number {
    return this.heap.length;
  }

  /** Arms `key` at `atMs`, replacing its previous deadline if it was armed. */
  set(key: K, atMs: number): void {
    assert(Number.isSafeInteger(atMs), `timer deadline must be an integer, got ${atMs}`);
    const id = this.id(key);
    const existing = this.byId.get(id);
    if (existing !== undefined) {
      existing.atMs = atMs;
      this.fix(existing.index);
      return;
    }
    const entry: Entry<K> = { id, key, atMs, index: this.heap.length };
    this.heap.push(entry);
    this.byId.set(id, entry);
    this.up(entry.index);
  }

  /** The deadline of `key`, or undefined when it is not armed. */
  get(key: K): number | undefined {
    return this.byId.get(this.id(key))?.atMs;
  }

  /** Whether `key` is armed. */
  has(key: K): boolean {
    return this.byId.has(this.id(key));
  }

  /** Cancels `key`; true when it was armed. */
  delete(key: K): boolean {
    const entry = this.byId.get(this.id(key));
    if (entry === undefined) return false;
    this.removeAt(entry.index);
    return true;
  }

  /** Cancels every timer. */
  clear(): void {
    this.heap.length = 0;
    this.byId.clear();
  }

  /** The earliest deadline, or undefined when nothing is armed. */
  nextDeadline(): number | undefined {
    return this.heap[0]?.atMs;
  }

  /** Removes and returns every timer due at `nowMs`, earliest first (key order at equal times). */
  popDue(nowMs: number): { key: K; atMs: number }[] {
    const due: { key: K; atMs: number }[] = [];
    for (let top = this.heap[0]; top !== undefined && top.atMs <= nowMs; top = this.heap[0]) {
      due.push({ key: top.key, atMs: top.atMs });
      this.removeAt(0);
    }
    return due;
  }

  /** Every armed timer in firing order (for views and tests; O(n log n)). */
  entries(): { key: K; atMs: number }[] {
    return [...this.heap].sort(compare).map((e) => ({ key: e.key, atMs: e.atMs }));
  }

  private removeAt(index: number): void {
    const entry = this.heap[index];
    const last = this.heap.pop();
    assert(entry !== undefined && last !== undefined, "timer heap index in range");
    this.byId.delete(entry.id);
    if (last === entry) return;
    this.heap[index] = last;
    last.index = index;
    this.fix(index);
  }

  private fix(index: number): void {
    if (!this.up(index)) this.down(index);
  }

  private up(start: number): boolean {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(this.at(i), this.at(parent)) >= 0) break;
      this.swap(i, parent);
      i = parent;
    }
    return i !== start;
  }

  private down(start: number): void {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < this.heap.length && compare(this.at(left), this.at(least)) < 0) least = left;
      if (right < this.heap.length && compare(this.at(right), this.at(least)) < 0) least = right;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private at(i: number): Entry<K> {
    const entry = this.heap[i];
    assert(entry !== undefined, "timer heap index in range");
    return entry;
  }

  private swap(i: number, j: number): void {
    const a = this.at(i);
    const b = this.at(j);
    this.heap[i] = b;
    this.heap[j] = a;
    a.index = j;
    b.index = i;
  }
}

function compare<K>(a: Entry<K>, b: Entry<K>): number {
  if (a.atMs !== b.atMs) return a.atMs - b.atMs;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
