// Test helpers for the Raft log on disk: a SimDisk-backed driver that applies a RaftDiskLog's
// DiskOps in order (optionally crashing after a budget of ops) and reopens it.
import { applyDiskOp, type DiskOp } from "../../src/core/disk.js";
import type { Result } from "../../src/core/errors.js";
import type { LogEvent } from "../../src/core/outputs.js";
import { RaftDiskLog, type OpenedRaftLog, type RaftDiskLogOptions } from "../../src/core/raft/raft-disk-log.js";
import type { RaftLogRefusal } from "../../src/core/raft/raft-log-recovery.js";
import type { RaftEntry } from "../../src/core/raft/raft-types.js";
import { SimDisk, type SimDiskFaults } from "../sim-disk.js";
import { SimRandom } from "../sim-random.js";

/** The directory the harness keeps its Raft log in. */
export const RAFT_DIR = "raft";

/** Thrown by the harness when its op budget runs out: the power fails before the next op. */
export class CrashPoint extends Error {}

/** A normal entry whose data is `text`. */
export function textEntry(index: number, term: number, text: string): RaftEntry {
  return { index, term, type: "normal", data: new TextEncoder().encode(text) };
}

/** The text of an entry's (or a snapshot's) data. */
export function textOf(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** Drives one RaftDiskLog on one SimDisk. */
export class RaftLogHarness {
  readonly disk: SimDisk;
  log!: RaftDiskLog;
  readonly events: LogEvent[] = [];
  /** Ops applied since the budget was last set. */
  applied = 0;
  /** Ops that may still be applied before a CrashPoint (Infinity: no crash). */
  budget = Infinity;

  constructor(
    readonly options: RaftDiskLogOptions = {},
    seed = 1,
    faults: Partial<SimDiskFaults> = {},
  ) {
    this.disk = new SimDisk({ random: new SimRandom(seed, "disk"), nowMs: () => 0, faults });
  }

  /** Applies ops in order, throwing CrashPoint when the budget runs out. */
  apply(ops: readonly DiskOp[]): void {
    for (const op of ops) {
      if (this.applied >= this.budget) throw new CrashPoint();
      applyDiskOp(this.disk, op);
      this.applied++;
    }
  }

  /** Opens the log on the current disk and applies the recovery ops (within the budget). */
  tryOpen(): Result<OpenedRaftLog, RaftLogRefusal> {
    const opened = RaftDiskLog.open(this.disk, RAFT_DIR, this.options);
    if (!opened.ok) return opened;
    this.log = opened.value.log;
    this.events.push(...opened.value.events);
    this.apply(opened.value.ops);
    return opened;
  }

  /** tryOpen(), failing the test on a refusal. */
  open(): OpenedRaftLog {
    const opened = this.tryOpen();
    if (!opened.ok) throw new Error(`unexpected refusal: ${opened.error.message}`);
    return opened.value;
  }

  /** Power loss: unsynced writes are kept, torn or lost, the budget is lifted. */
  crash(): void {
    this.disk.crash();
    this.budget = Infinity;
    this.applied = 0;
  }
}
