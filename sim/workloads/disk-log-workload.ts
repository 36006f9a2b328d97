// The "disk-log" workload checks the simulator's disk model, not the product: the product's commit
// log runs in the broker workload (docs/decisions.md, "disk-log"). Here a small record-file writer 
// (CRC-32C framing, group-commit fdatasync, recovery by scanning to the first bad record) on a SimDisk that crashes at random virtual times
// and injects fsync errors, read errors, torn and dropped writes and latency. Checked after every
// recovery and once more after a final crash: every acknowledged record is present, in order, and
// nothing corrupt is returned.
import type { Workload, WorkloadOptions, WorkloadOutcome } from "../runner.js";
import { SimDisk } from "../sim-disk.js";
import type { EventHandle, Simulation } from "../simulation.js";
import { describeDiskLogKnobs, drawDiskLogKnobs, type DiskLogKnobs } from "./disk-log-knobs.js";
import { DiskLogModel } from "./disk-log-model.js";
import { DiskLogWriter, MAX_PAYLOAD_BYTES, type DiskLogPlantedBug } from "./disk-log-writer.js";
import { scanFile } from "./record-log.js";

/** Variants of the disk-log workload. */
export interface DiskLogWorkloadOptions {
  /** Build the writer with a known mistake (the sweep must then fail some seed). */
  readonly plantedBug?: DiskLogPlantedBug;
}

const LOG_DIR = "log";
const LOG_PATH = `${LOG_DIR}/00000000000000000000.records`;

function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Creates the disk-log workload (optionally with a planted bug). */
export function createDiskLogWorkload(options: DiskLogWorkloadOptions = {}): Workload {
  const bug = options.plantedBug;
  return {
    name: bug === undefined ? "disk-log" : `disk-log-${kebabCase(bug)}`,
    description:
      "checks the SimDisk fault model (not the product's log, which the broker workload runs): a small CRC-framed writer with group-commit fdatasync on a crashing, faulty SimDisk; " +
      "acknowledged records must survive every crash, in order, uncorrupted" +
      (bug === undefined ? "" : ` (planted bug: ${bug})`),
    run: (sim, runOptions) => new DiskLogRun(sim, drawDiskLogKnobs(sim.random("swarm")), bug).run(runOptions),
  };
}

/** One seed of the workload: the disk, the writer process, and the crash schedule. */
class DiskLogRun {
  private readonly disk: SimDisk;
  private readonly model = new DiskLogModel();
  private readonly counters: Record<string, number> = { crashes: 0, restarts: 0, panics: 0 };
  private writer: DiskLogWriter | undefined;
  private restartTimer: EventHandle | undefined;

  constructor(
    private readonly sim: Simulation,
    private readonly knobs: DiskLogKnobs,
    private readonly plantedBug: DiskLogPlantedBug | undefined,
  ) {
    this.disk = new SimDisk({ random: sim.random("disk"), nowMs: () => sim.nowMs, faults: knobs.faults });
  }

  run(options: WorkloadOptions): WorkloadOutcome {
    const { sim, model } = this;
    sim.trace(describeDiskLogKnobs(this.knobs));
    sim.addInvariant("acknowledgedRecordsSurvive", () => model.failure);
    this.scheduleRestart(0);
    this.scheduleCrash();
    if (!sim.runUntil(options.durationMs, options.maxEvents) && sim.violation === undefined) {
      return this.outcome(`event budget of ${options.maxEvents} exhausted at ${sim.nowMs}ms`);
    }
    if (sim.violation !== undefined) return this.outcome(undefined);
    return this.outcome(this.finalCheck());
  }

  /** A last crash with read faults off, then the same check recovery makes. */
  private finalCheck(): string | undefined {
    this.writer?.stop();
    this.disk.setFaults({ readErrorPerMille: 0 });
    this.crashDisk();
    const scan = scanFile(this.disk, LOG_PATH, MAX_PAYLOAD_BYTES);
    this.sim.trace(`final records=${scan.records.length} stop=${scan.stoppedBy}`);
    this.model.checkRecovered(scan.records);
    this.counters["finalRecords"] = scan.records.length;
    return this.model.failure;
  }

  private outcome(failure: string | undefined): WorkloadOutcome {
    const counters = { ...this.counters, appendedIds: this.model.appendedCount };
    return failure === undefined ? { ok: true, counters } : { ok: false, failure, counters };
  }

  private scheduleCrash(): void {
    const delayMs = this.sim.random("faults").between("crashDelayMs", 1, this.knobs.crashEveryMsMax);
    this.sim.scheduleAfter(delayMs, "diskLog.crash", () => {
      this.writer?.stop();
      this.writer = undefined;
      this.crashDisk();
      if (this.restartTimer === undefined) this.scheduleRestart(this.sim.random("faults").between("restartDelayMs", 1, this.knobs.restartDelayMsMax));
      this.scheduleCrash();
    });
  }

  private crashDisk(): void {
    const report = this.disk.crash();
    let applied = 0;
    let dropped = 0;
    let torn = 0;
    for (const w of report.writes) {
      if (w.fate.kind === "applied") applied++;
      else if (w.fate.kind === "dropped") dropped++;
      else torn++;
    }
    this.counters["crashes"] = (this.counters["crashes"] ?? 0) + 1;
    this.counters["tornWrites"] = (this.counters["tornWrites"] ?? 0) + torn;
    this.counters["droppedWrites"] = (this.counters["droppedWrites"] ?? 0) + dropped;
    this.sim.trace(`crash unsynced=${report.writes.length} applied=${applied} dropped=${dropped} torn=${torn}`);
  }

  private scheduleRestart(delayMs: number): void {
    this.restartTimer = this.sim.scheduleAfter(delayMs, "diskLog.restart", () => {
      this.restartTimer = undefined;
      this.counters["restarts"] = (this.counters["restarts"] ?? 0) + 1;
      const writer = new DiskLogWriter({
        sim: this.sim,
        disk: this.disk,
        path: LOG_PATH,
        model: this.model,
        knobs: this.knobs,
        counters: this.counters,
        plantedBug: this.plantedBug,
        onPanic: () => this.onPanic(),
      });
      if (writer.start()) this.writer = writer;
    });
  }

  private onPanic(): void {
    this.counters["panics"] = (this.counters["panics"] ?? 0) + 1;
    this.writer = undefined;
    if (this.restartTimer === undefined) this.scheduleRestart(this.sim.random("faults").between("restartDelayMs", 1, this.knobs.restartDelayMsMax));
  }
}
