// How a planted bug is shown caught: the first seed of a sweep whose run fails with the bug's
// failure, while the same seed without the bug passes and the failing seed replays exactly.
import { runSeed } from "../runner.js";

/** A planted bug's workload, its bug-free twin, and the failure that names it. */
export interface PlantedBugCase {
  readonly workload: string;
  readonly cleanWorkload: string;
  readonly failure: RegExp;
}

/** What the sweep found: the first catching seed, or why the evidence does not hold. */
export type PlantedBugVerdict =
  | { readonly caught: true; readonly seed: number }
  | { readonly caught: false; readonly reason: string };

/** Sweeps seeds 1..`seeds` until one catches the bug, then checks that seed's evidence. */
export function firstCatchingSeed(bug: PlantedBugCase, seeds: number): PlantedBugVerdict {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSeed(seed, { workload: bug.workload });
    if (r.ok) continue;
    if (!bug.failure.test(r.failure ?? "")) return { caught: false, reason: `seed ${seed} failed otherwise: ${r.failure ?? "?"}` };
    const clean = runSeed(seed, { workload: bug.cleanWorkload });
    if (!clean.ok) return { caught: false, reason: `seed ${seed} fails without the bug too: ${clean.failure ?? "?"}` };
    if (runSeed(seed, { workload: bug.workload }).traceHash !== r.traceHash) return { caught: false, reason: `seed ${seed} does not replay exactly` };
    return { caught: true, seed };
  }
  return { caught: false, reason: `no seed of ${seeds} caught ${bug.workload}` };
}
