// The metadata's replicated log: a RaftNode over the Raft log in <data>/raft, opened at start-up
// from what the disk holds. A data directory written by the single-node version (its metadata in
// metadata/metadata.log, no raft/) is migrated on first start: its replayed state becomes the
// Raft log's first snapshot, with this server as the only voter; the old file is kept as it was.
// A fresh directory bootstraps (a seed, or named peers) or waits to be added to a running cluster.
import { joinPath, parentDir, type DiskOp, type DiskReader } from "../disk.js";
import { err, ok, type Result } from "../errors.js";
import type { LogEvent } from "../outputs.js";
import type { Random } from "../random.js";
import { bootstrapLog } from "../raft/raft-bootstrap.js";
import { decodeConfChange } from "../raft/raft-conf-change.js";
import { RaftDiskLog, type OpenedRaftLog } from "../raft/raft-disk-log.js";
import { SNAPSHOT_FILE } from "../raft/raft-log-recovery.js";
import { RaftNode, type RaftPlantedBugs, type Ready } from "../raft/raft-node.js";
import type { RaftEntry, RaftNodeId, RaftSnapshot } from "../raft/raft-types.js";
import { decodeMetadataEntry, type MetadataEntry } from "./metadata-entry.js";
import { accountForStreamDirs, recoverMetadata, type MetadataRecoveryOptions } from "./metadata-recovery.js";
import { restoreMetadata, snapshotMetadata } from "./metadata-snapshot.js";
import { MetadataState } from "./metadata-state.js";
import type { StreamDefaults } from "./stream-config.js";

/** How a server with no Raft state starts: the seed of a new cluster, one of named peers, or joining. */
export type RaftBootstrap =
  /** A new cluster's first broker; with probeMs > 0 it first asks for probeMs whether a cluster already runs. */
  | { readonly kind: "seed"; readonly probeMs?: number }
  | { readonly kind: "peers"; readonly peers: readonly RaftNodeId[] }
  | { readonly kind: "join" };

/** The metadata Raft's timing and limits (ticks are driven by the broker's raftTick timer). */
export interface MetadataRaftConfig {
  readonly bootstrap: RaftBootstrap;
  /** Milliseconds per Raft tick. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** `clustering.raft.max.quorum.size`: more servers join as non-voters. */
  readonly maxQuorumSize: number;
  /** Applied entries after the last snapshot that make the next snapshot (and compaction). */
  readonly snapshotEntries: number;
  readonly plantedBugs?: RaftPlantedBugs;
}

/** The defaults: 100 ms ticks, elections after 1-2 s, heartbeats every 100 ms, 5 voters at most. */
export const DEFAULT_METADATA_RAFT: MetadataRaftConfig = {
  bootstrap: { kind: "seed" }, tickMs: 100, electionTicks: 10, heartbeatTicks: 1, maxQuorumSize: 5, snapshotEntries: 1024,
};

/** What the single-node version's metadata log is renamed to once migrated into the Raft log. */
export const MIGRATED_SUFFIX = ".migrated";

/** The Raft directory inside the data directory. */
export function raftDir(dataDir: string): string {
  return joinPath(dataDir, "raft");
}

/** The replicated metadata log: the node, its disk log and the Ready whose persist is in flight. */
export class MetadataRaft {
  /** The Ready handed out and not yet advanced, with the persist token carrying it (if any). */
  inFlight: { readonly ready: Ready; readonly token: number | undefined } | undefined = undefined;
  /** The proposer's sequence number of the next proposal (see metadata-entry.ts). */
  nextSeq = 1;
  /**
   * Forwarded proposals this broker proposed as leader, by "from/seq", with their index: a
   * duplicated propagate request is answered again, not proposed twice (a second CreateStream
   * entry would recreate a stream deleted in between; cluster seeds 3273, 3569 at 12 s).
   */
  readonly propagated = new Map<string, number>();

  constructor(
    public node: RaftNode,
    public log: RaftDiskLog,
    readonly config: MetadataRaftConfig,
  ) {}

  /** A fresh node over `log`, its committed entries to be handed out again (the metadata ignores those it applied). */
  static node(self: RaftNodeId, log: RaftDiskLog, random: Random, config: MetadataRaftConfig): RaftNode {
    return new RaftNode({
      id: self, storage: log, random, electionTicks: config.electionTicks, heartbeatTicks: config.heartbeatTicks,
      ...(config.plantedBugs !== undefined ? { plantedBugs: config.plantedBugs } : {}),
    });
  }

  /** A seed whose probe found no cluster: bootstraps with itself as the only voter; the ops make it durable. */
  bootstrapSeed(self: RaftNodeId, random: Random): DiskOp[] {
    const ops = bootstrapOps(this.log, [self]);
    this.node = MetadataRaft.node(self, this.log, random, this.config);
    return ops;
  }

