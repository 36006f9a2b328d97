// The Raft workload: a 3- or 5-node cluster (drawn per seed) of the real RaftNode, each member's log a
// RaftDiskLog on its own SimDisk, its messages frames through the simulated NATS (sim/raft/), under
// a faulty network, partitions, power-loss crashes, restarts and faulty clocks, with proposals,
// leadership transfers and (in some seeds) membership changes and snapshots; the safety properties
// are checked after every event (sim/raft/raft-checker.ts). Then the liveness phase: faults heal
// for a majority, a leader that every member follows must appear within two (randomized) election
// timeouts plus jitter, and the term must not change for 60 simulated seconds while one follower is
// cut off asymmetrically and then rejoins (PreVote and CheckQuorum at work); a last proposal must
// then commit everywhere.
import type { RaftDiskLogPlantedBugs } from "../../src/core/raft/raft-disk-log.js";
import type { RaftNode, RaftPlantedBugs } from "../../src/core/raft/raft-node.js";
import type { RaftNodeId } from "../../src/core/raft/raft-types.js";
import { QUIET_NETWORK, QUIET_SYNC_MS, quietFaults, SimRaftCluster, type RaftClusterOptions } from "../raft/raft-cluster.js";
import type { SimDiskFaults } from "../sim-disk.js";
import type { Workload, WorkloadOptions, WorkloadOutcome } from "../runner.js";
import type { Simulation } from "../simulation.js";
import type { SimRandom } from "../sim-random.js";

const TICK_MS = 200;
const ELECTION_TICKS = 10;
/** Two election timeouts at their randomized maximum (2 x electionTicks each), plus one of jitter. */
export const RAFT_LEADER_DEADLINE_MS = (2 * 2 * ELECTION_TICKS + ELECTION_TICKS) * TICK_MS;
/** How long the term must hold once a leader is settled. */
export const RAFT_STABLE_WINDOW_MS = 60_000;
const FINAL_COMMIT_MS = 3_000;

/** Which planted bug (if any) the cluster runs with: in the Raft node, or in its log on disk. */
export interface RaftWorkloadOptions {
  readonly plantedBug?: keyof RaftPlantedBugs;
  readonly diskLogBug?: keyof RaftDiskLogPlantedBugs;
}

type PlantedBug = { readonly raft: keyof RaftPlantedBugs } | { readonly diskLog: keyof RaftDiskLogPlantedBugs } | undefined;

interface Shape {
  readonly ids: readonly RaftNodeId[];
  readonly voters: readonly RaftNodeId[];
  readonly membership: boolean;
  readonly faultKinds: readonly string[];
}

interface RunState {
  active: boolean;
  proposalSeq: number;
  readonly counts: Map<string, number>;
}

