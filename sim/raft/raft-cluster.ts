// A simulated Raft cluster: the real RaftNode per member over a MemoryRaftStorage that holds only
// what a Ready handed over and was "synced" (a persist takes simulated time; a crash loses the one
// in flight and everything not yet handed over), a lossy, duplicating, reordering network with
// partitions, and tick timers that fire late or in bunches (clock jumps). Every delivery, tick,
// persist, crash and restart is one simulator event, after which the safety checker runs.
import { assert } from "../../src/core/assert.js";
import { MemoryRaftStorage } from "../../src/core/raft/memory-raft-storage.js";
import { decodeRaftMessage, encodeRaftMessage } from "../../src/core/raft/raft-message-codec.js";
import type { RaftMessage } from "../../src/core/raft/raft-message.js";
import { RaftNode, type Ready, type RaftPlantedBugs } from "../../src/core/raft/raft-node.js";
import type { RaftNodeId } from "../../src/core/raft/raft-types.js";
import type { EventHandle, Simulation } from "../simulation.js";
import type { SimRandom } from "../sim-random.js";
import { RaftSafetyChecker, type CheckedNode } from "./raft-checker.js";

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
  /** Round-trip every message through the binary codec. */
  readonly codecRoundTrip: boolean;
  readonly plantedBugs?: RaftPlantedBugs;
}

/** The network's and the clocks' misbehaviour, changed by the workload as it goes. */
export interface RaftFaults {
  dropPer1000: number;
  duplicatePer1000: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Messages delayed far beyond the usual (reordering, stale duplicates). */
  longDelayPer1000: number;
  longDelayMaxMs: number;
  /** Most simulated ms a persist (fsync) takes. */
  maxPersistMs: number;
  /** Tick timers that fire late, by up to lateTickMaxMs. */
  lateTickPer1000: number;
  lateTickMaxMs: number;
  /** Clock jumps: a bunch of ticks at once. */
  tickJumpPer1000: number;
  /** Crash a node right after it grants a vote (inside its next persist), per 1000 grants. */
  crashAfterVotePer1000: number;
  /** Crash a new leader within a few ms of its election (before its own entries replicate), per 1000 elections. */
  crashNewLeaderPer1000: number;
}

/** No faults at all. */
export function quietFaults(): RaftFaults {
  return {
    dropPer1000: 0, duplicatePer1000: 0, minDelayMs: 1, maxDelayMs: 5, longDelayPer1000: 0, longDelayMaxMs: 0, maxPersistMs: 2,
    lateTickPer1000: 0, lateTickMaxMs: 0, tickJumpPer1000: 0, crashAfterVotePer1000: 0, crashNewLeaderPer1000: 0,
  };
}

/** One member: its durable storage always, its RaftNode while running, its state machine's image. */
class SimRaftMember implements CheckedNode {
  node: RaftNode | undefined;
  generation = 0;
  persisting = false;
  appliedIndex = 0;
  /** The state machine: a running hash of the applied entries. */
  stateHash = 0;
  tickHandle: EventHandle | undefined;