  /** The snapshot to take now (state as of `applied`), or undefined when too few entries followed the last. */
  snapshotDue(metadata: MetadataState): RaftSnapshot | undefined {
    const applied = metadata.lastAppliedIndex;
    const last = this.log.snapshot()?.meta.index ?? 0;
    if (applied - last < this.config.snapshotEntries || applied > this.node.appliedIndex) return undefined;
    const term = this.log.term(applied);
    if (term === undefined) return undefined;
    return { meta: { index: applied, term, confState: this.node.confState() }, data: snapshotMetadata(metadata) };
  }
}

/** What start-up recovered: the Raft log and node, the metadata as of the durable commit, the disk work, the log lines. */
export interface OpenedMetadataRaft {
  readonly raft: MetadataRaft;
  readonly metadata: MetadataState;
  readonly ops: DiskOp[];
  readonly events: LogEvent[];
  /** True when the data directory had no Raft state and this server joins a running cluster. */
  readonly joining: boolean;
  /** A fresh seed that must first ask whether a cluster runs (bootstrap with MetadataRaft.bootstrapSeed after). */
  readonly probing: boolean;
}

/** Opens (migrating or bootstrapping when needed) the metadata Raft log, or refuses naming the file. */
export function openMetadataRaft(
  reader: DiskReader, options: MetadataRecoveryOptions, random: Random, config: MetadataRaftConfig,
): Result<OpenedMetadataRaft> {
  const dir = raftDir(options.dataDir);
  const opened = RaftDiskLog.open(reader, dir, options.crc !== undefined ? { crc: options.crc } : {});
  // A read the disk refused is an IO failure (Internal); damage is CorruptRecord. Both name the file.
  if (!opened.ok) return err(opened.error.code === "DiskFailed" ? "Internal" : "CorruptRecord", opened.error.message);
  const o = opened.value;
  // Entries with no durable hard state (term 0) are a first persist a crash cut short (a bootstrap,
  // or a joiner's first append): nothing was acknowledged for them, so they are not state; the
  // bootstrap is redone (its append replaces them). Taken as state, the node stayed outside its
  // own, uncommitted, configuration and never elected itself (broker seed 28).
  const hasState = o.snapshot !== undefined || o.hardState.term > 0;
  const recovered = hasState ? fromRaft(reader, options, o) : fromLegacy(reader, options, o, config);
  if (!recovered.ok) return recovered;
  const { metadata, ops, events, joining, probing } = recovered.value;
  const raft = new MetadataRaft(MetadataRaft.node(options.serverId, o.log, random, config), o.log, config);
  return ok({ raft, metadata, ops, events, joining, probing });
}

type Recovered = Result<{ metadata: MetadataState; ops: DiskOp[]; events: LogEvent[]; joining: boolean; probing: boolean }>;

/** Raft state exists: the snapshot, then every entry up to the durable commit, replayed. */
function fromRaft(reader: DiskReader, options: MetadataRecoveryOptions, o: OpenedRaftLog): Recovered {
  const stranger = strangerId(o, options.serverId, raftDir(options.dataDir));
  if (stranger !== undefined) return err("CorruptRecord", stranger);
  const metadata = restoredOrFresh(o.snapshot, options.defaults);
  if (!metadata.ok) return err("CorruptRecord", `${joinPath(raftDir(options.dataDir), SNAPSHOT_FILE)}: ${metadata.error.message}`);
  const events = [...o.events];
  const deleted = new Set<string>();
  for (const entry of o.entries) {
    if (entry.index > o.hardState.commit) break;
    const op = committedEntry(entry, events)?.op;
    if (op === undefined) continue;
    const applied = metadata.value.apply(op, entry.index);
    if (applied.ok && op.op === "deleteStream") deleted.add(op.name);
  }
  metadata.value.lastAppliedIndex = Math.max(metadata.value.lastAppliedIndex, o.hardState.commit);
  const accounted = accountForStreamDirs(reader, options, metadata.value, deleted);
  return ok({ metadata: metadata.value, ops: [...o.ops, ...accounted.ops], events: [...events, ...accounted.events], joining: false, probing: false });
}

/**
 * This node voted (so it was a voter), yet no membership its snapshot or log holds names its id:
 * the server id changed (its file lost or replaced). A joiner that never voted is not refused.
 */
function strangerId(o: OpenedRaftLog, self: RaftNodeId, dir: string): string | undefined {
  if (o.hardState.vote === "") return undefined;
  const members = new Set([...(o.snapshot?.meta.confState.voters ?? []), ...(o.snapshot?.meta.confState.learners ?? [])]);
  for (const e of o.entries) {
    const change = e.type === "confChange" ? decodeConfChange(e.data) : undefined;
    if (change !== undefined && change.type !== "removeNode") members.add(change.nodeId);
  }
  if (members.size === 0 || members.has(self)) return undefined;
  const ids = [...members].sort();
  return `the Raft log in ${dir} names server ${ids.join(", ")} as the members of the metadata cluster, but this server's id is ${self}. ` +
    `If the server id file "liftbridge" in the data directory was lost or replaced, restore it, or start with --server-id ${ids.length === 1 ? ids[0] : "<its id>"}`;
}

