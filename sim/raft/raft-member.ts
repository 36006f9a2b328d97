// One member of a simulated Raft cluster as a machine: its own SimDisk holding a RaftDiskLog, its
// own connection to the simulated NATS, and, while it runs, a RaftNode over that log. Disk work is
// done the way a real driver does it: writes land in the page cache at once, each fdatasync and
// syncDir takes simulated time, and a crash while one is pending loses what it had not made durable.
import { applyDiskOp, type DiskOp } from "../../src/core/disk.js";
import type { Result } from "../../src/core/errors.js";
import { bootstrapLog } from "../../src/core/raft/raft-bootstrap.js";
import { RaftDiskLog, type OpenedRaftLog, type RaftDiskLogOptions } from "../../src/core/raft/raft-disk-log.js";
import type { RaftLogRefusal } from "../../src/core/raft/raft-log-recovery.js";
import type { RaftNode } from "../../src/core/raft/raft-node.js";
import type { HardState, RaftNodeId } from "../../src/core/raft/raft-types.js";
import type { EventHandle, Simulation } from "../simulation.js";
import type { SimDisk } from "../sim-disk.js";
import type { SimNatsConnection } from "../sim-nats.js";
import type { CheckedNode } from "./raft-checker.js";

/** The directory each member keeps its Raft log in, on its own disk. */
export const RAFT_LOG_DIR = "raft";

/** A member: disk and connection always; log and node while it runs; its state machine's image. */
export class SimRaftMember implements CheckedNode {
  node: RaftNode | undefined;
  log: RaftDiskLog | undefined;
  /** Bumped on every crash: disk work and timers of the previous run are void. */
  generation = 0;
  /** A group of disk ops (a Ready's persist, a snapshot) is in flight. */
  busy = false;
  appliedIndex = 0;
  /** The state machine: a running hash of the applied entries. */
  stateHash = 0;
  /** The hard state as of the last persist whose ops all completed: what a restart must recover. */
  durableHardState: HardState = { term: 0, vote: "", commit: 0 };
  /** The last index of the log as of the last persist whose ops all completed. */
  syncedLastIndex = 0;
  /** Where the persist in flight starts replacing entries (0: a snapshot replaces them all; Infinity: none). */
  cutFrom = Infinity;
  /** Set at a crash: the synced entry the restart must still hold (or cover with its snapshot). */
  mustRecover: { readonly index: number; readonly term: number } | undefined;
  tickHandle: EventHandle | undefined;
  /** Crash when the next sync starts (its writes in the page cache only), then restart after this many ms. */
  crashAtNextSyncDowntimeMs: number | undefined;

  constructor(
    readonly id: RaftNodeId,
    readonly disk: SimDisk,
    readonly connection: SimNatsConnection,
    readonly logOptions: RaftDiskLogOptions,
  ) {}

  get role(): string {
    return this.node?.role ?? "down";
  }
  get term(): number {
    return this.node?.term ?? 0;
  }
  get commitIndex(): number {
    return this.node?.commitIndex ?? 0;
  }
  get firstIndex(): number {
    return this.node?.firstIndex ?? 1;
  }
  termAt(index: number): number | undefined {
    return this.node?.termAt(index);
  }

  /** Formats an empty disk: a fresh log, holding the bootstrap entries when this is an initial voter. */
  format(initialVoters: readonly RaftNodeId[]): void {
    const opened = this.open();
    if (!opened.ok) throw new Error(`a fresh Raft log does not open: ${opened.error.message}`);
    const ops = [...opened.value.ops];
    if (initialVoters.includes(this.id)) {
      const { entries, hardState } = bootstrapLog(initialVoters);
      ops.push(...opened.value.log.persist({ entries, hardState }));
      this.durableHardState = hardState;
      this.syncedLastIndex = entries.length;
    }
    for (const op of ops) applyDiskOp(this.disk, op);
  }

  /** Opens the log from what the disk holds now and applies the recovery ops (a start-up, synchronous). */
  open(): Result<OpenedRaftLog, RaftLogRefusal> {
    const opened = RaftDiskLog.open(this.disk, RAFT_LOG_DIR, this.logOptions);
    if (opened.ok) for (const op of opened.value.ops) applyDiskOp(this.disk, op);
    return opened;
  }

  /**
   * Runs `ops` in order as this run of the member: other ops at once, each sync after its latency;
   * `done` once all completed. A crash meanwhile (the generation moves) stops the rest for good.
   */
  runDiskOps(sim: Simulation, ops: readonly DiskOp[], done: () => void): void {
    const generation = this.generation;
    let next = 0;
    const resume = (): void => {
      while (next < ops.length) {
        const op = ops[next++] as DiskOp;
        if (op.kind !== "fdatasync" && op.kind !== "syncDir") {
          applyDiskOp(this.disk, op);
          continue;
        }
        sim.scheduleAfter(this.disk.latencyMs(op.kind), `raft disk ${this.id} ${op.kind}`, () => {
          if (this.generation !== generation) return;
          applyDiskOp(this.disk, op);
          resume();
        });
        return;
      }
      done();
    };
    resume();
  }
}