function bump(state: RunState, what: string, n = 1): void {
  state.counts.set(what, (state.counts.get(what) ?? 0) + n);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The raft workload, or a planted-bug variant named raft-<bug> (raft-disk-<bug> for the log on disk). */
export function createRaftWorkload(options: RaftWorkloadOptions = {}): Workload {
  const bug: PlantedBug = options.plantedBug !== undefined ? { raft: options.plantedBug } : options.diskLogBug !== undefined ? { diskLog: options.diskLogBug } : undefined;
  const name = bug === undefined ? "raft" : "raft" in bug ? `raft-${kebab(bug.raft)}` : `raft-disk-${kebab(bug.diskLog)}`;
  return {
    name,
    description:
      "3 or 5 Raft nodes, each a RaftDiskLog on its own SimDisk, talking through the simulated NATS, under drops, duplicates, delays, reordering, " +
      "partitions (symmetric, one-way, isolate-one, majorities ring), power-loss crashes, restarts, late timers and clock jumps, with membership changes and snapshots in some seeds; " +
      "Election Safety, Log Matching, Leader Completeness, State Machine Safety and monotonic commits after every event, then a leader within two election timeouts and a term stable for 60 s",
    defaultDurationMs: 20_000,
    run: (sim, workloadOptions) => runRaftSeed(sim, workloadOptions, bug),
  };
}

const FAULT_KINDS = ["symmetric", "asymmetric", "isolate", "ring", "crash", "network", "clock", "jump", "disconnect", "transfer"] as const;

function drawShape(r: SimRandom): Shape {
  const size = r.pick("raftClusterSize", [3, 5]);
  const membership = r.chance("raftMembership", 1, 3);
  const ids = Array.from({ length: size + (membership ? 1 : 0) }, (_, i) => `n${i + 1}`);
  // Swarm testing: each seed enables its own subset of fault kinds.
  const faultKinds = FAULT_KINDS.filter((kind) => r.chance(`raftFault_${kind}`, 2, 3));
  return { ids, voters: ids.slice(0, size), membership, faultKinds };
}

/** How a crash loses unsynced writes: SimDisk's even odds, or drawn knobs. */
function drawCrashFaults(r: SimRandom): Partial<SimDiskFaults> {
  if (r.chance("raftCrashDefaultOdds", 1, 2)) return {};
  const tornWritePerMille = r.between("raftTornWrite", 0, 500);
  return { tornWritePerMille, droppedWritePerMille: r.between("raftDroppedWrite", 0, 1000 - tornWritePerMille), lostDirEntryPerMille: r.between("raftLostDirEntry", 0, 1000) };
}

function clusterOptions(r: SimRandom, shape: Shape, bug: PlantedBug): RaftClusterOptions {
  const snapshotEvery = r.chance("raftSnapshots", 1, 2) ? r.between("raftSnapshotEvery", 3, 40) : 0;
  // Small segments and hard state files in some seeds, so rolls, cuts across segments and rewrites happen.
  const diskLog = {
    segmentMaxBytes: r.pick("raftSegmentMaxBytes", [200, 1_000, 1 << 20]),
    hardStateRewriteBytes: r.pick("raftHardStateRewriteBytes", [150, 1_000, 1 << 16]),
    ...(bug !== undefined && "diskLog" in bug ? { plantedBugs: { [bug.diskLog]: true } } : {}),
  };
  return {
    ids: shape.ids, voters: shape.voters, tickMs: TICK_MS, electionTicks: ELECTION_TICKS, snapshotEvery,
    maxSizePerMsgBytes: r.pick("raftMaxSizePerMsg", [1, 64, 4096]), maxInflightMsgs: r.pick("raftMaxInflight", [1, 4, 64]),
    diskLog, diskFaults: drawCrashFaults(r),
    ...(bug !== undefined && "raft" in bug ? { plantedBugs: { [bug.raft]: true } } : {}),
  };
}

function runRaftSeed(sim: Simulation, options: WorkloadOptions, bug: PlantedBug): WorkloadOutcome {
  const r = sim.random("raft-workload");
  const shape = drawShape(r);
  const cluster = new SimRaftCluster(sim, clusterOptions(r, shape, bug));
  const state: RunState = { active: true, proposalSeq: 0, counts: new Map() };
  scheduleProposals(sim, cluster, r, state);
  scheduleFaults(sim, cluster, sim.random("raft-faults"), shape, state);
  const counters = (): Record<string, number> => ({
    ...cluster.counters(), ...Object.fromEntries(state.counts), committed: cluster.checker.committedCount,
    leaderTerms: cluster.checker.leaderTerms, nodes: shape.voters.length,
  });
  if (!sim.runUntil(options.durationMs, options.maxEvents)) return { ok: false, failure: "safety phase stopped (invariant or event budget)", counters: counters() };
  state.active = false;
  const failure = runLiveness(sim, cluster, r, state);
  return failure === undefined ? { ok: true, counters: counters() } : { ok: false, failure, counters: counters() };
}

function scheduleProposals(sim: Simulation, cluster: SimRaftCluster, r: SimRandom, state: RunState): void {
  const next = (): void => {
    if (!state.active) return;
    const leader = cluster.leader();
    if (leader !== undefined) {
      const data = new TextEncoder().encode(`p${++state.proposalSeq}`);
      const result = cluster.withNode(leader.id, (node) => node.propose(data));
      bump(state, result?.ok === true ? "proposals" : "proposalsRefused");
    }
    sim.scheduleAfter(r.between("raftProposalGapMs", 5, 400), "raft propose", next);
  };
  sim.scheduleAfter(r.between("raftProposalGapMs", 5, 400), "raft propose", next);
}

function scheduleFaults(sim: Simulation, cluster: SimRaftCluster, f: SimRandom, shape: Shape, state: RunState): void {
  const kinds = shape.membership ? [...shape.faultKinds, "membership", "membership"] : shape.faultKinds;
  const next = (): void => {
    if (!state.active) return;
    if (kinds.length > 0) {
      const kind = f.pick("raftFaultKind", kinds);
      bump(state, `fault_${kind}`);
      applyFault(sim, cluster, f, kind);
      if (f.chance("raftHeal", 1, 3)) cluster.healLinks();
    }
    sim.scheduleAfter(f.between("raftFaultGapMs", 100, 2_000), "raft fault", next);
  };
  sim.scheduleAfter(f.between("raftFaultGapMs", 100, 2_000), "raft fault", next);
}

/** Two non-empty sides: each id on side true or false. */
function drawSides(f: SimRandom, ids: readonly RaftNodeId[]): Map<RaftNodeId, boolean> {
  const first = f.between("raftSideSize", 1, ids.length - 1);
  const shuffled = shuffle(f, ids);
  return new Map(shuffled.map((id, i) => [id, i < first]));
}

function shuffle(f: SimRandom, ids: readonly RaftNodeId[]): RaftNodeId[] {
  const out = [...ids];
  for (let i = out.length - 1; i > 0; i--) {
    const j = f.int("raftShuffle", i + 1);
    [out[i], out[j]] = [out[j] as RaftNodeId, out[i] as RaftNodeId];
  }
  return out;
}

/** Partitions in the simulated NATS: symmetric split, one-way split, isolate-one, majorities ring. */
function applyPartition(cluster: SimRaftCluster, f: SimRandom, kind: "symmetric" | "asymmetric" | "isolate" | "ring"): void {
  const ids = cluster.ids;
  switch (kind) {
    case "symmetric": {
      const side = drawSides(f, ids);
      for (const a of ids) for (const b of ids) if (side.get(a) !== side.get(b)) cluster.setLink(a, b, false);
      return;
    }
    case "asymmetric": {
      // One direction only: the true side no longer hears the false side, which still hears it.
      const side = drawSides(f, ids);
      for (const a of ids) for (const b of ids) if (side.get(a) === false && side.get(b) === true) cluster.setLink(a, b, false);
      return;
    }
    case "isolate": {
      const victim = f.pick("raftIsolated", ids);
      for (const other of ids) {
        if (other === victim) continue;
        cluster.setLink(victim, other, false);
        cluster.setLink(other, victim, false);
      }
      return;
    }
    case "ring": {
      // Each node reaches only its ring neighbours: every node sees a majority, no two the same one.
      // Three in a row: the ends cannot hear each other, the middle one hears both.
      const ring = shuffle(f, ids);
      const n = ring.length;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        const d = Math.min((i - j + n) % n, (j - i + n) % n);
        if (d > 1) cluster.setLink(ring[i] as RaftNodeId, ring[j] as RaftNodeId, false);
      }
      if (n === 3) {
        cluster.setLink(ring[0] as RaftNodeId, ring[2] as RaftNodeId, false);
        cluster.setLink(ring[2] as RaftNodeId, ring[0] as RaftNodeId, false);
      }
      return;
    }
  }
}

