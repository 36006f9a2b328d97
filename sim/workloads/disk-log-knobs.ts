// Per-seed ("swarm") knobs of the disk-log workload: each seed draws its own rates, so a sweep
// covers calm seeds, crash storms, flaky fsyncs and slow disks rather than one average mix.
import type { SimDiskFaults } from "../sim-disk.js";
import type { SimRandom } from "../sim-random.js";

/** How one seed of the disk-log workload behaves. */
export interface DiskLogKnobs {
  readonly appendEveryMsMax: number;
  readonly syncEveryMsMax: number;
  readonly crashEveryMsMax: number;
  readonly restartDelayMsMax: number;
  readonly fillerBytesMax: number;
  readonly faults: Partial<SimDiskFaults>;
}

/** Draws a seed's knobs from the "swarm" stream. */
export function drawDiskLogKnobs(random: SimRandom): DiskLogKnobs {
  const dropped = random.chance("droppedDefault", 1, 3) ? 0 : random.int("droppedWritePerMille", 1001);
  const torn = dropped === 0 ? 0 : random.int("tornWritePerMille", 1001 - dropped);
  return {
    appendEveryMsMax: random.between("appendEveryMsMax", 5, 60),
    syncEveryMsMax: random.between("syncEveryMsMax", 1, 60),
    crashEveryMsMax: random.pick("crashEveryMsMax", [2_000, 5_000, 15_000, 60_000]),
    restartDelayMsMax: random.between("restartDelayMsMax", 1, 200),
    fillerBytesMax: random.pick("fillerBytesMax", [0, 8, 64, 256]),
    faults: {
      droppedWritePerMille: dropped,
      tornWritePerMille: torn,
      fsyncErrorPerMille: random.chance("fsyncErrors", 1, 2) ? random.between("fsyncErrorPerMille", 1, 50) : 0,
      readErrorPerMille: random.chance("readErrors", 1, 2) ? random.between("readErrorPerMille", 1, 100) : 0,
      latencyMsMax: random.between("latencyMsMax", 0, 20),
    },
  };
}

/** The knobs as one trace line (printed at the start of every run). */
export function describeDiskLogKnobs(knobs: DiskLogKnobs): string {
  const f = knobs.faults;
  return (
    `knobs appendEveryMsMax=${knobs.appendEveryMsMax} syncEveryMsMax=${knobs.syncEveryMsMax} ` +
    `crashEveryMsMax=${knobs.crashEveryMsMax} restartDelayMsMax=${knobs.restartDelayMsMax} ` +
    `fillerBytesMax=${knobs.fillerBytesMax} dropped=${f.droppedWritePerMille} torn=${f.tornWritePerMille} ` +
    `fsyncError=${f.fsyncErrorPerMille} readError=${f.readErrorPerMille} latencyMsMax=${f.latencyMsMax}`
  );
}
