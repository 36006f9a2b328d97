// Applying metadata ops on this broker: append the op to the durable metadata log, apply it to the
// state machine, then open, pause, resume or delete the partitions it touched.
import { assert, assertNever } from "../assert.js";
import { DiskError, joinPath, type DiskReader } from "../disk.js";
import type { OperatingError, Result } from "../errors.js";
import { err, ok } from "../errors.js";
import { CommitLog } from "../log/commit-log.js";
import type { LogConfig } from "../log/log-config.js";
import { validateLogConfig } from "../log/log-config.js";
import type { MetadataOp } from "../metadata/metadata-op.js";
import type { MetadataChange, PartitionMeta, StreamMeta } from "../metadata/metadata-state.js";
import type { StreamSettings } from "../metadata/stream-config.js";
import { partitionLane, type InputTime, type Outputs } from "../outputs.js";
import type { BrokerEffect } from "./api-types.js";
import { partitionKey, type BrokerState, type Proposal, type ProposalAnswer } from "./broker-state.js";
import { Partition } from "./partition.js";
import { partitionSnapshot } from "./partition-snapshot.js";
import { appliedIsCurrent, proposeOp } from "./broker-raft.js";
import { DEFAULT_MAX_CONTROL_LINE } from "../nats/control-line.js";
import { streamDirNameProblem, unservableStreamReason } from "./create-stream-request.js";

/** The directory holding one stream's partitions. */
export function streamDir(state: BrokerState, stream: string): string {
  return joinPath(state.config.dataDir, "streams", stream);
}

/** The CommitLog settings of a stream's partitions. */
export function logConfigFor(state: BrokerState, settings: StreamSettings): LogConfig {
  const base = {
    segmentMaxBytes: settings.segmentMaxBytes,
    segmentMaxAgeMs: settings.segmentMaxAgeMs,
    retentionMaxBytes: settings.retentionMaxBytes,
    retentionMaxMessages: settings.retentionMaxMessages,
    retentionMaxAgeMs: settings.retentionMaxAgeMs,
    compactEnabled: settings.compactEnabled,
    syncPolicy: state.config.syncPolicy,
    // A record carries the payload plus the subject/reply headers the broker adds.
    maxMessageBytes: state.config.replicationMaxBytes + 64 * 1024,
    // Planted bug (test only): the old recovery that cuts the log before the recovery point.
    ...(state.config.plantedBugs?.truncateBeforeRecoveryPoint === true ? { truncateBeforeRecoveryPoint: true } : {}),
    ...(state.config.plantedBugs?.readErrorThrows === true ? { readErrorThrows: true } : {}),
  };
  return state.deps.crc32c === undefined ? base : { ...base, crc32c: state.deps.crc32c };
}

/** Checks that a stream's effective settings make a valid log configuration. */
export function checkStreamSettings(state: BrokerState, settings: StreamSettings): Result<void> {
  const valid = validateLogConfig(logConfigFor(state, settings));
  return valid.ok ? ok(undefined) : err("InvalidArgument", valid.error.message);
}

/**
 * Proposes `op`: checks it against the applied state (a fast refusal), proposes it to the
 * metadata Raft and returns its index. Nothing changes until the entry commits (a quorum holds
 * it) and applyCommittedMetadata applies it.
 */
export function proposeMetadataOp(state: BrokerState, op: MetadataOp, time: InputTime): Result<Proposal> {
  // A refusal from a stale view is not final: the apply-time check answers instead.
  const checked = state.metadata.check(op);
  if (!checked.ok && appliedIsCurrent(state)) return checked;
  return proposeOp(state, op, time);
}

/** Holds an API answer (and the sends behind it) until `proposal` is applied. */
export function answerWhenApplied(proposal: Proposal, answer: ProposalAnswer): void {
  assert(proposal.answer === undefined, `proposal ${proposal.seq} unanswered`);
  proposal.answer = answer;
}

