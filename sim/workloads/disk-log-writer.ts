// One incarnation of the disk-log writer process: recover the record file, then append records on
// a timer and group-commit them with fdatasync, acknowledging a batch only when its sync completed
// (completion is delayed by the disk's latency through the event queue). A crash ends the
// incarnation: its timers are canceled and whatever it had not acknowledged is simply forgotten.
import { DiskError, parentDir } from "../../src/core/disk.js";
import type { SimDisk } from "../sim-disk.js";
import type { EventHandle, Simulation } from "../simulation.js";
import type { DiskLogKnobs } from "./disk-log-knobs.js";
import { RECORD_ID_BYTES, type DiskLogModel } from "./disk-log-model.js";
import { RecordLog, scanFile } from "./record-log.js";

/** Largest payload recovery accepts; anything longer is garbage. */
export const MAX_PAYLOAD_BYTES = 4096;

/** Mistakes a writer can be built with, to prove the simulator catches them. */
export type DiskLogPlantedBug =
  /** Acknowledges a record as soon as it is written, before any fdatasync (NATS 2.12.1 style). */
  | "ackBeforeSync"
  /** Appends after a garbage tail instead of cutting it off, so later records are unreachable. */
  | "noRecoveryTruncate"
  /** Trusts page-cache bytes after a failed fdatasync ("fsyncgate"): they may never be durable. */
  | "trustPagesAfterFsyncError";

/** Everything a writer incarnation shares with the workload. */
export interface DiskLogWriterContext {
  readonly sim: Simulation;
  readonly disk: SimDisk;
  readonly path: string;
  readonly model: DiskLogModel;
  readonly knobs: DiskLogKnobs;
  readonly counters: Record<string, number>;
  readonly plantedBug: DiskLogPlantedBug | undefined;
  /** Called when this incarnation gives up (a disk error): the workload restarts the process. */
  readonly onPanic: (reason: string) => void;
}