function restoredOrFresh(snapshot: RaftSnapshot | undefined, defaults: StreamDefaults): Result<MetadataState> {
  if (snapshot === undefined) return ok(new MetadataState(defaults));
  const restored = restoreMetadata(snapshot.data, defaults);
  if (restored.ok) restored.value.lastAppliedIndex = Math.max(restored.value.lastAppliedIndex, snapshot.meta.index);
  return restored;
}

/** What a committed normal entry carries; undefined for the leader's empty no-op, a membership change, or bad data (logged). */
export function committedEntry(entry: RaftEntry, events: LogEvent[]): MetadataEntry | undefined {
  if (entry.type !== "normal" || entry.data.length === 0) return undefined;
  const decoded = decodeMetadataEntry(entry.data);
  if (decoded.ok) return decoded.value;
  events.push({ level: "error", msg: "a committed metadata entry cannot be decoded: skipped on every broker alike", fields: { index: entry.index, reason: decoded.error.message } });
  return undefined;
}

/**
 * No Raft state: the single-node version's metadata log (checked as it always was) becomes the
 * first snapshot; with no old metadata either, bootstrap as told, or wait to be added.
 */
function fromLegacy(reader: DiskReader, options: MetadataRecoveryOptions, o: OpenedRaftLog, config: MetadataRaftConfig): Recovered {
  const legacy = recoverMetadata(reader, { ...options, createMissingLog: false });
  if (!legacy.ok) {
    // No old file either: this version's directory whose raft/ was lost; say so, not only that the old file is missing.
    if (reader.stat(joinPath(options.dataDir, "metadata", "metadata.log")) !== undefined) return legacy;
    return err(legacy.error.code, `there is no Raft log in ${raftDir(options.dataDir)} and ${legacy.error.message}. If ${raftDir(options.dataDir)} was lost, restore it from a backup`);
  }
  const { metadata, events } = legacy.value;
  const ops = [...legacy.value.ops, ...o.ops];
  const last = metadata.lastAppliedIndex;
  const self = options.serverId;
  if (last > 0) {
    // The migration: one snapshot at the old log's last index, so partition epochs stay ordered.
    const snapshot: RaftSnapshot = { meta: { index: last, term: 1, confState: { voters: [self], learners: [] } }, data: snapshotMetadata(metadata) };
    ops.push(...o.log.saveSnapshot(snapshot), ...o.log.setHardState({ term: 1, vote: "", commit: last }));
    // Then, once the Raft log is durable, the old file is renamed (kept, never deleted): were raft/
    // lost later, the broker must refuse to start, not fall back to metadata older than what it ran.
    const legacyPath = legacy.value.log.path;
    ops.push({ kind: "rename", from: legacyPath, to: `${legacyPath}${MIGRATED_SUFFIX}` }, { kind: "syncDir", path: parentDir(legacyPath) });
    events.push({ level: "info", msg: `metadata moved into the Raft log (the old metadata/metadata.log is kept as metadata.log${MIGRATED_SUFFIX})`, fields: { index: last, streams: metadata.streams.size } });
    return ok({ metadata, ops, events, joining: false, probing: false });
  }
  const b = config.bootstrap;
  if (b.kind === "join") return ok({ metadata, ops, events, joining: true, probing: false });
  if (b.kind === "seed" && (b.probeMs ?? 0) > 0) return ok({ metadata, ops, events, joining: false, probing: true });
  const voters = b.kind === "seed" ? [self] : initialVoters(self, b.peers, config.maxQuorumSize);
  // A named peer past max.quorum.size is not an initial voter: it joins (as a non-voter) instead.
  if (!voters.includes(self)) return ok({ metadata, ops, events, joining: true, probing: false });
  ops.push(...bootstrapOps(o.log, voters));
  events.push({ level: "info", msg: "bootstrapped a new metadata Raft cluster", fields: { voters: voters.join(",") } });
  return ok({ metadata, ops, events, joining: false, probing: false });
}

/** Writes a new cluster's first entries (the initial voters) into an empty log. */
function bootstrapOps(log: RaftDiskLog, voters: readonly RaftNodeId[]): DiskOp[] {
  const boot = bootstrapLog(voters);
  return [...log.append(boot.entries), ...log.setHardState(boot.hardState)];
}

/** Liftbridge's rule: the bootstrap peers (with this server) sorted, the first max.quorum.size of them voters. */
export function initialVoters(self: RaftNodeId, peers: readonly RaftNodeId[], maxQuorumSize: number): RaftNodeId[] {
  return [...new Set([...peers, self])].sort().slice(0, maxQuorumSize);
}
