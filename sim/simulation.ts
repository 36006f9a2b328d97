// The simulation kernel: one event queue, a virtual clock, per-subsystem PRNG streams derived from
// one seed, a rolling trace hash and named invariants checked after every event. Actors (disks,
// brokers, networks, workloads) are plain objects that schedule closures; nothing here knows what
// they are, so later simulators extend it rather than change it.
import { assert, assertInt } from "../src/core/assert.js";
import { timeMs, timestampNs, type TimeMs, type TimestampNs } from "../src/core/types.js";
import { EventQueue, type ScheduledEvent } from "./event-queue.js";
import { DrawRecorder, SimRandom } from "./sim-random.js";
import { TraceHash } from "./trace-hash.js";

/** A scheduled closure; keep it to cancel the event. */
export type EventHandle = ScheduledEvent<() => void>;

/** A named check run after every event: undefined when it holds, else what is wrong. */
export type InvariantCheck = () => string | undefined;

/** The first invariant that failed, and when (virtual time). */
export interface InvariantViolation {
  readonly invariant: string;
  readonly message: string;
  readonly atMs: number;
}

/** Knobs for one simulation. */
export interface SimulationOptions {
  /** Record every PRNG draw (all streams) so a replay can name the first divergent draw. */
  readonly recordDraws?: boolean;
  /** Keep the trace lines (not only their hash), for debugging a replay. */
  readonly keepTrace?: boolean;
}

/** Wall-clock origin of every run: 2023-11-14T22:13:20Z in nanoseconds, plus a per-seed offset. */
export const WALL_CLOCK_ORIGIN_NS = 1_700_000_000_000_000_000n;
const NS_PER_MS = 1_000_000n;
const DAY_MS = 86_400_000;

/** One deterministic simulated run: everything it does is a function of `seed`. */
export class Simulation {
  private readonly queue = new EventQueue<() => void>();
  private readonly streams = new Map<string, SimRandom>();
  private readonly invariants: { readonly name: string; readonly check: InvariantCheck }[] = [];
  private readonly hash = new TraceHash();
  private readonly startWallNs: bigint;
  private now = 0;
  private delivered = 0;
  private failedInvariant: InvariantViolation | undefined;
  /** Every draw of every stream, when options.recordDraws is set. */
  readonly draws: DrawRecorder | undefined;
  /** The trace lines, when options.keepTrace is set. */
  readonly traceLines: string[] | undefined;

  constructor(
    readonly seed: number,
    options: SimulationOptions = {},
  ) {
    assertInt(seed, "seed");
    this.draws = options.recordDraws === true ? new DrawRecorder() : undefined;
    this.traceLines = options.keepTrace === true ? [] : undefined;
    // A seed-derived wall-clock start, so code that keys on wall time sees different values per seed.
    const offsetMs = this.random("clock").int("wallClockStartOffsetMs", 40 * DAY_MS);
    this.startWallNs = WALL_CLOCK_ORIGIN_NS + BigInt(offsetMs) * NS_PER_MS;
  }

  /** Virtual monotonic time in milliseconds since the start of the run. */
  get nowMs(): TimeMs {
    return this.now as TimeMs;
  }

  /** Events delivered so far. */
  get events(): number {
    return this.delivered;
  }

  /** Live events waiting in the queue. */
  get pendingEvents(): number {
    return this.queue.size;
  }

  /** The first invariant violation, or undefined while every invariant holds. */
  get violation(): InvariantViolation | undefined {
    return this.failedInvariant;
  }

  /** The trace hash so far, as 16 hex digits. */
  get traceHash(): string {
    return this.hash.hex();
  }

  /** Wall-clock nanoseconds now, shifted by `skewNs` (a node whose clock runs ahead or behind). */
  wallNs(skewNs = 0n): TimestampNs {
    return timestampNs(this.startWallNs + BigInt(this.now) * NS_PER_MS + skewNs);
  }

  /** The PRNG stream named `stream` (created on first use, then shared: draws continue). */
  random(stream: string): SimRandom {
    let random = this.streams.get(stream);
    if (random === undefined) {
      random = new SimRandom(this.seed, stream, this.draws);
      this.streams.set(stream, random);
    }
    return random;
  }

  /** Schedules `fn` at virtual time `atMs` (not in the past). */
  scheduleAt(atMs: number, label: string, fn: () => void): EventHandle {
    if (!(atMs >= this.now)) assert(false, `scheduleAt(${label}): ${atMs} is before now (${this.now})`);
    return this.queue.push(atMs, label, fn);
  }

  /** Schedules `fn` `delayMs` (>= 0) after now. */
  scheduleAfter(delayMs: number, label: string, fn: () => void): EventHandle {
    if (!(Number.isSafeInteger(delayMs) && delayMs >= 0)) assert(false, `scheduleAfter(${label}): bad delayMs ${delayMs}`);
    return this.queue.push(this.now + delayMs, label, fn);
  }

  /** Cancels a scheduled event (no effect if it already ran or was canceled). */
  cancel(handle: EventHandle): void {
    this.queue.cancel(handle);
  }

  /** Registers a check run after every event; the first violation stops the run. */
  addInvariant(name: string, check: InvariantCheck): void {
    this.invariants.push({ name, check });
  }

  /** Folds a line (what an actor observed or did) into the trace hash. */
  trace(line: string): void {
    this.hash.updateString(line);
    this.hash.updateByte(0x0a);
    this.traceLines?.push(line);
  }

  /** Delivers the next event; false when the queue is empty or an invariant has failed. */
  step(): boolean {
    if (this.failedInvariant !== undefined) return false;
    const event = this.queue.pop();
    if (event === undefined) return false;
    this.deliver(event);
    return true;
  }

  /**
   * Delivers every event due at or before `untilMs`, then moves the clock to `untilMs`. Returns
   * false (clock left at the last event) if an invariant failed or `maxEvents` ran out first.
   */
  runUntil(untilMs: number, maxEvents = Number.POSITIVE_INFINITY): boolean {
    assertInt(untilMs, "runUntil", this.now);
    for (let delivered = 0; ; delivered++) {
      if (this.failedInvariant !== undefined) return false;
      const next = this.queue.peekTimeMs();
      if (next === undefined || next > untilMs) break;
      if (delivered >= maxEvents) return false;
      this.deliver(this.queue.pop() as EventHandle);
    }
    this.now = timeMs(untilMs);
    return true;
  }

  /** Delivers events until none is left; false if `maxEvents` ran out first or an invariant failed. */
  runUntilIdle(maxEvents: number): boolean {
    for (let i = 0; i < maxEvents; i++) {
      if (!this.step()) return this.failedInvariant === undefined;
    }
    return this.queue.size === 0 && this.failedInvariant === undefined;
  }

  private deliver(event: EventHandle): void {
    this.now = event.atMs;
    this.delivered++;
    // Canonically the line "<atMs> <seq> <label>\n", folded without building the string.
    const hash = this.hash;
    hash.updateUint(event.atMs);
    hash.updateByte(0x20);
    hash.updateUint(event.seq);
    hash.updateByte(0x20);
    hash.updateString(event.label);
    hash.updateByte(0x0a);
    this.traceLines?.push(`${event.atMs} ${event.seq} ${event.label}`);
    event.payload();
    this.checkInvariants();
  }

  private checkInvariants(): void {
    for (const { name, check } of this.invariants) {
      const message = check();
      if (message !== undefined) {
        this.failedInvariant = { invariant: name, message, atMs: this.now };
        this.trace(`invariant ${name} violated: ${message}`);
        return;
      }
    }
  }
}
