// The production Random: unseeded, for the IO shell only (the simulator injects a seeded one).
import type { Random } from "../../core/random.js";

/** A Random backed by Math.random, for production use outside the simulator. */
export const mathRandom: Random = {
  int(_label: string, maxExclusive: number): number {
    return Math.floor(Math.random() * maxExclusive);
  },
  chance(_label: string, numerator: number, denominator: number): boolean {
    return Math.random() * denominator < numerator;
  },
};
