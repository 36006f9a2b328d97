// The cluster workload's fault schedule while faults last: brokers crash (power loss) or shut
// down cleanly and restart from their disks after a while, and links between brokers are cut one
// direction at a time (an asymmetric partition), or both ways around one broker (isolate-one), then
// restored. The network's drop, delay, duplication and reordering are the SimNatsServer's knobs.
import type { SimNatsServer } from "../sim-nats.js";
import type { SimRandom } from "../sim-random.js";
import type { Simulation } from "../simulation.js";

/** What the fault schedule acts on. */
export interface ClusterFaultTarget {
  readonly ids: readonly string[];
  readonly server: SimNatsServer;
  /** True once the faults healed: the schedule stops. */
  readonly healed: boolean;
  readonly counters: { linkCuts: number };
  crash(i: number): void;
  stop(i: number): void;
  start(i: number): void;
  /** The index of a broker that believes it is the metadata leader, if any. */
  leaderIndex(): number | undefined;
}

/** Schedules the seed's crashes, clean restarts and link cuts (each on in some seeds, swarm style). */
export function scheduleClusterFaults(sim: Simulation, swarm: SimRandom, target: ClusterFaultTarget): void {
  if (swarm.chance("crashes", 3, 4)) scheduleCrashes(sim, swarm, target, swarm.pick("crashEveryMsMax", [1000, 3000, 8000]));
  if (swarm.chance("linkCuts", 2, 3)) scheduleCuts(sim, swarm, target, swarm.pick("cutEveryMsMax", [500, 2000, 5000]));
}

function scheduleCrashes(sim: Simulation, swarm: SimRandom, target: ClusterFaultTarget, everyMsMax: number): void {
  sim.scheduleAfter(swarm.between("crashInMs", 100, everyMsMax), "crash", () => {
    if (target.healed) return;
    const i = swarm.int("crashed", target.ids.length);
    const clean = swarm.chance("cleanRestart", 1, 3);
    sim.trace(`${clean ? "stop" : "crash"} ${target.ids[i] as string}`);
    if (clean) target.stop(i);
    else target.crash(i);
    sim.scheduleAfter(swarm.pick("restartDelayMs", [50, 500, 3000]), "restart", () => {
      if (!target.healed) target.start(i);
    });
    scheduleCrashes(sim, swarm, target, everyMsMax);
  });
}

function scheduleCuts(sim: Simulation, swarm: SimRandom, target: ClusterFaultTarget, everyMsMax: number): void {
  sim.scheduleAfter(swarm.between("cutInMs", 100, everyMsMax), "link cut", () => {
    if (target.healed) return;
    const ids = target.ids;
    // Half the time the controller is the one cut off (a stale leader is where Raft's traps are).
    const leader = swarm.chance("cutLeader", 1, 2) ? target.leaderIndex() : undefined;
    const a = leader ?? swarm.int("cutFrom", ids.length);
    const cuts: Array<[string, string]> = [];
    if (swarm.chance("isolateOne", 1, 3)) {
      for (const other of ids) if (other !== ids[a]) cuts.push([ids[a] as string, other], [other, ids[a] as string]);
    } else {
      const b = (a + 1 + swarm.int("cutTo", ids.length - 1)) % ids.length;
      cuts.push([ids[a] as string, ids[b] as string]);
    }
    for (const [from, to] of cuts) target.server.setLinkCut(from, to, true);
    target.counters.linkCuts++;
    sim.trace(`cut ${cuts.map(([f, t]) => `${f}>${t}`).join(" ")}`);
    sim.scheduleAfter(swarm.pick("cutForMs", [200, 1000, 4000]), "link restore", () => {
      for (const [from, to] of cuts) target.server.setLinkCut(from, to, false);
    });
    scheduleCuts(sim, swarm, target, everyMsMax);
  });
}
