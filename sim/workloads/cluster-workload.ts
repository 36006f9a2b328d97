// The "cluster" workload: whole brokers (3, or 5 in some seeds) forming a metadata Raft cluster,
// each its own SimDisk and SimNats connection on one SimNatsServer, sending each other everything
// (Raft, propagate, join, info) over it. Broker b1 bootstraps as the seed and the others join it, or
// all start from the same peer list. Clients create, delete, pause and set readonly a few stream
// names concurrently through different brokers while the network drops, delays, duplicates and
// reorders, links are cut one direction at a time, and brokers crash (losing unsynced writes; some
// seeds while an fdatasync is in flight) or shut down cleanly and restart from their disks. Election
// Safety is checked after every event. Then everything heals: every broker must hold the
// same streams, one controller must lead, a CreateStream through each broker must succeed, the
// history of creates and deletes must be linearizable per name, and no broker may have removed the
// directory of a live stream it leads (the stale view, see cluster-checks.ts).
import type { ApiResponse, BrokerEffect } from "../../src/core/broker/api-types.js";
import type { Broker } from "../../src/core/broker/broker.js";
import type { BrokerConfig } from "../../src/core/broker/broker-config.js";
import type { Result } from "../../src/core/errors.js";
import type { RaftBootstrap } from "../../src/core/metadata/metadata-raft.js";
import { LIFTBRIDGE_STREAM_DEFAULTS } from "../../src/core/metadata/stream-config.js";
import type { RaftPlantedBugs } from "../../src/core/raft/raft-node.js";
import { nodeId } from "../../src/core/types.js";
import { partitionKey } from "../../src/core/broker/broker-state.js";
import { createWireCodec } from "../../src/io/broker-wire-codec.js";
import type { Workload, WorkloadOptions, WorkloadOutcome } from "../runner.js";
import { SimBrokerNode } from "../sim-broker-node.js";
import { drawSimNatsFaults, NO_SIM_NATS_FAULTS, SimNatsServer, type SimNatsConnection } from "../sim-nats.js";
import type { SimRandom } from "../sim-random.js";
import type { Simulation } from "../simulation.js";
import { checkConverged, checkLeadersServe, describeRaft, checkRemovals, incarnation, StreamDirWatchDisk, type StreamDirRemoval } from "./cluster-checks.js";
import { ClusterClients, createRequest } from "./cluster-clients.js";
import { scheduleClusterFaults, type ClusterFaultTarget } from "./cluster-faults.js";

/** Virtual milliseconds after healing for elections, joins and restarts to settle. */
const SETTLE_MS = 8_000;
/** Virtual milliseconds the final CreateStreams (one per broker) may take. */
const FINAL_CREATES_MS = 6_000;

/** Variants of the cluster workload (planted bugs the sweep must catch). */
export interface ClusterWorkloadOptions {
  /** A broker bug (BrokerConfig.plantedBugs) planted in every broker. */
  readonly brokerBug?: "replyBeforePersist" | "deleteUnknownStreamDirs";
  /** A Raft bug (config.raft.plantedBugs) planted in every broker. */
  readonly raftBug?: keyof RaftPlantedBugs;
  /** How many brokers: drawn per seed (3, or 5 in a quarter of the seeds) when undefined. */
  readonly brokers?: number;
}

/** The cluster workload (optionally with a planted bug). */
export function createClusterWorkload(options: ClusterWorkloadOptions = {}): Workload {
  const bug = options.brokerBug ?? options.raftBug;
  return {
    name: bug === undefined ? "cluster" : `cluster-${bug}`,
    description: "3 or 5 whole brokers forming a metadata Raft cluster over a faulty SimNats with crashes and restarts; " +
      "checks linearizable CreateStream/DeleteStream per name, convergence, a controller, final creates, no stale-view removals",
    defaultDurationMs: 6_000,
    run: (sim, o) => new ClusterRun(sim, sim.random("swarm"), options).run(o),
  };
}

class ClusterRun implements ClusterFaultTarget {
  readonly ids: string[];
  readonly nodes: SimBrokerNode[] = [];
  private readonly disks: StreamDirWatchDisk[] = [];
  readonly server: SimNatsServer;
  private readonly clients: ClusterClients;
  private readonly callbacks: Array<Map<number, (result: Result<ApiResponse>) => void>> = [];
  private readonly held: Array<Map<string, string>> = [];
  private readonly removals: StreamDirRemoval[] = [];
  private readonly bootstrap: "seed" | "peers";
  private readonly connections: SimNatsConnection[] = [];
  /** Brokers whose Raft log a failed fdatasync left untrustworthy: down for good, left out of the final checks. */
  private readonly untrusted = new Set<number>();
  private readonly diskFaults: { readonly fsyncErrorPerMille: number; readonly latencyMsMax: number };
  private readonly snapshotEntries: number;
  private readonly midSync: SimRandom;
  private readonly midSyncPerMille: number;
  /** The leader seen in each term (Election Safety). */
  private readonly leaders = new Map<number, string>();
  private nextRequestId = 1;
  healed = false;
  private failure: string | undefined;
  readonly counters = { crashes: 0, cleanRestarts: 0, fatalExits: 0, linkCuts: 0, staleRestarts: 0, dirRemovals: 0, untrustedLogs: 0, crashesMidSync: 0 };