  constructor(
    readonly id: RaftNodeId,
    readonly storage: MemoryRaftStorage,
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
}

function hashStep(hash: number, index: number, term: number, data: Uint8Array): number {
  let h = (hash ^ index) >>> 0;
  h = Math.imul(h ^ term, 16777619) >>> 0;
  for (const b of data) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

/** N members, one simulated network, the checker; the workload drives it. */
export class SimRaftCluster {
  readonly checker = new RaftSafetyChecker();
  readonly faults: RaftFaults = quietFaults();
  private readonly members = new Map<RaftNodeId, SimRaftMember>();
  /** Links cut, as "from>to". */
  private readonly blocked = new Set<string>();
  private readonly net: SimRandom;
  private readonly clock: SimRandom;
  /** The state machine's hash after each index (by the first member to apply it). */
  private readonly hashAt = new Map<number, number>();
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly sim: Simulation,
    private readonly options: RaftClusterOptions,
  ) {
    this.net = sim.random("raft-network");
    this.clock = sim.random("raft-clock");
    for (const id of options.ids) {
      const member = new SimRaftMember(id, new MemoryRaftStorage(options.voters.includes(id) ? options.voters : []));
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

  /** Counters of what happened (messages, crashes, snapshots, ...). */
  counters(): Record<string, number> {
    return Object.fromEntries(this.counts);
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

  /** Cuts (or restores) the link from `from` to `to`. */
  setLink(from: RaftNodeId, to: RaftNodeId, up: boolean): void {
    if (up) this.blocked.delete(`${from}>${to}`);
    else this.blocked.add(`${from}>${to}`);
  }

  /** Restores every link. */
  healLinks(): void {
    this.blocked.clear();
  }

  /** True when the member is running. */
  isUp(id: RaftNodeId): boolean {
    return this.members.get(id)?.node !== undefined;
  }

  /** Crashes a member: its node and any persist in flight are lost; its storage keeps what was synced. */
  crash(id: RaftNodeId): void {
    const m = this.members.get(id);
    if (m?.node === undefined) return;
    this.sim.trace(`raft crash ${id}`);
    this.count("crashes");
    m.node = undefined;
    m.generation++;
    m.persisting = false;
    if (m.tickHandle !== undefined) this.sim.cancel(m.tickHandle);
  }

  /** Restarts a crashed member from its durable storage. */
  restart(id: RaftNodeId): void {
    const m = this.members.get(id);
    if (m === undefined || m.node !== undefined) return;
    this.sim.trace(`raft restart ${id}`);
    this.start(m);
  }

  private start(m: SimRaftMember): void {
    const { electionTicks, maxSizePerMsgBytes, maxInflightMsgs, plantedBugs } = this.options;
    m.node = new RaftNode({
      id: m.id, storage: m.storage, random: this.sim.random(`raft-${m.id}`), electionTicks, heartbeatTicks: 1,
      maxSizePerMsgBytes, maxInflightMsgs, ...(plantedBugs === undefined ? {} : { plantedBugs }),
    });
    const snapshot = m.storage.snapshot();
    m.appliedIndex = snapshot?.meta.index ?? 0;
    m.stateHash = snapshot === undefined ? 0 : new DataView(snapshot.data.buffer, snapshot.data.byteOffset).getUint32(0);
    this.checker.onRestart(m.id, m.storage.durableHardState.commit);
    this.scheduleTick(m);
    this.pump(m);
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

  /** Hands a Ready over when the member has one and no persist is in flight. */
  private pump(m: SimRaftMember): void {
    const node = m.node;
    if (node === undefined || m.persisting || !node.hasReady()) return;
    const ready = node.ready();
    this.checker.onEntries(m.id, ready.entries, (i) => node.termAt(i));
    if (ready.hardState === undefined && ready.entries.length === 0 && ready.snapshot === undefined) {
      this.finishReady(m, node, ready);
      return;
    }
    m.persisting = true;
    const generation = m.generation;
    const delayMs = this.net.between("raftPersistMs", 0, this.faults.maxPersistMs);
    this.sim.scheduleAfter(delayMs, `raft persisted ${m.id}`, () => {
      if (m.generation !== generation) return; // crashed meanwhile: this sync never happened
      m.persisting = false;
      this.persist(m, ready);
      this.finishReady(m, node, ready);
    });
  }

  private persist(m: SimRaftMember, ready: Ready): void {
    if (ready.snapshot !== undefined) {
      m.storage.applySnapshot(ready.snapshot);
      this.count("snapshotsInstalled");
    }
    m.storage.append(ready.entries);
    if (ready.hardState !== undefined) {
      this.checker.onDurableCommit(m.id, m.storage.durableHardState.commit, ready.hardState.commit);
      m.storage.setHardState(ready.hardState);
    }
  }

  private finishReady(m: SimRaftMember, node: RaftNode, ready: Ready): void {
    if (ready.snapshot !== undefined) this.restoreStateMachine(m, ready);
    for (const message of ready.messages) {
      this.checkDurableVote(m, message);
      this.send(message);
    }
    for (const entry of ready.committedEntries) {
      if (entry.index <= m.appliedIndex) continue;
      this.checker.onApply(m.id, m.appliedIndex, entry);
      m.stateHash = hashStep(m.stateHash, entry.index, entry.term, entry.data);
      m.appliedIndex = entry.index;
      const seen = this.hashAt.get(entry.index);
      if (seen === undefined) this.hashAt.set(entry.index, m.stateHash);
    }
    node.advance(ready);
    m.storage.setConfState(node.confState());
    this.maybeSnapshot(m, node);
    if (ready.messages.some((msg) => msg.type === "voteResp" && !msg.reject) && this.net.chance("raftCrashAfterVote", this.faults.crashAfterVotePer1000, 1000)) {
      this.crashSoon(m.id);
    }
    this.pump(m);
  }

  /** The Ready contract, seen from outside: a granted vote leaves only once it is durable. */
  private checkDurableVote(m: SimRaftMember, message: RaftMessage): void {
    if (message.type !== "voteResp" || message.reject) return;
    const durable = m.storage.durableHardState;
    if (durable.term !== message.term || durable.vote !== message.to) {
      this.checker.fail(`Ready contract: ${m.id} granted its vote to ${message.to} in term ${message.term} before it was durable (durable: term ${durable.term}, vote "${durable.vote}")`);
    }
  }

  private restoreStateMachine(m: SimRaftMember, ready: Ready): void {
    const snapshot = ready.snapshot;
    assert(snapshot !== undefined, "no snapshot to restore");
    m.appliedIndex = snapshot.meta.index;
    m.stateHash = new DataView(snapshot.data.buffer, snapshot.data.byteOffset).getUint32(0);
    const expected = this.hashAt.get(snapshot.meta.index);
    if (expected !== undefined && expected !== m.stateHash) {
      this.checker.fail(`State Machine Safety: ${m.id} installed a snapshot at ${snapshot.meta.index} whose state differs`);
    }
  }

  private maybeSnapshot(m: SimRaftMember, node: RaftNode): void {
    const every = this.options.snapshotEvery;
    const base = m.storage.snapshot()?.meta.index ?? 0;
    if (every === 0 || m.appliedIndex - base < every || m.appliedIndex > m.storage.durableHardState.commit) return;
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, m.stateHash);
    m.storage.createSnapshot(m.appliedIndex, node.confState(), data);
    this.count("snapshotsTaken");
  }

  private crashSoon(id: RaftNodeId): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    const generation = m.generation;
    this.sim.scheduleAfter(this.net.between("raftCrashAfterVoteMs", 0, this.faults.maxPersistMs), `raft crash after vote ${id}`, () => {
      if (m.generation !== generation) return;
      this.crash(id);
      this.sim.scheduleAfter(this.net.between("raftRestartMs", 1, 10), `raft restart ${id}`, () => this.restart(id));
    });
  }

  // ---- the network ----

  private send(message: RaftMessage): void {
    const f = this.faults;
    this.count("messages");
    if (this.blocked.has(`${message.from}>${message.to}`) || this.net.chance("raftDrop", f.dropPer1000, 1000)) {
      this.count("messagesDropped");
      return;
    }
    const copies = this.net.chance("raftDuplicate", f.duplicatePer1000, 1000) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const long = this.net.chance("raftLongDelay", f.longDelayPer1000, 1000);
      const delayMs = long ? this.net.between("raftLongDelayMs", f.maxDelayMs, Math.max(f.maxDelayMs, f.longDelayMaxMs)) : this.net.between("raftDelayMs", f.minDelayMs, f.maxDelayMs);
      this.sim.scheduleAfter(delayMs, `raft ${message.type} ${message.from}>${message.to}`, () => this.deliver(message));
    }
  }

  private deliver(message: RaftMessage): void {
    const m = this.members.get(message.to);
    if (m?.node === undefined || this.blocked.has(`${message.from}>${message.to}`)) return;
    let delivered = message;
    if (this.options.codecRoundTrip) {
      const decoded = decodeRaftMessage(encodeRaftMessage(message));
      assert(decoded.ok, `codec round trip failed: ${decoded.ok ? "" : decoded.error.message}`);
      delivered = decoded.message;
    }
    const wasLeader = m.node.role === "leader";
    m.node.step(delivered);
    if (!wasLeader && m.node.role === "leader" && this.net.chance("raftCrashNewLeader", this.faults.crashNewLeaderPer1000, 1000)) this.crashSoon(m.id);
    this.pump(m);
  }
}