function applyFault(sim: Simulation, cluster: SimRaftCluster, f: SimRandom, kind: string): void {
  const ids = cluster.ids;
  switch (kind) {
    case "symmetric":
    case "asymmetric":
    case "isolate":
    case "ring":
      return applyPartition(cluster, f, kind);
    case "crash": {
      const victim = f.pick("raftCrashed", ids);
      const downtimeMs = f.between("raftDowntimeMs", 1, 4_000);
      // Half the crashes wait for the victim's next sync, so its unsynced writes are at stake.
      if (f.chance("raftCrashMidSync", 1, 2)) return cluster.crashAtNextSync(victim, downtimeMs);
      cluster.crash(victim);
      sim.scheduleAfter(downtimeMs, `raft restart ${victim}`, () => cluster.restart(victim));
      return;
    }
    case "network": {
      const tailDelayMsMax = f.between("raftLongMax", 60, 1_500);
      cluster.setNetwork({
        dropPerMille: f.between("raftDrop", 0, 300), duplicatePerMille: f.between("raftDup", 0, 150), delayMsMax: f.between("raftMaxDelay", 0, 60),
        tailPerMille: f.between("raftLong", 0, 60), tailDelayMsMax, reorder: f.chance("raftReorder", 1, 2),
      });
      cluster.setSyncLatency(f.between("raftSyncMs", 0, 25));
      Object.assign(cluster.faults, { crashAfterVotePer1000: f.between("raftCrashVote", 0, 1_000), crashNewLeaderPer1000: f.between("raftCrashNewLeader", 0, 500) });
      return;
    }
    case "clock":
      Object.assign(cluster.faults, { lateTickPer1000: f.between("raftLate", 0, 300), lateTickMaxMs: f.between("raftLateMax", 1, 400), tickJumpPer1000: f.between("raftJump", 0, 30) });
      return;
    case "jump":
      // A node's clock jumps forward (a VM resumed, NTP stepped): its missed ticks fire at once.
      cluster.jumpClock(f.pick("raftJumped", ids), f.between("raftJumpTicks", 2, 3 * ELECTION_TICKS));
      return;
    case "disconnect":
      cluster.disconnect(f.pick("raftDisconnected", ids), f.between("raftDisconnectMs", 1, 3_000));
      return;
    case "transfer": {
      const leader = cluster.leader();
      if (leader !== undefined) cluster.withNode(leader.id, (node) => node.transferLeadership(f.pick("raftTransferTo", node.confState().voters)));
      return;
    }
    default:
      // Membership seeds run one spare beyond the initial voters.
      changeMembership(cluster, f, ids.length - 1);
  }
}