/** Fills bytes[from..] from a xorshift32 stream (one PRNG draw per record instead of one per byte). */
function fillBytes(bytes: Uint8Array, from: number, seed: number): void {
  let x = seed | 1;
  for (let i = from; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
}

/** One run of the writer process, from recovery until a crash or a panic. */
export class DiskLogWriter {
  private log: RecordLog | undefined;
  private unsynced: number[] = [];
  private syncedBytes = 0;
  private appendTimer: EventHandle | undefined;
  private syncTimer: EventHandle | undefined;
  private syncCompletion: EventHandle | undefined;

  constructor(private readonly ctx: DiskLogWriterContext) {}

  /** Recovers the file and starts the timers; false (after a panic) when recovery hit a disk error. */
  start(): boolean {
    const log = this.recover();
    if (log === undefined) return false;
    this.log = log;
    this.syncedBytes = log.sizeBytes;
    this.scheduleAppend();
    this.scheduleSync();
    return true;
  }

  /** Ends this incarnation: nothing it scheduled runs any more. */
  stop(): void {
    for (const handle of [this.appendTimer, this.syncTimer, this.syncCompletion]) {
      if (handle !== undefined) this.ctx.sim.cancel(handle);
    }
  }

  private recover(): RecordLog | undefined {
    const { sim, disk, path, model, counters, plantedBug } = this.ctx;
    try {
      const scan = scanFile(disk, path, MAX_PAYLOAD_BYTES);
      sim.trace(`recover records=${scan.records.length} validBytes=${scan.validBytes} fileBytes=${scan.fileBytes} stop=${scan.stoppedBy}`);
      const ids = model.checkRecovered(scan.records);
      if (ids === undefined) return undefined;
      if (disk.stat(path) === undefined) {
        // First start (or the create was lost): make the directory and the file entry durable.
        const dir = parentDir(path);
        disk.mkdir(dir);
        disk.syncDir(parentDir(dir));
        disk.create(path);
        disk.syncDir(dir);
      }
      // Cut the garbage tail for good (a truncate is a data op: durable only after the sync).
      if (plantedBug !== "noRecoveryTruncate") disk.truncate(path, scan.validBytes);
      disk.fdatasync(path);
      model.recovered(ids);
      counters["recoveries"] = (counters["recoveries"] ?? 0) + 1;
      if (scan.stoppedBy !== "end") counters["garbageTails"] = (counters["garbageTails"] ?? 0) + 1;
      const end = plantedBug === "noRecoveryTruncate" ? scan.fileBytes : scan.validBytes;
      return new RecordLog(disk, path, end);
    } catch (error) {
      this.panic(error, "recovery");
      return undefined;
    }
  }

  private scheduleAppend(): void {
    const { sim, knobs } = this.ctx;
    const delayMs = sim.random("workload").between("appendDelayMs", 1, knobs.appendEveryMsMax);
    this.appendTimer = sim.scheduleAfter(delayMs, "diskLog.append", () => this.append());
  }

  private scheduleSync(): void {
    const { sim, knobs } = this.ctx;
    const delayMs = sim.random("workload").between("syncDelayMs", 1, knobs.syncEveryMsMax);
    this.syncTimer = sim.scheduleAfter(delayMs, "diskLog.syncTimer", () => this.startSync());
  }

  private append(): void {
    const { sim, model, knobs, counters, plantedBug } = this.ctx;
    const random = sim.random("workload");
    const id = model.nextId();
    const payload = new Uint8Array(RECORD_ID_BYTES + random.int("fillerBytes", knobs.fillerBytesMax + 1));
    new DataView(payload.buffer).setUint32(0, id, true);
    fillBytes(payload, RECORD_ID_BYTES, random.int("fillerSeed", 0x1_0000_0000));
    model.appendedRecord(id, payload);
    try {
      const position = (this.log as RecordLog).append(payload);
      sim.trace(`append id=${id} position=${position} bytes=${payload.length}`);
    } catch (error) {
      this.panic(error, "append");
      return;
    }
    counters["appends"] = (counters["appends"] ?? 0) + 1;
    if (plantedBug === "ackBeforeSync") model.acknowledged([id]);
    else this.unsynced.push(id);
    this.scheduleAppend();
  }

  private startSync(): void {
    const { sim, disk } = this.ctx;
    this.syncTimer = undefined;
    if (this.syncCompletion !== undefined || this.unsynced.length === 0) {
      this.scheduleSync();
      return;
    }
    // Group commit: every record written before the sync started is acknowledged when it completes.
    const batch = this.unsynced;
    this.unsynced = [];
    const delayMs = disk.latencyMs("fdatasync");
    this.syncCompletion = sim.scheduleAfter(delayMs, "diskLog.syncDone", () => this.finishSync(batch));
  }

  private finishSync(batch: number[]): void {
    const { sim, disk, path, model, counters } = this.ctx;
    this.syncCompletion = undefined;
    const log = this.log as RecordLog;
    try {
      disk.fdatasync(path);
    } catch (error) {
      // After a failed fdatasync the unsynced pages may never reach the disk, though reads still
      // show them: cut the file back to what is known durable before anyone trusts those bytes.
      if (this.ctx.plantedBug !== "trustPagesAfterFsyncError") disk.truncate(path, this.syncedBytes);
      counters["fsyncErrors"] = (counters["fsyncErrors"] ?? 0) + 1;
      this.panic(error, "fdatasync");
      return;
    }
    this.syncedBytes = log.sizeBytes;
    counters["syncs"] = (counters["syncs"] ?? 0) + 1;
    counters["acks"] = (counters["acks"] ?? 0) + batch.length;
    model.acknowledged(batch);
    sim.trace(`ack count=${batch.length} last=${batch[batch.length - 1]} syncedBytes=${this.syncedBytes}`);
    this.scheduleSync();
  }

  private panic(error: unknown, during: string): void {
    if (!(error instanceof DiskError)) throw error;
    this.stop();
    const reason = `${during}: ${error.message}`;
    this.ctx.sim.trace(`panic ${reason}`);
    this.ctx.onPanic(reason);
  }
}