  constructor(
    private readonly sim: Simulation,
    private readonly swarm: SimRandom,
    private readonly options: ClusterWorkloadOptions,
  ) {
    const n = options.brokers ?? (swarm.chance("fiveBrokers", 1, 4) ? 5 : 3);
    this.ids = Array.from({ length: n }, (_, i) => `b${i + 1}`);
    this.bootstrap = swarm.chance("peersBootstrap", 1, 3) ? "peers" : "seed";
    this.server = new SimNatsServer(sim, sim.random("nats"), drawSimNatsFaults(swarm));
    this.diskFaults = { fsyncErrorPerMille: swarm.chance("fsyncErrors", 1, 4) ? swarm.between("fsyncErrorPerMille", 1, 3) : 0, latencyMsMax: swarm.between("diskLatencyMsMax", 0, 5) };
    this.snapshotEntries = swarm.pick("snapshotEntries", [8, 64, 1024]);
    this.midSync = sim.random("midSync");
    this.midSyncPerMille = swarm.chance("crashesMidSync", 1, 3) ? swarm.pick("crashMidSyncPerMille", [2, 10, 30]) : 0;
    this.ids.forEach((id, i) => {
      this.connections.push(this.server.connect(id));
      this.callbacks.push(new Map());
      this.held.push(new Map());
      this.disks.push(this.newDisk(i));
      this.nodes.push(this.newNode(i));
    });
    this.clients = new ClusterClients(sim, sim.random("clients"), n, (b, request, onResult) => this.api(b, request, onResult));
  }

  private newDisk(i: number): StreamDirWatchDisk {
    const id = this.ids[i] as string;
    return new StreamDirWatchDisk({ random: this.sim.random(`disk-${id}`), nowMs: () => this.sim.nowMs, faults: this.healed ? {} : this.diskFaults }, (name) => this.onRemoved(i, name));
  }

  private newNode(i: number): SimBrokerNode {
    const id = this.ids[i] as string;
    const node = new SimBrokerNode(this.sim, this.disks[i] as StreamDirWatchDisk, this.connections[i] as SimNatsConnection, createWireCodec(), this.config(id, i, this.snapshotEntries));
    node.onEffect = (e) => this.onEffect(i, e);
    node.beforeStep = (b) => this.remember(i, b);
    node.onThreadPoolOp = (op) => this.maybeCrashMidSync(i, op.kind);
    return node;
  }

  private config(id: string, index: number, snapshotEntries: number): BrokerConfig {
    const bootstrap: RaftBootstrap = this.bootstrap === "peers" ? { kind: "peers", peers: this.ids } : index === 0 ? { kind: "seed" } : { kind: "join" };
    return {
      serverId: nodeId(id), namespace: "sim", host: `host-${id}`, port: 9292 + index, dataDir: "",
      streamDefaults: { ...LIFTBRIDGE_STREAM_DEFAULTS, cleanerIntervalMs: 1000 },
      syncPolicy: "always", syncIntervalMs: 10, replicationMaxBytes: 1_048_576, batchMaxMessages: 64,
      subscriberBatchMaxBytes: 65536, hwCheckpointIntervalMs: 1000,
      raft: {
        bootstrap, tickMs: 100, electionTicks: 10, heartbeatTicks: 1, maxQuorumSize: 5, snapshotEntries,
        ...(this.options.raftBug !== undefined ? { plantedBugs: { [this.options.raftBug]: true } } : {}),
      },
      ...(this.options.brokerBug !== undefined ? { plantedBugs: { [this.options.brokerBug]: true } } : {}),
    };
  }

