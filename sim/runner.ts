// Runs one seed of one workload to a SeedResult. Pure of real time: wall-clock measurements belong
// to the command-line entry (sim/main.ts). Anything a seed throws (an assert in code under test, a
// TypeError from a bug) becomes a failed seed with its message, never a crash of the runner.
import { assert } from "../src/core/assert.js";
import { Simulation, type SimulationOptions } from "./simulation.js";
import { createBrokerWorkload } from "./workloads/broker-workload.js";
import { createDiskLogWorkload } from "./workloads/disk-log-workload.js";
import { createRaftWorkload } from "./workloads/raft-workload.js";
import { createLaneIsolationWorkload } from "./workloads/lane-isolation-workload.js";
import { createClusterWorkload } from "./workloads/cluster-workload.js";

/** How long and how hard a workload runs. */
export interface WorkloadOptions {
  /** Virtual milliseconds of activity before the final check. */
  readonly durationMs: number;
  /** A runaway guard: the most events a seed may deliver. */
  readonly maxEvents: number;
}

/** Counters a workload reports (appends, acks, crashes, ...), for coverage and sanity. */
export type Counters = Readonly<Record<string, number>>;

/** What a workload concluded. */
export interface WorkloadOutcome {
  readonly ok: boolean;
  readonly failure?: string;
  readonly counters: Counters;
}

/** A scenario the simulator can run for any seed. */
export interface Workload {
  readonly name: string;
  /** One sentence: what it exercises and what it checks. */
  readonly description: string;
  /** Virtual duration when the caller names none (the runner's default otherwise). */
  readonly defaultDurationMs?: number;
  run(sim: Simulation, options: WorkloadOptions): WorkloadOutcome;
}

/** The outcome of one seed. */
export interface SeedResult {
  readonly seed: number;
  readonly workload: string;
  readonly ok: boolean;
  readonly traceHash: string;
  readonly simMs: number;
  readonly events: number;
  readonly failure?: string;
  readonly counters: Counters;
}

/** Options of runSeed; every field has a default. */
export interface RunOptions extends Partial<WorkloadOptions>, SimulationOptions {
  /** A registered workload's name, or a Workload object (tests pass planted-bug variants). */
  readonly workload?: string | Workload;
}

/** The workload run when none is named. */
export const DEFAULT_WORKLOAD = "broker";
/** Default virtual duration of a seed. */
export const DEFAULT_DURATION_MS = 60_000;
/** Default runaway guard. */
export const DEFAULT_MAX_EVENTS = 1_000_000;

/** The correct workloads: every seed of each must pass. */
export const workloads: ReadonlyMap<string, Workload> = new Map(
  [
    createBrokerWorkload(),
    createDiskLogWorkload(),
    createRaftWorkload(),
    // The default sweep with one of its per-seed swarm knobs forced on in every seed.
    createBrokerWorkload({ compaction: true }), createBrokerWorkload({ readFaults: true }), createBrokerWorkload({ adminOps: true }),
    createLaneIsolationWorkload(),
    createClusterWorkload(),
  ].map((w) => [w.name, w]),
);
assert(workloads.get(DEFAULT_WORKLOAD)?.name === DEFAULT_WORKLOAD, "registry key and workload name disagree");

/** Workloads with a planted bug: the simulator must catch each within a bounded sweep. */
export const plantedBugWorkloads: ReadonlyMap<string, Workload> = new Map(
  [
    ...(["ackBeforeSync", "noRecoveryTruncate", "trustPagesAfterFsyncError"] as const).map((plantedBug) => createDiskLogWorkload({ plantedBug })),
    ...(["ackBeforePersist", "replyBeforePersist", "ackBeforeEarlierPersist", "readErrorThrows"] as const).map((plantedBug) => createBrokerWorkload({ plantedBug })),
    createBrokerWorkload({ unhealedNetwork: true }),
    createBrokerWorkload({ plantedBug: "replyBeforePersist", answeredCreatesCheck: false }),
    ...(["commitPreviousTermByCount", "noPreVote", "noCheckQuorum", "voteWithoutPersist"] as const).map((plantedBug) => createRaftWorkload({ plantedBug })),
    ...(["noFsyncBeforeHardState", "skipTruncateOnConflict"] as const).map((diskLogBug) => createRaftWorkload({ diskLogBug })),
    createLaneIsolationWorkload({ laneFailureStopsBroker: true }),
    createClusterWorkload({ brokerBug: "replyBeforePersist" }),
  ].map((w) => [w.name, w]),
);

/** Workloads that fail on known product bugs (findings to fix, then move to `workloads`). */
export const findingWorkloads: ReadonlyMap<string, Workload> = new Map<string, Workload>();

/** Looks a workload up in every registry. */
export function findWorkload(name: string): Workload | undefined {
  return workloads.get(name) ?? plantedBugWorkloads.get(name) ?? findingWorkloads.get(name);
}

/** Runs one seed and reports its result; deterministic: same seed and options, same result. */
export function runSeed(seed: number, options: RunOptions = {}): SeedResult {
  return runSeedDetailed(seed, options).result;
}

/** Like runSeed, and also hands back the finished Simulation (its draws and trace lines, if kept). */
export function runSeedDetailed(seed: number, options: RunOptions = {}): { readonly result: SeedResult; readonly sim: Simulation } {
  const workload = resolveWorkload(options.workload ?? DEFAULT_WORKLOAD);
  const workloadOptions: WorkloadOptions = {
    durationMs: options.durationMs ?? workload.defaultDurationMs ?? DEFAULT_DURATION_MS,
    maxEvents: options.maxEvents ?? DEFAULT_MAX_EVENTS,
  };
  const sim = new Simulation(seed, options);
  let outcome: WorkloadOutcome;
  try {
    outcome = workload.run(sim, workloadOptions);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : `thrown: ${String(error)}`;
    sim.trace(`crash ${message}`);
    outcome = { ok: false, failure: message, counters: {} };
  }
  const violation = sim.violation;
  if (violation !== undefined) {
    const message = `invariant ${violation.invariant} violated at ${violation.atMs}ms: ${violation.message}`;
    outcome = { ok: false, failure: message, counters: outcome.counters };
  }
  const base = { seed, workload: workload.name, ok: outcome.ok, traceHash: sim.traceHash, simMs: sim.nowMs, events: sim.events };
  const result: SeedResult =
    outcome.failure === undefined
      ? { ...base, counters: outcome.counters }
      : { ...base, failure: outcome.failure, counters: outcome.counters };
  return { result, sim };
}

function resolveWorkload(workload: string | Workload): Workload {
  if (typeof workload !== "string") return workload;
  const found = findWorkload(workload);
  if (found === undefined) {
    const names = [...workloads.keys(), ...plantedBugWorkloads.keys(), ...findingWorkloads.keys()].join(", ");
    throw new Error(`unknown workload "${workload}" (known: ${names})`);
  }
  return found;
}