/** One server at a time: add the spare as a learner, promote it, then remove some voter (the next spare). */
function changeMembership(cluster: SimRaftCluster, f: SimRandom, baseVoters: number): void {
  const leader = cluster.leader();
  if (leader === undefined) return;
  const conf = leader.confState();
  const spares = cluster.ids.filter((id) => !conf.voters.includes(id) && !conf.learners.includes(id));
  cluster.withNode(leader.id, (node) => {
    const learner = conf.learners[0];
    if (learner !== undefined) return node.proposeConfChange({ type: "promoteLearner", nodeId: learner });
    if (conf.voters.length > baseVoters) return node.proposeConfChange({ type: "removeNode", nodeId: f.pick("raftRemoved", conf.voters) });
    const spare = spares[0];
    return spare === undefined ? undefined : node.proposeConfChange({ type: "addLearner", nodeId: spare });
  });
}

/** A leader every running member of its configuration follows, in its term. */
function settledLeader(cluster: SimRaftCluster): RaftNode | undefined {
  const leader = cluster.leader();
  // Settled means nothing left over from the faulty phase can still move leadership: no transfer,
  // no membership change (which might remove the leader) in flight.
  if (leader === undefined || leader.transferee !== "" || leader.confChangePending) return undefined;
  const conf = leader.confState();
  for (const id of [...conf.voters, ...conf.learners]) {
    const node = cluster.node(id);
    if (node === undefined || node.term !== leader.term || node.lead !== leader.id) return undefined;
  }
  return leader;
}

/** Runs the simulation `ms` further in steps of one tick, stopping early when `stop` returns a reason. */
function runFor(sim: Simulation, ms: number, stop: () => string | undefined): string | undefined {
  const end = sim.nowMs + ms;
  while (sim.nowMs < end) {
    if (!sim.runUntil(Math.min(end, sim.nowMs + TICK_MS))) return "stopped (invariant)";
    const reason = stop();
    if (reason !== undefined) return reason;
  }
  return undefined;
}

