// A simulated Raft cluster on the simulator's real parts: each member is the real RaftNode over a
// RaftDiskLog on its own SimDisk (a Ready's persist is DiskOps, its messages leave once they have
// completed; a crash is a power loss that keeps only what was synced, a restart reopens the log from
// what survived), and messages travel as encoded frames through the simulated NATS on
// `<ns>.raft.metadata.<to>.request` (raft-transport.ts), with its drops, duplicates, delays,
// reordering and one-way link cuts. Tick timers fire late, in bunches, or all at once when a
// member's clock jumps. Every delivery, tick, sync, crash and restart is one simulator event, after
// which the safety checker runs.
import { assert } from "../../src/core/assert.js";
import type { RaftDiskLogOptions } from "../../src/core/raft/raft-disk-log.js";
import type { RaftMessage } from "../../src/core/raft/raft-message.js";
import { RaftNode, type Ready, type RaftPlantedBugs } from "../../src/core/raft/raft-node.js";
import { raftSend, raftSubject, receiveRaftMessage } from "../../src/core/raft/raft-transport.js";
import type { HardState, RaftEntry, RaftNodeId, RaftSnapshot } from "../../src/core/raft/raft-types.js";
import type { NodeId } from "../../src/core/types.js";
import type { Simulation } from "../simulation.js";
import { SimDisk, type SimDiskFaults } from "../sim-disk.js";
import { SimNatsServer, type SimNatsFaults, type SimNatsMessage } from "../sim-nats.js";
import type { SimRandom } from "../sim-random.js";
import { RaftSafetyChecker } from "./raft-checker.js";
import { SimRaftMember } from "./raft-member.js";

/** The NATS namespace the simulated members talk under. */
export const RAFT_SIM_NAMESPACE = "liftbridge-default";

/** How the cluster is built. */
export interface RaftClusterOptions {
  /** Every member that may ever run (spares start with an empty membership and wait to be added). */
  readonly ids: readonly RaftNodeId[];
  /** The initial voters. */
  readonly voters: readonly RaftNodeId[];
  readonly tickMs: number;
  readonly electionTicks: number;
  /** Snapshot and compact after this many applied entries (0: never). */
  readonly snapshotEvery: number;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
  readonly plantedBugs?: RaftPlantedBugs;
  /** How each member keeps its log (segment size, hard state rewrites, planted disk-log bugs). */
  readonly diskLog?: RaftDiskLogOptions;
  /** How a crash loses unsynced writes (torn, dropped, lost directory entries). */
  readonly diskFaults?: Partial<SimDiskFaults>;
}

/** The clocks' misbehaviour and the crash triggers, changed by the workload as it goes. */
export interface RaftFaults {
  /** Tick timers that fire late, by up to lateTickMaxMs. */
  lateTickPer1000: number;
  lateTickMaxMs: number;
  /** A tick that finds the clock jumped: a bunch of ticks at once. */
  tickJumpPer1000: number;
  /** Crash a node right after it grants a vote (inside its next persist), per 1000 grants. */
  crashAfterVotePer1000: number;
  /** Crash a new leader within a few ms of its election (before its own entries replicate), per 1000 elections. */
  crashNewLeaderPer1000: number;
}

/** No clock faults, no crash triggers. */
export function quietFaults(): RaftFaults {
  return { lateTickPer1000: 0, lateTickMaxMs: 0, tickJumpPer1000: 0, crashAfterVotePer1000: 0, crashNewLeaderPer1000: 0 };
}

/** A network that delivers everything once, in order, within 5 ms. */
export const QUIET_NETWORK: SimNatsFaults = { dropPerMille: 0, duplicatePerMille: 0, delayMsMax: 5, tailPerMille: 0, tailDelayMsMax: 0, reorder: false };

/** The most a quiet disk takes for one sync. */
export const QUIET_SYNC_MS = 2;