  run(options: WorkloadOptions): WorkloadOutcome {
    const f = this.server.faults;
    this.sim.trace(`knobs brokers=${this.ids.length} bootstrap=${this.bootstrap} drop=${f.dropPerMille} dup=${f.duplicatePerMille} delay=${f.delayMsMax} tail=${f.tailPerMille}/${f.tailDelayMsMax} reorder=${f.reorder}`);
    this.nodes.forEach((_, i) => this.sim.scheduleAfter(i === 0 ? 0 : this.swarm.between("startDelayMs", 0, 500), "start", () => this.start(i)));
    this.sim.scheduleAfter(100, "fatal watch", () => this.watchFatal());
    this.sim.addInvariant("electionSafety", () => this.electionSafety());
    this.clients.start(this.swarm.between("clients", 2, 4), this.swarm.pick("clientEveryMsMax", [50, 300, 1000]), () => this.healed);
    scheduleClusterFaults(this.sim, this.swarm, this);
    this.sim.runUntil(options.durationMs, options.maxEvents);
    this.heal();
    this.sim.runUntil(this.sim.nowMs + SETTLE_MS, options.maxEvents);
    this.finalCreates(options.maxEvents);
    return this.finish();
  }

  /** Starts broker `i` from its disk (a refused start is retried, as a supervisor would). */
  start(i: number): void {
    const node = this.nodes[i] as SimBrokerNode;
    if (node.broker !== undefined) return;
    if (!node.start()) {
      // A failed fdatasync left its Raft log untrustworthy: it refuses to start, as designed, and
      // stays down (wiping it and rejoining under the same id would break Raft's durability).
      if (node.refusal?.includes("the Raft log cannot be trusted") === true) {
        this.untrusted.add(i);
        return;
      }
      this.sim.scheduleAfter(200, "restart retry", () => this.start(i));
      return;
    }
    const applied = (node.broker as Broker | undefined)?.view.metadata.lastAppliedIndex ?? 0;
    const ahead = this.nodes.some((o) => o.broker !== undefined && o !== node && o.broker.view.metadata.lastAppliedIndex > applied);
    if (ahead) this.counters.staleRestarts++;
  }

  /** Power loss on broker `i`: unsynced writes lost, unanswered requests never answered. */
  crash(i: number): void {
    const node = this.nodes[i] as SimBrokerNode;
    if (node.broker === undefined) return;
    this.counters.crashes++;
    node.crash();
    this.callbacks[i]?.clear();
  }

  /** A clean shutdown of broker `i` (the shutdown input, then the process exits). */
  stop(i: number): void {
    const node = this.nodes[i] as SimBrokerNode;
    if (node.broker === undefined) return;
    this.counters.cleanRestarts++;
    node.input((t) => ({ kind: "shutdown", ...t }));
    this.sim.scheduleAfter(20, "exit", () => {
      node.exit();
      this.callbacks[i]?.clear();
      // Healed meanwhile: nothing else restarts it.
      if (this.healed) this.start(i);
    });
  }

  /** Some seeds crash a broker while one of its fdatasyncs is in flight (what was sent before it completes must not matter). */
  private maybeCrashMidSync(i: number, kind: string): void {
    if (this.healed || kind !== "fdatasync" || !this.midSync.chance("crashMidSync", this.midSyncPerMille, 1000)) return;
    this.counters.crashesMidSync++;
    this.sim.scheduleAfter(0, "crash mid-sync", () => {
      if (this.healed || this.nodes[i]?.broker === undefined) return;
      this.sim.trace(`crash ${this.ids[i] as string} mid-sync`);
      this.crash(i);
      this.sim.scheduleAfter(this.midSync.pick("midSyncRestartMs", [10, 300, 2000]), "restart", () => {
        if (!this.healed) this.start(i);
      });
    });
  }

  /** Election Safety across the brokers' metadata Raft: at most one leader per term, ever. */
  private electionSafety(): string | undefined {
    for (let i = 0; i < this.nodes.length; i++) {
      const node = this.nodes[i]?.broker?.view.raft.node;
      if (node === undefined || node.role !== "leader") continue;
      const id = this.ids[i] as string;
      const earlier = this.leaders.get(node.term);
      if (earlier === undefined) this.leaders.set(node.term, id);
      else if (earlier !== id) return `two metadata leaders in term ${node.term}: ${earlier} and ${id}`;
    }
    return undefined;
  }

  leaderIndex(): number | undefined {
    const at = this.nodes.findIndex((n) => n.broker?.view.raft.node.role === "leader");
    return at < 0 ? undefined : at;
  }

  /** A broker that must exit (state.fatal) exits, and its supervisor starts it again a second later. */
  private watchFatal(): void {
    this.nodes.forEach((node, i) => {
      const fatal = node.broker?.view.fatal;
      if (fatal === undefined) return;
      this.counters.fatalExits++;
      this.sim.trace(`fatal ${this.ids[i] as string}: ${fatal}`);
      if (fatal.includes("already runs")) this.fail(`broker ${this.ids[i] as string} found a second cluster: ${fatal}`);
      node.exit();
      this.callbacks[i]?.clear();
      this.sim.scheduleAfter(1000, "restart after fatal", () => this.start(i));
    });
    this.sim.scheduleAfter(100, "fatal watch", () => this.watchFatal());
  }