/** Opens, closes or removes partitions after a metadata change (also used during recovery). */
export function reactToChange(state: BrokerState, change: MetadataChange, time: InputTime, out: Outputs<BrokerEffect>): void {
  switch (change.kind) {
    case "streamCreated":
      for (const meta of change.stream.partitions) startPartition(state, change.stream, meta, time, out);
      return;
    case "streamDeleted":
      for (const meta of change.stream.partitions) stopPartition(state, change.stream, meta, "deleted", out);
      // A name no directory can have (saved by an older version) has no directory to remove; nor
      // has a broker that holds none of the stream's partitions.
      if (streamDirNameProblem(change.stream.name) !== undefined || !holdsReplica(state, change.stream)) return;
      out.persist.push(
        { kind: "removeTree", path: streamDir(state, change.stream.name) },
        { kind: "syncDir", path: joinPath(state.config.dataDir, "streams") },
      );
      return;
    case "partitionsPaused":
      for (const meta of change.partitions) stopPartition(state, change.stream, meta, "paused", out);
      return;
    case "partitionsResumed":
      for (const meta of change.partitions) startPartition(state, change.stream, meta, time, out);
      return;
    case "partitionsReadonly":
      for (const meta of change.partitions) {
        const p = state.partitions.get(partitionKey(meta.stream, meta.id));
        p?.updateMetadata(partitionSnapshot(change.stream, meta));
        if (p !== undefined) state.dirty.add(p);
      }
      return;
    default:
      return assertNever(change, "metadata change");
  }
}

/** A partition lane drained: a reopen deferred until then (see startPartition) runs now, if still wanted. */
export function retryDeferredStart(state: BrokerState, key: string, time: InputTime, out: Outputs<BrokerEffect>): void {
  if (!state.deferredStarts.has(key) || (state.laneTokens.get(laneOfKey(state, key) ?? "")?.length ?? 0) > 0) return;
  state.deferredStarts.delete(key);
  const partition = state.partitions.get(key);
  const stream = partition === undefined ? undefined : state.metadata.streams.get(partition.meta.stream);
  const meta = partition === undefined ? undefined : stream?.partitions[partition.meta.id];
  if (stream !== undefined && meta !== undefined && !meta.paused) startPartition(state, stream, meta, time, out);
}

function laneOfKey(state: BrokerState, key: string): string | undefined {
  const p = state.partitions.get(key);
  return p === undefined ? undefined : partitionLane(p.meta.stream, p.meta.id);
}

/** Whether this broker is a replica of any partition of `stream` (and so may hold its directory). */
function holdsReplica(state: BrokerState, stream: StreamMeta): boolean {
  return stream.partitions.some((p) => p.replicas.includes(state.config.serverId));
}

/**
 * Opens a partition's log (paused partitions stay closed) and subscribes to its subject, on the
 * broker that leads it; other brokers keep no partition object (they answer NotLeader for it).
 */
