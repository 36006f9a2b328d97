// The faults a SimDisk injects, as knobs the simulator can turn at any time.
import { assert } from "../src/core/assert.js";

/**
 * Fault knobs of a SimDisk. Per-mille values are probabilities out of 1000. With every knob at zero a
 * crash still loses unsynced data: the crash knobs only shape how it is lost (see SimDisk.crash).
 */
export interface SimDiskFaults {
  /** fdatasync and syncDir fail with EIO; a failed fdatasync dooms the file's unsynced writes. */
  fsyncErrorPerMille: number;
  /** read fails with EIO (nothing is changed). */
  readErrorPerMille: number;
  /** A write that would make the total file bytes exceed this fails with ENOSPC; undefined: no limit. */
  capacityBytes: number | undefined;
  /** On crash, each unsynced write is torn with this probability (with dropped: see crash). */
  tornWritePerMille: number;
  /** On crash, each unsynced write or truncate is dropped with this probability. */
  droppedWritePerMille: number;
  /** On crash, each pending namespace op of a directory ends its surviving prefix with this probability. */
  lostDirEntryPerMille: number;
  /** latencyMs(kind) draws uniformly from 0..latencyMsMax. */
  latencyMsMax: number;
}

/** No injected faults (crashes still lose unsynced data). */
export const NO_SIM_DISK_FAULTS: SimDiskFaults = {
  fsyncErrorPerMille: 0,
  readErrorPerMille: 0,
  capacityBytes: undefined,
  tornWritePerMille: 0,
  droppedWritePerMille: 0,
  lostDirEntryPerMille: 0,
  latencyMsMax: 0,
};

/** `base` with `patch` applied, checked: per-mille knobs in 0..1000, torn + dropped <= 1000. */
export function mergeSimDiskFaults(base: SimDiskFaults, patch: Partial<SimDiskFaults>): SimDiskFaults {
  const merged: SimDiskFaults = { ...base };
  for (const key of Object.keys(patch) as (keyof SimDiskFaults)[]) {
    const value = patch[key];
    if (key === "capacityBytes") merged.capacityBytes = value;
    else if (value !== undefined) merged[key] = value;
  }
  const perMille = [
    merged.fsyncErrorPerMille,
    merged.readErrorPerMille,
    merged.tornWritePerMille,
    merged.droppedWritePerMille,
    merged.lostDirEntryPerMille,
  ];
  for (const p of perMille) assert(Number.isSafeInteger(p) && p >= 0 && p <= 1000, `SimDiskFaults: per-mille knob out of 0..1000: ${p}`);
  assert(merged.tornWritePerMille + merged.droppedWritePerMille <= 1000, "SimDiskFaults: torn + dropped must not exceed 1000");
  assert(Number.isSafeInteger(merged.latencyMsMax) && merged.latencyMsMax >= 0, "SimDiskFaults: latencyMsMax must be a non-negative integer");
  const cap = merged.capacityBytes;
  assert(cap === undefined || (Number.isSafeInteger(cap) && cap >= 0), "SimDiskFaults: capacityBytes must be a non-negative integer");
  return merged;
}
