// Power loss on a SimDisk. Synced bytes and durable directory entries survive. Each write or truncate
// not covered by an fdatasync is, independently and in issue order, applied, dropped or torn (a
// prefix of its bytes lands, the rest of the range keeps its old content); one that a failed
// fdatasync doomed is always dropped. Each directory keeps a prefix of its pending namespace ops
// (see SimNsJournal). The report records every decision so tests can replay it on their own model.
import { assert } from "../src/core/assert.js";
import type { Random } from "../src/core/random.js";
import type { SimDiskFaults } from "./sim-disk-faults.js";
import type { SimCrashDir, SimNsJournal } from "./sim-disk-journal.js";
import { applyDataOp, type SimDir, type SimFile, type SimPendingDataOp } from "./sim-disk-node.js";
import type { SimTree } from "./sim-disk-tree.js";

/** What happened to one unsynced write or truncate at a crash. */
export type SimWriteFate =
  | { readonly kind: "applied" }
  | { readonly kind: "dropped"; readonly afterFsyncError: boolean }
  | { readonly kind: "torn"; readonly prefixLength: number };

/** An unsynced data op as the caller issued it (path at issue time). */
export type SimCrashOp =
  | { readonly kind: "write"; readonly path: string; readonly position: number; readonly length: number }
  | { readonly kind: "truncate"; readonly path: string; readonly length: number };

/** The fate of one unsynced data op; `seq` orders ops across files in issue order. */
export interface SimCrashWrite {
  readonly seq: number;
  readonly op: SimCrashOp;
  readonly fate: SimWriteFate;
}

/** Every decision a crash made: data ops in issue order, directories in creation order. */
export interface SimDiskCrashReport {
  readonly writes: readonly SimCrashWrite[];
  readonly dirs: readonly SimCrashDir[];
}

/** Draws the fate of one pending op (see SimDiskFaults for the odds). */
function drawFate(random: Random, op: SimPendingDataOp, faults: SimDiskFaults): SimWriteFate {
  if (op.doomed) return { kind: "dropped", afterFsyncError: true };
  const tearable = op.kind === "write" && op.bytes.length >= 2;
  const { tornWritePerMille: torn, droppedWritePerMille: dropped } = faults;
  let outcome: "applied" | "dropped" | "torn";
  if (torn + dropped === 0) {
    // Default: equal odds among the outcomes this op can have.
    const r = random.int("simDisk.crash.writeFate", tearable ? 3 : 2);
    outcome = r === 0 ? "applied" : r === 1 ? "dropped" : "torn";
  } else {
    const r = random.int("simDisk.crash.writeFate", 1000);
    outcome = r < dropped ? "dropped" : r < dropped + torn && tearable ? "torn" : "applied";
  }
  if (outcome === "applied") return { kind: "applied" };
  if (outcome === "dropped" || op.kind !== "write") return { kind: "dropped", afterFsyncError: false };
  return { kind: "torn", prefixLength: 1 + random.int("simDisk.crash.tornPrefix", op.bytes.length - 1) };
}

/** The report's view of a pending op. */
function describe(op: SimPendingDataOp): SimCrashOp {
  return op.kind === "write"
    ? { kind: "write", path: op.path, position: op.position, length: op.bytes.length }
    : { kind: "truncate", path: op.path, length: op.length };
}

/** Simulates power loss on `tree` + `journal`, in place, and reports every decision. */
export function crashSimDisk(tree: SimTree, journal: SimNsJournal, random: Random, faults: SimDiskFaults): SimDiskCrashReport {
  const files: SimFile[] = [];
  for (const n of tree.nodes.values()) if (n.kind === "file") files.push(n);
  const pending: { file: SimFile; op: SimPendingDataOp }[] = [];
  for (const file of files) for (const op of file.pending) pending.push({ file, op });
  pending.sort((a, b) => a.op.seq - b.op.seq);
  const writes: SimCrashWrite[] = [];
  for (const { file, op } of pending) {
    const fate = drawFate(random, op, faults);
    writes.push({ seq: op.seq, op: describe(op), fate });
    if (fate.kind === "applied") applyDataOp(file.synced, op);
    else if (fate.kind === "torn") applyDataOp(file.synced, op, fate.prefixLength);
  }
  const dirs = journal.crash(random, faults.lostDirEntryPerMille, (op) => tree.applyDurable(op));
  rebuildFromDurable(tree);
  return { writes, dirs };
}

/** Makes the durable state current: keeps only inodes reachable through durable entries. */
function rebuildFromDurable(tree: SimTree): void {
  const reachable = new Set<number>();
  const visit = (dir: SimDir): void => {
    assert(!reachable.has(dir.id), `SimDisk: directory ${dir.id} reachable twice after crash`);
    reachable.add(dir.id);
    dir.entries = new Map(dir.durable);
    for (const id of dir.durable.values()) {
      const n = tree.node(id);
      if (n.kind === "dir") {
        visit(n);
        continue;
      }
      assert(!reachable.has(n.id), `SimDisk: file ${n.id} reachable twice after crash`);
      reachable.add(n.id);
      n.current = n.synced.copy();
      n.pending = [];
    }
  };
  visit(tree.root);
  for (const id of [...tree.nodes.keys()]) if (!reachable.has(id)) tree.nodes.delete(id);
}