  /** Faults end: the network heals, disks stop failing, every broker (a failed one restarted) runs. */
  private heal(): void {
    this.healed = true;
    this.sim.trace("heal");
    this.server.setFaults(NO_SIM_NATS_FAULTS);
    this.server.healLinks();
    for (const d of this.disks) d.setFaults({ fsyncErrorPerMille: 0, latencyMsMax: 0 });
    this.nodes.forEach((node, i) => {
      // A fail-stopped broker (its disk failed) writes nothing until restarted.
      if (node.broker?.view.failed !== undefined) this.crash(i);
      this.start(i);
    });
  }

  /** A CreateStream through each broker; every one must succeed. */
  private finalCreates(maxEvents: number): void {
    const answered = new Map<string, string>();
    const running = this.ids.filter((_, i) => !this.untrusted.has(i));
    this.ids.forEach((id, i) => {
      const name = `final-${id}`;
      if (!this.untrusted.has(i)) this.api(i, createRequest(name, 1), (r) => answered.set(name, r.ok ? "ok" : `${r.error.code} ${r.error.message}`));
    });
    this.sim.runUntil(this.sim.nowMs + FINAL_CREATES_MS, maxEvents);
    for (const id of running) {
      const got = answered.get(`final-${id}`);
      if (got !== "ok") this.fail(`the final CreateStream through ${id} got ${got ?? "no answer"} [${this.nodes.map((n, i) => describeRaft(this.ids[i] as string, n.broker)).join(" ")}]`);
    }
    // Followers learn the last commit from the next heartbeat.
    this.sim.runUntil(this.sim.nowMs + 1000, maxEvents);
  }

  private finish(): WorkloadOutcome {
    const live = new Map<string, Broker>();
    this.nodes.forEach((n, i) => {
      if (n.broker !== undefined) live.set(this.ids[i] as string, n.broker);
    });
    this.counters.untrustedLogs = this.untrusted.size;
    if (2 * this.untrusted.size >= this.ids.length) this.fail(`${this.untrusted.size} of ${this.ids.length} brokers refuse their Raft log: no majority left (more fsync errors than the cluster survives)`);
    if (live.size !== this.ids.length - this.untrusted.size) this.fail(`only ${live.size} of ${this.ids.length} brokers run after healing (${this.untrusted.size} refused their Raft log)`);
    this.failure ??= checkConverged(live);
    const first = [...live.values()][0];
    if (first !== undefined) {
      const streams = first.view.metadata.streams;
      this.failure ??= this.clients.check((name) => streams.has(name));
      this.failure ??= checkLeadersServe(live);
      this.failure ??= checkRemovals(this.removals, streams);
    }
    const n = this.server.counters;
    return {
      ok: this.failure === undefined,
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      counters: { brokers: this.ids.length, ...this.counters, ...this.clients.counters, natsDropped: n.dropped, natsDuplicated: n.duplicated, natsCut: n.cut },
    };
  }

  private api(b: number, request: Parameters<ClusterClients["call"]>[1], onResult: (result: Result<ApiResponse>) => void): void {
    const node = this.nodes[b] as SimBrokerNode;
    if (node.broker === undefined) return;
    const requestId = this.nextRequestId++;
    this.callbacks[b]?.set(requestId, onResult);
    node.input((t) => ({ kind: "apiRequest", requestId, request, ...t }));
  }

  private onEffect(b: number, effect: BrokerEffect): void {
    if (effect.kind !== "apiResponse") return;
    const callbacks = this.callbacks[b] as Map<number, (result: Result<ApiResponse>) => void>;
    const callback = callbacks.get(effect.requestId);
    callbacks.delete(effect.requestId);
    callback?.(effect.result);
  }

  /**
   * Before each step of broker `i`: the incarnation of each stream whose partition it has open (its
   * directory holds that incarnation's data from then on, across crashes, until removed).
   */
  private remember(i: number, broker: Broker): void {
    const held = this.held[i] as Map<string, string>;
    for (const s of broker.view.metadata.streams.values()) {
      if (s.partitions.some((p) => broker.view.partitions.get(partitionKey(s.name, p.id))?.log !== undefined)) held.set(s.name, incarnation(s));
    }
  }

  private onRemoved(i: number, name: string): void {
    this.counters.dirRemovals++;
    const held = this.held[i] as Map<string, string>;
    this.removals.push({ broker: this.ids[i] as string, name, atMs: this.sim.nowMs, held: held.get(name) });
    held.delete(name);
  }

  private fail(message: string): void {
    this.failure ??= `${message} (at ${this.sim.nowMs} ms)`;
  }
}