function hashStep(hash: number, index: number, term: number, data: Uint8Array): number {
  let h = (hash ^ index) >>> 0;
  h = Math.imul(h ^ term, 16777619) >>> 0;
  for (const b of data) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

/** True when `node` leads (a function, so a read after a step is not narrowed by one before it). */
function leads(node: RaftNode): boolean {
  return node.role === "leader";
}

function snapshotHash(snapshot: RaftSnapshot): number {
  return new DataView(snapshot.data.buffer, snapshot.data.byteOffset).getUint32(0);
}

/** N members, one simulated NATS, the checker; the workload drives it. */
export class SimRaftCluster {
  readonly checker = new RaftSafetyChecker();
  readonly faults: RaftFaults = quietFaults();
  private readonly members = new Map<RaftNodeId, SimRaftMember>();
  private readonly nats: SimNatsServer;
  private readonly net: SimRandom;
  private readonly clock: SimRandom;
  /** The state machine's hash after each index (by the first member to apply it). */
  private readonly hashAt = new Map<number, number>();
  private readonly counts = new Map<string, number>();
  private syncLatencyMaxMs = QUIET_SYNC_MS;

  constructor(
    private readonly sim: Simulation,
    private readonly options: RaftClusterOptions,
  ) {
    this.net = sim.random("raft-network");
    this.clock = sim.random("raft-clock");
    this.nats = new SimNatsServer(sim, sim.random("raft-nats"), QUIET_NETWORK);
    for (const id of options.ids) {
      const disk = new SimDisk({ random: sim.random(`raft-disk-${id}`), nowMs: () => sim.nowMs, faults: { ...options.diskFaults, latencyMsMax: QUIET_SYNC_MS } });
      const member = new SimRaftMember(id, disk, this.nats.connect(id), options.diskLog ?? {});
      member.connection.subscribe(raftSubject(RAFT_SIM_NAMESPACE, id), "", (message) => this.deliver(member, message));
      member.format(options.voters);
      this.members.set(id, member);
      this.start(member);
    }
    const all = [...this.members.values()];
    sim.addInvariant("raft-safety", () => {
      this.checker.afterEvent(all);
      return this.checker.violation;
    });
  }

  /** Every member's id. */
  get ids(): readonly RaftNodeId[] {
    return this.options.ids;
  }

  /** A running member's node, or undefined when it is down. */
  node(id: RaftNodeId): RaftNode | undefined {
    return this.members.get(id)?.node;
  }

  /** Counters of what happened (messages, crashes, snapshots, partitions, ...). */
  counters(): Record<string, number> {
    const n = this.nats.counters;
    return { ...Object.fromEntries(this.counts), messagesDropped: n.dropped, messagesDuplicated: n.duplicated, messagesCut: n.cut, messagesDelivered: n.delivered };
  }

  private count(what: string, n = 1): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + n);
  }

  /** The running leader with the highest term, if any. */
  leader(): RaftNode | undefined {
    let best: RaftNode | undefined;
    for (const m of this.members.values()) {
      if (m.node?.role === "leader" && (best === undefined || m.node.term > best.term)) best = m.node;
    }
    return best;
  }

  /** Runs `request` on a running member's node, then hands over what it produced; undefined when the member is down. */
  withNode<R>(id: RaftNodeId, request: (node: RaftNode) => R): R | undefined {
    const m = this.members.get(id);
    if (m?.node === undefined) return undefined;
    const result = request(m.node);
    this.pump(m);
    return result;
  }

  /** The index a member's state machine has applied (0 when down). */
  appliedIndex(id: RaftNodeId): number {
    const m = this.members.get(id);
    return m?.node === undefined ? 0 : m.appliedIndex;
  }

  // ---- faults ----

  /** Cuts (or restores) the link from `from` to `to`, one direction, in the simulated NATS. */
  setLink(from: RaftNodeId, to: RaftNodeId, up: boolean): void {
    this.nats.setLinkCut(from, to, !up);
  }

  /** Restores every link. */
  healLinks(): void {
    this.nats.healLinks();
  }

  /** Sets the simulated NATS's drop, duplicate, delay and reorder knobs. */
  setNetwork(faults: SimNatsFaults): void {
    this.nats.setFaults(faults);
  }

  /** Sets the most simulated ms one fdatasync or syncDir takes, on every member's disk. */
  setSyncLatency(maxMs: number): void {
    this.syncLatencyMaxMs = maxMs;
    for (const m of this.members.values()) m.disk.setFaults({ latencyMsMax: maxMs });
  }

  /** A running member loses its NATS connection (what is in flight to it is lost) and reconnects `downMs` later. */
  disconnect(id: RaftNodeId, downMs: number): void {
    const m = this.members.get(id);
    if (m?.node === undefined || !m.connection.connected) return;
    this.sim.trace(`raft nats disconnect ${id}`);
    this.count("natsDisconnects");
    m.connection.disconnect();
    const generation = m.generation;
    this.sim.scheduleAfter(downMs, `raft nats reconnect ${id}`, () => {
      if (m.generation === generation) m.connection.reconnect();
    });
  }

  /** Every running member's connection is up again. */
  reconnectAll(): void {
    for (const m of this.members.values()) if (m.node !== undefined) m.connection.reconnect();
  }

  /** True when the member is running. */
  isUp(id: RaftNodeId): boolean {
    return this.members.get(id)?.node !== undefined;
  }

  /** Power loss: the node, its timers and its disk work in flight are gone; its disk keeps what was synced (and some of the rest). */
  crash(id: RaftNodeId): void {
    const m = this.members.get(id);
    if (m?.node === undefined) return;
    this.sim.trace(`raft crash ${id}`);
    this.count("crashes");
    // A persist in flight may cut entries from cutFrom on; those below it and synced must survive.
    const mustIndex = Math.min(m.syncedLastIndex, m.cutFrom - 1);
    const mustTerm = mustIndex > 0 ? m.log?.term(mustIndex) : undefined;
    m.mustRecover = mustTerm === undefined ? undefined : { index: mustIndex, term: mustTerm };
    m.node = undefined;
    m.log = undefined;
    m.generation++;
    m.busy = false;
    m.crashAtNextSyncDowntimeMs = undefined;
    if (m.tickHandle !== undefined) this.sim.cancel(m.tickHandle);
    m.connection.disconnect();
    const report = m.disk.crash();
    this.count("unsyncedWritesLost", report.writes.filter((w) => w.fate.kind !== "applied").length);
  }

  /** Crashes the member when its next sync starts (the writes before it not yet durable), restarting it `downtimeMs` later. */
  crashAtNextSync(id: RaftNodeId, downtimeMs: number): void {
    const m = this.members.get(id);
    if (m?.node !== undefined) m.crashAtNextSyncDowntimeMs = downtimeMs;
  }

  /** Cancels every crash armed by crashAtNextSync. */
  disarmCrashes(): void {
    for (const m of this.members.values()) m.crashAtNextSyncDowntimeMs = undefined;
  }

  /** Restarts a crashed member from what its disk holds. */
  restart(id: RaftNodeId): void {
    const m = this.members.get(id);
    if (m === undefined || m.node !== undefined) return;
    this.sim.trace(`raft restart ${id}`);
    this.start(m);
  }

  /** The member's clock jumps forward by `ticks` ticks: they all fire now. */
  jumpClock(id: RaftNodeId, ticks: number): void {
    const m = this.members.get(id);
    const node = m?.node;
    if (m === undefined || node === undefined) return;
    this.sim.trace(`raft clock jump ${id} ${ticks}`);
    this.count("clockJumps");
    for (let i = 0; i < ticks && m.node === node; i++) {
      node.tick();
      this.pump(m);
    }
  }

  private start(m: SimRaftMember): void {
    const opened = m.open();
    if (!opened.ok) {
      this.checker.fail(`Raft log recovery: ${m.id} refused its own log after a crash: ${opened.error.message}`);
      return;
    }
    const { log, hardState, snapshot, entries } = opened.value;
    this.checkRecovered(m, hardState, snapshot, entries);
    const { electionTicks, maxSizePerMsgBytes, maxInflightMsgs, plantedBugs } = this.options;
    m.log = log;
    m.durableHardState = hardState;
    m.node = new RaftNode({
      id: m.id, storage: log, random: this.sim.random(`raft-${m.id}`), electionTicks, heartbeatTicks: 1,
      maxSizePerMsgBytes, maxInflightMsgs, ...(plantedBugs === undefined ? {} : { plantedBugs }),
    });
    m.appliedIndex = snapshot?.meta.index ?? 0;
    m.stateHash = snapshot === undefined ? 0 : snapshotHash(snapshot);
    this.checker.onRestart(m.id, hardState.commit);
    m.connection.reconnect();
    this.scheduleTick(m);
    this.pump(m);
  }

  /** What a restart recovered: never behind the hard state last synced, and a log that matches everyone's. */
  private checkRecovered(m: SimRaftMember, hs: HardState, snapshot: RaftSnapshot | undefined, entries: readonly RaftEntry[]): void {
    const d = m.durableHardState;
    if (hs.term < d.term || (hs.term === d.term && d.vote !== "" && hs.vote !== d.vote) || hs.commit < d.commit) {
      this.checker.fail(`Durability: ${m.id} recovered hard state ${JSON.stringify(hs)} behind the synced ${JSON.stringify(d)}`);
    }
    const terms = new Map<number, number>(entries.map((e) => [e.index, e.term]));
    if (snapshot !== undefined) terms.set(snapshot.meta.index, snapshot.meta.term);
    this.checker.onEntries(m.id, entries, (i) => terms.get(i));
    const must = m.mustRecover;
    m.mustRecover = undefined;
    if (must === undefined || must.index < (snapshot?.meta.index ?? 0)) return;
    const held = terms.get(must.index);
    if (held !== must.term) this.checker.fail(`Durability: ${m.id} lost synced entry ${must.index} of term ${must.term} in a crash (recovered: ${held === undefined ? "nothing" : `term ${held}`} there)`);
  }

  private scheduleTick(m: SimRaftMember): void {
    const f = this.faults;
    const late = this.clock.chance("raftLateTick", f.lateTickPer1000, 1000) ? this.clock.between("raftLateTickMs", 1, Math.max(1, f.lateTickMaxMs)) : 0;
    m.tickHandle = this.sim.scheduleAfter(this.options.tickMs + late, `raft tick ${m.id}`, () => {
      const node = m.node;
      if (node === undefined) return;
      const ticks = this.clock.chance("raftTickJump", f.tickJumpPer1000, 1000) ? this.clock.between("raftTickJumpTicks", 2, 3 * this.options.electionTicks) : 1;
      for (let i = 0; i < ticks && m.node === node; i++) {
        node.tick();
        this.pump(m);
      }
      if (m.node === node) this.scheduleTick(m);
    });
  }

  // ---- the Ready cycle ----

  /** Hands a Ready to the disk when the member has one and no disk work is in flight; its messages leave once the ops completed. */
  private pump(m: SimRaftMember): void {
    const node = m.node;
    const log = m.log;
    if (node === undefined || log === undefined || m.busy || !node.hasReady()) return;
    const ready = node.ready();
    this.checker.onEntries(m.id, ready.entries, (i) => node.termAt(i));
    m.cutFrom = ready.snapshot !== undefined ? 0 : (ready.entries[0]?.index ?? Infinity);
    const ops = log.persist({
      entries: ready.entries,
      ...(ready.snapshot === undefined ? {} : { snapshot: ready.snapshot }),
      ...(ready.hardState === undefined ? {} : { hardState: ready.hardState }),
    });
    m.busy = true;
    m.runDiskOps(this.sim, ops, () => {
      m.busy = false;
      this.persisted(m, ready);
      this.finishReady(m, node, ready);
    });
    if (m.busy) this.maybeCrashMidSync(m);
  }

  /** An armed crash lands while a sync is pending: the Ready's writes are in the page cache only. */
  private maybeCrashMidSync(m: SimRaftMember): void {
    const downtimeMs = m.crashAtNextSyncDowntimeMs;
    if (downtimeMs === undefined) return;
    m.crashAtNextSyncDowntimeMs = undefined;
    this.count("crashesMidSync");
    this.crash(m.id);
    this.sim.scheduleAfter(downtimeMs, `raft restart ${m.id}`, () => this.restart(m.id));
  }

  private persisted(m: SimRaftMember, ready: Ready): void {
    m.syncedLastIndex = m.log?.lastIndex() ?? 0;
    m.cutFrom = Infinity;
    if (ready.snapshot !== undefined) this.count("snapshotsInstalled");
    if (ready.hardState !== undefined) {
      this.checker.onDurableCommit(m.id, m.durableHardState.commit, ready.hardState.commit);
      m.durableHardState = ready.hardState;
    }
  }

  private finishReady(m: SimRaftMember, node: RaftNode, ready: Ready): void {
    if (ready.snapshot !== undefined) this.restoreStateMachine(m, ready.snapshot);
    for (const message of ready.messages) {
      this.checkDurableVote(m, message);
      this.send(m, message);
    }
    for (const entry of ready.committedEntries) {
      if (entry.index <= m.appliedIndex) continue;
      this.checker.onApply(m.id, m.appliedIndex, entry);
      m.stateHash = hashStep(m.stateHash, entry.index, entry.term, entry.data);
      m.appliedIndex = entry.index;
      if (!this.hashAt.has(entry.index)) this.hashAt.set(entry.index, m.stateHash);
    }
    node.advance(ready);
    this.maybeSnapshot(m, node);
    if (ready.messages.some((msg) => msg.type === "voteResp" && !msg.reject) && this.net.chance("raftCrashAfterVote", this.faults.crashAfterVotePer1000, 1000)) {
      this.crashSoon(m.id);
    }
    this.pump(m);
  }

  /** The Ready contract, seen from outside: a granted vote leaves only once it is durable. */
  private checkDurableVote(m: SimRaftMember, message: RaftMessage): void {
    if (message.type !== "voteResp" || message.reject) return;
    const durable = m.durableHardState;
    if (durable.term !== message.term || durable.vote !== message.to) {
      this.checker.fail(`Ready contract: ${m.id} granted its vote to ${message.to} in term ${message.term} before it was durable (durable: term ${durable.term}, vote "${durable.vote}")`);
    }
  }

  private restoreStateMachine(m: SimRaftMember, snapshot: RaftSnapshot): void {
    m.appliedIndex = snapshot.meta.index;
    m.stateHash = snapshotHash(snapshot);
    const expected = this.hashAt.get(snapshot.meta.index);
    if (expected !== undefined && expected !== m.stateHash) {
      this.checker.fail(`State Machine Safety: ${m.id} installed a snapshot at ${snapshot.meta.index} whose state differs`);
    }
  }

  /** Every snapshotEvery applied entries (at or below the durable commit): save a snapshot, compact the log, on disk. */
  private maybeSnapshot(m: SimRaftMember, node: RaftNode): void {
    const log = m.log;
    const every = this.options.snapshotEvery;
    assert(log !== undefined, "a running member has a log");
    const base = log.snapshot()?.meta.index ?? 0;
    if (every === 0 || m.appliedIndex - base < every || m.appliedIndex > log.hardState().commit) return;
    const index = m.appliedIndex;
    const term = log.term(index);
    assert(term !== undefined, `applied index ${index} is in the log`);
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, m.stateHash);
    const ops = [...log.saveSnapshot({ meta: { index, term, confState: node.confState() }, data }), ...log.compact(index)];
    this.count("snapshotsTaken");
    m.busy = true;
    m.runDiskOps(this.sim, ops, () => {
      m.busy = false;
      this.pump(m);
    });
  }

  private crashSoon(id: RaftNodeId): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    const generation = m.generation;
    this.sim.scheduleAfter(this.net.between("raftCrashAfterVoteMs", 0, this.syncLatencyMaxMs), `raft crash after vote ${id}`, () => {
      if (m.generation !== generation) return;
      this.crash(id);
      this.sim.scheduleAfter(this.net.between("raftRestartMs", 1, 10), `raft restart ${id}`, () => this.restart(id));
    });
  }

  // ---- the network: encoded frames through the simulated NATS ----

  private send(m: SimRaftMember, message: RaftMessage): void {
    this.count("messages");
    const out = raftSend(RAFT_SIM_NAMESPACE, message);
    m.connection.publish(out.subject, out.reply ?? "", out.data);
  }

  private deliver(m: SimRaftMember, incoming: SimNatsMessage): void {
    const node = m.node;
    if (node === undefined) return;
    const received = receiveRaftMessage(RAFT_SIM_NAMESPACE, m.id, { from: "" as NodeId, subject: incoming.subject, data: incoming.data });
    if (!received.ok) {
      this.checker.fail(`Raft transport: ${m.id} refused a frame a member sent: ${received.refusal.code}: ${received.refusal.message}`);
      return;
    }
    const wasLeader = leads(node);
    node.step(received.message);
    if (!wasLeader && leads(node) && this.net.chance("raftCrashNewLeader", this.faults.crashNewLeaderPer1000, 1000)) this.crashSoon(m.id);
    this.pump(m);
  }
}