export function startPartition(state: BrokerState, stream: StreamMeta, meta: PartitionMeta, time: InputTime, out: Outputs<BrokerEffect>): void {
  if (meta.leader !== state.config.serverId) return;
  const key = partitionKey(stream.name, meta.id);
  const existing = state.partitions.get(key);
  const snapshot = partitionSnapshot(stream, meta);
  existing?.updateMetadata(snapshot);
  // A partition whose disk failed stays down until a restart, resume or not: reopening it would
  // read pages a failed fdatasync may have dropped and append after them (broker seed 174).
  const failed = existing?.role.kind === "offline" && existing.role.reason === "failed";
  if (meta.paused || failed || (existing !== undefined && existing.role.kind === "leader")) {
    if (existing === undefined) state.partitions.set(key, new Partition(snapshot, undefined));
    return;
  }
  const refused = unservableStreamReason(stream, DEFAULT_MAX_CONTROL_LINE);
  if (refused !== undefined) {
    // Saved by an older version that did not check the limits: serve the other streams.
    out.log.push({ level: "error", msg: "stream not served: it breaks a limit; delete it and create it again within the limits", fields: { stream: stream.name.slice(0, 300), partition: meta.id, reason: refused } });
    if (existing === undefined) state.partitions.set(key, new Partition(snapshot, undefined));
    return;
  }
  const dir = joinPath(streamDir(state, stream.name), String(meta.id));
  // Paused and resumed while its lane still writes (both in one Raft Ready): reading the log back
  // now would miss those writes and hand their offsets out again (broker seed 314). It reopens
  // once the lane has drained (retryDeferredStart).
  const laneBusy = (state.laneTokens.get(partitionLane(stream.name, meta.id))?.length ?? 0) > 0 ||
    out.persist.some((op) => op.kind !== "rename" && op.path.startsWith(`${dir}/`));
  if (existing !== undefined && laneBusy) {
    state.deferredStarts.add(key);
    return;
  }
  state.deferredStarts.delete(key);
  // Deleted and recreated in one step (both committed in one Raft Ready): the old directory is
  // removed before this log's ops run, so it opens as the disk will be (cluster seed 2).
  const removing = out.persist.some((op) => op.kind === "removeTree" && op.path === streamDir(state, stream.name));
  const reader = removing ? readerWithout(state.deps.reader, streamDir(state, stream.name)) : state.deps.reader;
  const reopened = CommitLog.tryOpen(reader, dir, logConfigFor(state, stream.settings), time.nowMs);
  if (!reopened.ok) {
    // Unreadable on disk: this partition is not served, every other one is.
    out.log.push({ level: "error", msg: "partition not served: its log cannot be read", fields: { stream: stream.name, partition: meta.id, reason: reopened.error.message } });
    const offline = existing ?? new Partition(snapshot, undefined);
    offline.role = { kind: "offline", reason: "failed" };
    state.partitions.set(key, offline);
    return;
  }
  const opened = reopened.value;
  out.persist.push(...opened.ops);
  out.log.push(...opened.events.map((e) => ({ ...e, fields: { ...e.fields, stream: stream.name, partition: meta.id } })));
  // One replica: whatever survived recovery is committed (DESIGN: HW after recovery = log end).
  if (stream.replicationFactor === 1 && opened.log.newestOffset >= 0) opened.log.setHighWatermark(opened.log.newestOffset);
  const partition = new Partition(snapshot, opened.log);
  if (existing !== undefined) partition.messagesReceived.firstNs = existing.messagesReceived.firstNs;
  state.partitions.set(key, partition);
  const sid = state.nextSid++;
  partition.sid = sid;
  state.partitionsBySid.set(sid, partition);
  out.natsSubscriptions.push({ kind: "natsSubscribe", sid, subject: meta.subject, queue: stream.group });
  state.dirty.add(partition);
}

/** `reader` as it will be once directory `removed` is gone. */
function readerWithout(reader: DiskReader, removed: string): DiskReader {
  const under = (path: string): boolean => path === removed || path.startsWith(`${removed}/`);
  return {
    read: (path, position, length) => {
      if (under(path)) throw new DiskError("ENOENT", "read", path);
      return reader.read(path, position, length);
    },
    list: (dir) => {
      if (under(dir)) throw new DiskError("ENOENT", "list", dir);
      return reader.list(dir).filter((name) => !under(joinPath(dir, name)));
    },
    stat: (path) => (under(path) ? undefined : reader.stat(path)),
  };
}

/** Stops consuming, ends the partition's subscriptions and closes its log. */
export function stopPartition(state: BrokerState, stream: StreamMeta, meta: PartitionMeta, reason: "paused" | "deleted", out: Outputs<BrokerEffect>): void {
  const key = partitionKey(stream.name, meta.id);
  const partition = state.partitions.get(key);
  if (partition === undefined) return;
  partition.updateMetadata(partitionSnapshot(stream, meta));
  if (partition.sid !== undefined) {
    out.natsSubscriptions.push({ kind: "natsUnsubscribe", sid: partition.sid });
    state.partitionsBySid.delete(partition.sid);
    partition.sid = undefined;
  }
  const error: OperatingError = reason === "deleted"
    ? { code: "StreamNotFound", message: "Stream deleted" }
    : { code: "PartitionPaused", message: "Partition paused" };
  endSubscriptions(state, stream.name, meta.id, error, out);
  if (partition.log !== undefined) {
    out.persist.push(...partition.log.close());
    partition.log = undefined;
  }
  // A pause does not clear a disk failure (a resume would then reopen the partition).
  if (reason === "deleted" || partition.role.kind !== "offline" || partition.role.reason !== "failed") partition.role = { kind: "offline", reason };
  if (reason === "deleted") state.partitions.delete(key);
}

/** Ends every subscription of one partition with `error`. */
export function endSubscriptions(state: BrokerState, stream: string, partition: number, error: OperatingError, out: Outputs<BrokerEffect>): void {
  for (const sub of [...state.subscriptions.values()]) {
    if (sub.stream !== stream || sub.partition !== partition) continue;
    state.subscriptions.delete(sub.id);
    out.reply.push({ kind: "subscriptionEnded", subscriptionId: sub.id, error });
  }
}
