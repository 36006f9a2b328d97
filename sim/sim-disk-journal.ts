// The namespace journal of a SimDisk: creates, mkdirs, renames and removes not yet made durable by a
// syncDir. It behaves like an ordered metadata journal kept per directory: syncDir(d) makes all of
// d's pending ops durable, and a crash keeps a prefix of each directory's pending ops. A rename
// across two directories is one journal entry: it survives in both or in neither, and making it
// durable also makes durable the ops before it in the other directory.
import type { Random } from "../src/core/random.js";
import { nsOpDirs, type SimNsOp } from "./sim-disk-node.js";

/** How many of one directory's pending namespace ops a crash kept. */
export interface SimCrashDir {
  readonly dirId: number;
  /** The directory's path when its first pending op was issued. */
  readonly dirPath: string;
  readonly pending: number;
  readonly survived: number;
}

/** Pending namespace ops in issue order. */
export class SimNsJournal {
  private pending: SimNsOp[] = [];

  /** Appends an op (already applied to the current entries). */
  record(op: SimNsOp): void {
    this.pending.push(op);
  }

  /** How many ops are pending. */
  get size(): number {
    return this.pending.length;
  }

  /** Makes durable every pending op of `dirId` and the ops they depend on; `apply` writes each to the durable entries. */
  commitDir(dirId: number, apply: (op: SimNsOp) => void): void {
    const limit = new Map<number, number>([[dirId, Number.MAX_SAFE_INTEGER]]);
    const covered = (op: SimNsOp): boolean => nsOpDirs(op).some((d) => (limit.get(d) ?? -1) >= op.seq);
    let changed = true;
    while (changed) {
      changed = false;
      for (const op of this.pending) {
        if (!covered(op)) continue;
        for (const d of nsOpDirs(op)) {
          if ((limit.get(d) ?? -1) < op.seq) {
            limit.set(d, op.seq);
            changed = true;
          }
        }
      }
    }
    const kept: SimNsOp[] = [];
    for (const op of this.pending) {
      if (covered(op)) apply(op);
      else kept.push(op);
    }
    this.pending = kept;
  }

  /** Power loss: keeps a random prefix per directory (cross-directory ops atomic), applies it, empties the journal. */
  crash(random: Random, lostDirEntryPerMille: number, apply: (op: SimNsOp) => void): SimCrashDir[] {
    const perDir = this.opsByDir();
    const keep = new Map<number, number>();
    for (const [dirId, ops] of perDir) keep.set(dirId, chooseSurvivors(random, ops.length, lostDirEntryPerMille));
    shrinkToAtomic(this.pending, perDir, keep);
    const report: SimCrashDir[] = [];
    for (const [dirId, ops] of perDir) {
      const first = ops[0]?.changes.find((c) => c.dirId === dirId);
      report.push({ dirId, dirPath: first?.dirPath ?? "", pending: ops.length, survived: keep.get(dirId) ?? 0 });
    }
    for (const op of this.pending) {
      if (nsOpDirs(op).every((d) => indexIn(perDir, d, op) < (keep.get(d) ?? 0))) apply(op);
    }
    this.pending = [];
    return report;
  }

  /** Pending ops per directory, directories in ascending id order. */
  private opsByDir(): Map<number, SimNsOp[]> {
    const perDir = new Map<number, SimNsOp[]>();
    for (const op of this.pending) {
      for (const d of nsOpDirs(op)) {
        const list = perDir.get(d) ?? [];
        list.push(op);
        perDir.set(d, list);
      }
    }
    return new Map([...perDir].sort((a, b) => a[0] - b[0]));
  }
}

/** How many of `n` pending ops survive: uniform in 0..n by default, else each op ends the prefix with p/1000. */
function chooseSurvivors(random: Random, n: number, lostPerMille: number): number {
  if (lostPerMille === 0) return random.int("simDisk.crash.dirOpsSurviving", n + 1);
  let k = 0;
  while (k < n && !random.chance("simDisk.crash.dirOpLost", lostPerMille, 1000)) k++;
  return k;
}

/** The position of `op` in directory `d`'s pending list. */
function indexIn(perDir: Map<number, SimNsOp[]>, d: number, op: SimNsOp): number {
  return perDir.get(d)?.indexOf(op) ?? -1;
}

/** Lowers prefixes until every cross-directory op is kept in all its directories or in none. */
function shrinkToAtomic(pending: readonly SimNsOp[], perDir: Map<number, SimNsOp[]>, keep: Map<number, number>): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const op of pending) {
      const dirs = nsOpDirs(op);
      if (dirs.length < 2) continue;
      const kept = dirs.filter((d) => indexIn(perDir, d, op) < (keep.get(d) ?? 0));
      if (kept.length === 0 || kept.length === dirs.length) continue;
      for (const d of kept) keep.set(d, indexIn(perDir, d, op));
      changed = true;
    }
  }
}