function runLiveness(sim: Simulation, cluster: SimRaftCluster, r: SimRandom, state: RunState): string | undefined {
  Object.assign(cluster.faults, quietFaults());
  cluster.setNetwork(QUIET_NETWORK);
  cluster.setSyncLatency(QUIET_SYNC_MS);
  cluster.disarmCrashes();
  cluster.healLinks();
  cluster.reconnectAll();
  for (const id of cluster.ids) cluster.restart(id);
  const healedMs = sim.nowMs;
  let leader: RaftNode | undefined;
  runFor(sim, RAFT_LEADER_DEADLINE_MS, () => ((leader = settledLeader(cluster)) !== undefined ? "settled" : undefined));
  if (sim.violation !== undefined) return undefined;
  if (leader === undefined) return `liveness: no leader followed by all members within ${RAFT_LEADER_DEADLINE_MS}ms of healing`;
  bump(state, "leaderAfterHealMs", sim.nowMs - healedMs);
  const settled: RaftNode = leader;
  const term = settled.term;
  const conf = settled.confState();
  const followers = [...conf.voters, ...conf.learners].filter((id) => id !== settled.id);
  const cutOff = r.pick("raftLivenessCutOff", followers);
  // "leaderDeaf": hears all but the leader, so it campaigns while the others still follow the
  // leader (PreVote and the CheckQuorum lease keep their terms); "deaf": hears nobody; "mute": reaches nobody.
  const mode = r.pick("raftLivenessMode", ["leaderDeaf", "leaderDeaf", "leaderDeaf", "deaf", "mute"] as const);
  if (mode === "leaderDeaf") cluster.setLink(settled.id, cutOff, false);
  for (const other of mode === "leaderDeaf" ? [] : cluster.ids) if (other !== cutOff) cluster.setLink(mode === "deaf" ? other : cutOff, mode === "deaf" ? cutOff : other, false);
  const rejoinMs = sim.nowMs + r.between("raftLivenessRejoinMs", RAFT_STABLE_WINDOW_MS / 3, (2 * RAFT_STABLE_WINDOW_MS) / 3);
  const churn = runFor(sim, RAFT_STABLE_WINDOW_MS, () => {
    if (sim.nowMs >= rejoinMs) cluster.healLinks();
    for (const id of [...conf.voters, ...conf.learners]) {
      const node = cluster.node(id);
      if (id === cutOff && sim.nowMs < rejoinMs) continue;
      if (node !== undefined && node.term !== term) return `liveness: term changed from ${term} to ${node.term} on ${id} at ${sim.nowMs}ms (${cutOff} ${mode} until ${rejoinMs}ms)`;
    }
    return settled.role === "leader" ? undefined : `liveness: ${settled.id} lost leadership of term ${term} at ${sim.nowMs}ms`;
  });
  if (sim.violation !== undefined) return undefined;
  if (churn !== undefined) return churn;
  return checkFinalCommit(sim, cluster, settled);
}

function checkFinalCommit(sim: Simulation, cluster: SimRaftCluster, leader: RaftNode): string | undefined {
  // The membership as it is now: a change committed during the window may have removed a member.
  const members = [...leader.confState().voters, ...leader.confState().learners];
  const proposed = cluster.withNode(leader.id, (node) => node.propose(new TextEncoder().encode("final")));
  if (proposed?.ok !== true) return `liveness: the settled leader refused the final proposal (${proposed?.ok === false ? proposed.error.message : "down"})`;
  runFor(sim, FINAL_COMMIT_MS, () => (members.every((id) => cluster.appliedIndex(id) >= proposed.index) ? "done" : undefined));
  if (sim.violation !== undefined) return undefined;
  const behind = members.filter((id) => cluster.appliedIndex(id) < proposed.index);
  return behind.length === 0 ? undefined : `liveness: ${behind.join(", ")} did not apply the final entry ${proposed.index} within ${FINAL_COMMIT_MS}ms`;
}
