// A tiny synchronous network of RaftNodes for scenario and unit tests (etcd's raft_test.go
// network): messages queue up and stabilize() delivers them until nothing moves; links can be cut,
// nodes isolated, crashed (losing whatever was not persisted) and restarted; a filter drops chosen
// messages. Persistence is immediate and follows the Ready contract: persist, apply, send, advance.
import { MemoryRaftStorage } from "../../src/core/raft/memory-raft-storage.js";
import type { RaftMessage } from "../../src/core/raft/raft-message.js";
import { RaftNode, type RaftPlantedBugs, type Ready } from "../../src/core/raft/raft-node.js";
import type { RaftEntry, RaftNodeId } from "../../src/core/raft/raft-types.js";
import type { Random } from "../../src/core/random.js";

/** Always the largest draw: every randomized election timeout is 2 * electionTicks - 1, so tests can expire a lease without a campaign. */
export const MAX_RANDOM: Random = { int: (_label, maxExclusive) => maxExclusive - 1, chance: () => false };

/** Options of a test network. */
export interface RaftTestNetworkOptions {
  /** The initial voters (default: every id). */
  readonly voters?: readonly RaftNodeId[];
  readonly electionTicks?: number;
  readonly maxSizePerMsgBytes?: number;
  readonly plantedBugs?: RaftPlantedBugs;
}

interface Member {
  node: RaftNode | undefined;
  readonly storage: MemoryRaftStorage;
  /** Entries applied, in order (the state machine), rebuilt from the snapshot index on restart. */
  applied: RaftEntry[];
  appliedIndex: number;
}

const decoder = new TextDecoder();

/** A deterministic in-process network of RaftNodes. */
export class RaftTestNetwork {
  private readonly members = new Map<RaftNodeId, Member>();
  private readonly queue: RaftMessage[] = [];
  private readonly cut = new Set<string>();
  /** Messages for which this returns true are dropped at delivery. */
  dropIf: ((m: RaftMessage) => boolean) | undefined;
  /** Called after each Ready is persisted and its messages queued (a test may crash the node here). */
  afterReady: ((id: RaftNodeId, ready: Ready) => void) | undefined;
  /** Every message delivered, for assertions. */
  readonly delivered: RaftMessage[] = [];

  constructor(
    ids: readonly RaftNodeId[],
    private readonly options: RaftTestNetworkOptions = {},
  ) {
    const voters = options.voters ?? ids;
    for (const id of ids) {
      const member: Member = { node: undefined, storage: new MemoryRaftStorage(voters.includes(id) ? voters : []), applied: [], appliedIndex: 0 };
      this.members.set(id, member);
      this.start(id, member);
    }
    // Apply the bootstrap entries, so every voter knows the membership it may campaign in.
    this.stabilize();
  }

  private start(id: RaftNodeId, m: Member): void {
    const { electionTicks, maxSizePerMsgBytes, plantedBugs } = this.options;
    m.node = new RaftNode({
      id, storage: m.storage, random: MAX_RANDOM, electionTicks: electionTicks ?? 10,
      ...(maxSizePerMsgBytes === undefined ? {} : { maxSizePerMsgBytes }), ...(plantedBugs === undefined ? {} : { plantedBugs }),
    });
    m.appliedIndex = m.storage.snapshot()?.meta.index ?? 0;
    m.applied = m.applied.filter((e) => e.index <= m.appliedIndex);
  }

  /** The running node `id` (throws when it is crashed: a test bug). */
  node(id: RaftNodeId): RaftNode {
    const node = this.members.get(id)?.node;
    if (node === undefined) throw new Error(`${id} is not running`);
    return node;
  }

  /** The durable storage of `id`. */
  storage(id: RaftNodeId): MemoryRaftStorage {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m.storage;
  }

  /** The non-empty normal entries `id` applied, as text. */
  applied(id: RaftNodeId): string[] {
    const m = this.members.get(id);
    return (m?.applied ?? []).filter((e) => e.type === "normal" && e.data.length > 0).map((e) => decoder.decode(e.data));
  }

  /** Starts an election at `id` and delivers everything. */
  campaign(id: RaftNodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  /** Proposes `text` at `id` (delivered at the next stabilize). */
  propose(id: RaftNodeId, text: string): ReturnType<RaftNode["propose"]> {
    return this.node(id).propose(new TextEncoder().encode(text));
  }

  /** Ticks `id` n times (no delivery). */
  tick(id: RaftNodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).tick();
  }

  /** Ticks each follower electionTicks times: leases expire, no timeout fires (MAX_RANDOM). */
  expireLeases(...ids: RaftNodeId[]): void {
    for (const id of ids) this.tick(id, this.options.electionTicks ?? 10);
  }

  /** Cuts both directions between `a` and each of `others`. */
  cutLinks(a: RaftNodeId, ...others: RaftNodeId[]): void {
    for (const b of others) {
      this.cut.add(`${a}>${b}`);
      this.cut.add(`${b}>${a}`);
    }
  }

  /** Cuts `id` off from everyone. */
  isolate(id: RaftNodeId): void {
    this.cutLinks(id, ...[...this.members.keys()].filter((other) => other !== id));
  }

  /** Restores every link and removes the drop filter. */
  heal(): void {
    this.cut.clear();
    this.dropIf = undefined;
  }

  /** Crashes `id`: nothing it had not persisted survives; its queued messages are lost. */
  crash(id: RaftNodeId): void {
    const m = this.members.get(id);
    if (m !== undefined) m.node = undefined;
  }

  /** Restarts `id` from its storage. */
  restart(id: RaftNodeId): void {
    const m = this.members.get(id);
    if (m !== undefined && m.node === undefined) this.start(id, m);
  }

  /** Processes Readies and delivers messages until nothing is left. */
  stabilize(): void {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      let moved = false;
      for (const [id, m] of this.members) {
        if (m.node?.hasReady() === true) {
          this.handleReady(id, m, m.node.ready());
          moved = true;
        }
      }
      const batch = this.queue.splice(0);
      for (const message of batch) {
        moved = true;
        const target = this.members.get(message.to)?.node;
        if (target === undefined || this.cut.has(`${message.from}>${message.to}`) || this.dropIf?.(message) === true) continue;
        this.delivered.push(message);
        target.step(message);
      }
      if (!moved) return;
    }
    throw new Error("stabilize: the network never settled");
  }

  private handleReady(id: RaftNodeId, m: Member, ready: Ready): void {
    const node = m.node as RaftNode;
    if (ready.snapshot !== undefined) {
      m.storage.applySnapshot(ready.snapshot);
      m.appliedIndex = ready.snapshot.meta.index;
      m.applied = [];
    }
    m.storage.append(ready.entries);
    if (ready.hardState !== undefined) m.storage.setHardState(ready.hardState);
    this.queue.push(...ready.messages);
    for (const e of ready.committedEntries) {
      if (e.index <= m.appliedIndex) continue;
      m.applied.push(e);
      m.appliedIndex = e.index;
    }
    node.advance(ready);
    m.storage.setConfState(node.confState());
    this.afterReady?.(id, ready);
  }
}
