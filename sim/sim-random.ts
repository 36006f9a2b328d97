// The simulator's Random: one seedrandom stream per subsystem ("network", "disk", "workload",
// "faults", "broker-1", ...), each seeded from `${runSeed}/${stream}`. Streams are independent, so
// adding draws to one subsystem does not shift the draws of another, and a replay can name the
// first divergent draw when a draw recorder is attached.
import seedrandom from "seedrandom";
import { assert, assertInt } from "../src/core/assert.js";
import type { Random } from "../src/core/random.js";

const TWO_POW_32 = 0x1_0000_0000;

/** One recorded draw: which stream, for what purpose, and the integer it produced. */
export interface Draw {
  readonly stream: string;
  readonly label: string;
  readonly value: number;
}

/** Collects draws from any number of streams, in the order they happened. */
export class DrawRecorder {
  readonly draws: Draw[] = [];

  /** Appends one draw. */
  record(stream: string, label: string, value: number): void {
    this.draws.push({ stream, label, value });
  }
}

/** Where two draw sequences first differ (an index past the shorter one when one is a prefix). */
export interface Divergence {
  readonly index: number;
  readonly a: Draw | undefined;
  readonly b: Draw | undefined;
}

/** The first draw at which `a` and `b` differ, or undefined when they are identical. */
export function firstDivergence(a: readonly Draw[], b: readonly Draw[]): Divergence | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || x.stream !== y.stream || x.label !== y.label || x.value !== y.value) {
      return { index: i, a: x, b: y };
    }
  }
  return undefined;
}

/** A deterministic, labelled, integer-only Random for one subsystem of one simulated run. */
export class SimRandom implements Random {
  private readonly prng: seedrandom.PRNG;
  private recorder: DrawRecorder | undefined;

  constructor(
    readonly seed: number,
    readonly stream: string,
    recorder?: DrawRecorder,
  ) {
    assertInt(seed, "seed");
    assert(stream.length > 0, "SimRandom: stream name must not be empty");
    // ARC4 (seedrandom's default): its int32() is a whole 32-bit draw, not a scaled double.
    this.prng = seedrandom(`${seed}/${stream}`);
    this.recorder = recorder;
  }

  /** Starts (or stops, with undefined) recording this stream's draws into `recorder`. */
  setRecorder(recorder: DrawRecorder | undefined): void {
    this.recorder = recorder;
  }

  /**
   * A uniform integer in [0, maxExclusive), 1 <= maxExclusive <= 2^32. Exact: 32-bit draws with
   * rejection of the top partial range, so there is no modulo bias at all (a rejected draw costs
   * one more draw, at most half the time, and the same draws in a replay).
   */
  int(label: string, maxExclusive: number): number {
    // Messages are built only on failure: this is the hot path of every simulated subsystem.
    if (!(Number.isSafeInteger(maxExclusive) && maxExclusive >= 1 && maxExclusive <= TWO_POW_32)) {
      assert(false, `SimRandom.int(${label}): maxExclusive must be an integer in [1, 2^32], got ${maxExclusive}`);
    }
    // The largest multiple of maxExclusive that fits in 2^32 draws; draws at or above it are retried.
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    let draw = this.prng.int32() >>> 0;
    while (draw >= limit) draw = this.prng.int32() >>> 0;
    const value = draw % maxExclusive;
    if (this.recorder !== undefined) this.recorder.record(this.stream, label, value);
    return value;
  }

  /** True with probability numerator / denominator (0 <= numerator <= denominator <= 2^32). */
  chance(label: string, numerator: number, denominator: number): boolean {
    if (!(Number.isSafeInteger(numerator) && numerator >= 0 && numerator <= denominator)) {
      assert(false, `SimRandom.chance(${label}): need 0 <= numerator <= denominator, got ${numerator}/${denominator}`);
    }
    return this.int(label, denominator) < numerator;
  }

  /** An integer in [min, max] inclusive. */
  between(label: string, min: number, max: number): number {
    if (!(Number.isSafeInteger(min) && max >= min)) assert(false, `SimRandom.between(${label}): need min <= max, got ${min}..${max}`);
    return min + this.int(label, max - min + 1);
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(label: string, items: readonly T[]): T {
    if (items.length === 0) assert(false, `SimRandom.pick(${label}): cannot pick from an empty array`);
    return items[this.int(label, items.length)] as T;
  }
}
