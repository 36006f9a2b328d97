// The write side of the broker: NATS deliveries into partition batches, persist completions into
// high watermarks and acks, and the timers (high watermark checkpoint, interval sync, cleaner).
import { DEFAULT_MAX_CONTROL_LINE, fitsControlLine } from "../nats/control-line.js";
import { assert } from "../assert.js";
import { isOutOfResources, parentDir, type DiskError, type DiskOp } from "../disk.js";
import { isValidPublishSubject } from "../nats/subject.js";
import { type InputTime, type LaneId, type Outputs } from "../outputs.js";
import { endSubscriptions, retryDeferredStart } from "./broker-metadata.js";
import { endSeedProbe, raftSyncOps, raftTick, restartRaft } from "./broker-raft.js";
import { onBrokerInfoTimer, onJoinTimer } from "./broker-cluster.js";
import { partitionKeyOfLane } from "./persist-lanes.js";
import type { BrokerEffect } from "./api-types.js";
import type { BrokerState, TimerName } from "./broker-state.js";
import type { AppendContext, NatsDelivery, Partition } from "./partition.js";
import type { AckFields } from "./wire-codec.js";

/** Groups a batch of deliveries by partition and appends each group as one batch. */
export function appendDeliveries(state: BrokerState, messages: readonly NatsDelivery[], time: InputTime, out: Outputs<BrokerEffect>): void {
  const groups = new Map<Partition, NatsDelivery[]>();
  for (const m of messages) {
    const partition = state.partitionsBySid.get(m.sid);
    if (partition === undefined) continue; // An unsubscribed sid: the message raced the UNSUB.
    const group = groups.get(partition);
    if (group === undefined) groups.set(partition, [m]);
    else group.push(m);
  }
  const ctx = appendContext(state, out);
  if (state.diskFull !== undefined) {
    // Nothing is appended until the repair after a full disk has persisted: answer, do not store.
    for (const [partition, group] of groups) partition.refuseDeliveries(group, time, ctx, state.diskFull.reason);
    return;
  }
  const max = state.config.batchMaxMessages;
  for (const [partition, group] of groups) {
    for (let i = 0; i < group.length; i += max) {
      partition.appendDeliveries(group.slice(i, i + max), time, state.nextToken, ctx);
    }
  }
}

/** A persist token came back: advance high watermarks, release ALL acks, wake subscribers. */
export function onPersisted(state: BrokerState, token: number, time: InputTime, out: Outputs<BrokerEffect>): void {
  const lane = completeToken(state, token);
  const full = state.diskFull;
  if (full !== undefined && full.repairToken === token && full.repairStale) {
    out.log.push({ level: "warn", msg: "disk repair done, but a write failed while it was in flight: repairing again", fields: { token } });
    full.repairToken = undefined;
    full.repairStale = false;
    repairAfterDiskFull(state, time, out);
  } else if (full !== undefined && full.repairToken === token) {
    state.diskFull = undefined;
    state.timers.delete({ kind: "diskFullRetry" });
    // The repair synced what the Raft directory holds: a node dropped by a failed write restarts
    // from it, after a pause (a restarted node writes at once; on a disk still full that would spin).
    if (state.raftDown) state.timers.set({ kind: "raftRestart" }, time.nowMs + DISK_FULL_RETRY_MS);
    for (const partition of state.partitions.values()) partition.repaired();
    out.log.push({ level: "info", msg: "disk writable again: taking writes", fields: { after: full.reason } });
  }
  const ctx = appendContext(state, out);
  for (const partition of partitionsOfLane(state, lane)) {
    if (partition.onPersisted(token, time, ctx)) state.dirty.add(partition);
  }
  retryDeferredStarts(state, lane, time, out);
}

/** A partition lane completed a token: a reopen waiting for it to drain may run. */
function retryDeferredStarts(state: BrokerState, lane: LaneId, time: InputTime, out: Outputs<BrokerEffect>): void {
  const key = partitionKeyOfLane(lane);
  if (key !== undefined && state.deferredStarts.size > 0) retryDeferredStart(state, key, time, out);
}

/** The partitions a lane's completion concerns: its own, or every one for the metadata lane. */
function partitionsOfLane(state: BrokerState, lane: LaneId): Iterable<Partition> {
  const key = partitionKeyOfLane(lane);
  if (key === undefined) return state.partitions.values();
  const partition = state.partitions.get(key);
  return partition === undefined ? [] : [partition];
}

/** How long a broker whose disk is still full waits before it tries the repair again. */
export const DISK_FULL_RETRY_MS = 1000;

/**
 * A persist token failed. Out of space or descriptors (isOutOfResources) is refused work, not a
 * failed disk: every publisher waiting on the token gets an error ack, the logs are cut back to
 * what was acked, reads go on, and the broker takes writes again once that repair persists (if
 * the repair fails too, it is retried on a timer, never in a tight loop). Anything else (EIO) is
 * fail-stop, as in Kafka and PostgreSQL: after a failed fsync the kernel may have dropped pages
 * that reads still return, so nothing written since the last confirmed sync can be trusted or
 * repaired in place. The broker stops writing and serving until it is restarted.
 */
export function onPersistFailed(state: BrokerState, token: number, error: DiskError, time: InputTime, out: Outputs<BrokerEffect>): void {
  const touched = touchedDirs(state.persistOps.get(token)?.ops ?? []);
  const lane = completeToken(state, token);
  // Persists that were in flight when the broker stopped fail after it: nothing more to do.
  if (state.failed !== undefined) return;
  if (!isOutOfResources(error)) {
    // A failed partition lane stops that partition only; a failed metadata lane, the broker.
    const key = partitionKeyOfLane(lane);
    const stopsBroker = key === undefined || state.config.plantedBugs?.laneFailureStopsBroker === true;
    return stopsBroker ? failStop(state, token, error, time, out) : failStopPartition(state, key, token, error, time, out);
  }
  const ctx = appendContext(state, out);
  const wasFull = state.diskFull;
  // A write issued before the repair may fail after it was issued: the repair stays in flight.
  const repairToken = wasFull === undefined || wasFull.repairToken === token ? undefined : wasFull.repairToken;
  // A repair in flight was derived before this failure: it cannot cover the partitions cut back here.
  state.diskFull = { reason: error.message, repairToken, repairStale: repairToken !== undefined };
  for (const partition of partitionsOfLane(state, lane)) {
    partition.onPersistFailed(token, time, ctx, { code: "DiskFull", message: error.message });
    // Only partitions with ops in the failed persist can differ from the disk (with 10,000
    // partitions, re-deriving every log per refused write would stall the broker for seconds).
    if (partition.log !== undefined && touched.has(partition.log.dir)) partition.markForRepair();
  }
  if (wasFull === undefined) {
    out.log.push({ level: "error", msg: "disk full (or out of file descriptors): refusing writes that do not fit", fields: { token, error: error.message } });
    return repairAfterDiskFull(state, time, out);
  }
  // The repair (or a write racing it) failed too: wait, then re-derive everything from the disk.
  out.log.push({ level: "warn", msg: "disk still full: writes stay refused; retrying the repair", fields: { token, error: error.message, retryInMs: DISK_FULL_RETRY_MS } });
  if (!state.timers.has({ kind: "diskFullRetry" })) state.timers.set({ kind: "diskFullRetry" }, time.nowMs + DISK_FULL_RETRY_MS);
}

/** The directories the ops work in (a file's parent; a directory op's own path). */
function touchedDirs(ops: readonly DiskOp[]): Set<string> {
  const dirs = new Set<string>();
  for (const op of ops) {
    if (op.kind === "rename") dirs.add(parentDir(op.from)).add(parentDir(op.to));
    else if (op.kind === "mkdir" || op.kind === "syncDir" || op.kind === "removeTree") dirs.add(op.path);
    else dirs.add(parentDir(op.path));
  }
  return dirs;
}

/** Re-derives every affected log from the disk, cut back past what failed, and rewrites unconfirmed metadata. */
function repairAfterDiskFull(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  const full = state.diskFull;
  assert(full !== undefined, "a repair runs only while the disk is full");
  const ctx = appendContext(state, out);
  if (state.raftDown) out.persist.push(...raftSyncOps(state));
  for (const partition of state.partitions.values()) {
    const hadLog = partition.log !== undefined;
    partition.repair(time, ctx);
    // Its log could not be read back: its subscribers get an answer instead of waiting forever.
    if (hadLog && partition.log === undefined) endSubscriptions(state, partition.meta.stream, partition.meta.id, { code: "Internal", message: "partition offline: its log cannot be read" }, out);
  }
  // Broker.finish hands the next token to this step's persist (it is never empty: the syncs above).
  full.repairToken = state.nextToken;
}

/**
 * EIO on one partition's lane: that partition is fail-stop (error acks, its readers ended, no
 * more writes until a restart re-derives it from the disk); the other lanes go on.
 */
function failStopPartition(state: BrokerState, key: string, token: number, error: DiskError, time: InputTime, out: Outputs<BrokerEffect>): void {
  const partition = state.partitions.get(key);
  if (partition === undefined || (partition.role.kind === "offline" && partition.role.reason === "failed")) return;
  out.log.push({ level: "error", msg: "partition disk write failed: the partition stops until the broker is restarted; check the disk", fields: { stream: partition.meta.stream, partition: partition.meta.id, token, error: error.message } });
  if (partition.sid !== undefined) {
    out.natsSubscriptions.push({ kind: "natsUnsubscribe", sid: partition.sid });
    state.partitionsBySid.delete(partition.sid);
    partition.sid = undefined;
  }
  partition.failStop(time, appendContext(state, out));
  endSubscriptions(state, partition.meta.stream, partition.meta.id, { code: "DiskFailed", message: `disk failed: ${error.message}` }, out);
}

function failStop(state: BrokerState, token: number, error: DiskError, time: InputTime, out: Outputs<BrokerEffect>): void {
  const ctx = appendContext(state, out);
  state.failed = error.message;
  state.timers.clear();
  out.log.push({ level: "error", msg: "disk failed: the broker stops writing; check the disk and restart it", fields: { token, error: error.message } });
  for (const partition of state.partitions.values()) {
    if (partition.sid !== undefined) {
      out.natsSubscriptions.push({ kind: "natsUnsubscribe", sid: partition.sid });
      state.partitionsBySid.delete(partition.sid);
      partition.sid = undefined;
    }
    partition.failStop(time, ctx);
  }
  for (const sub of state.subscriptions.values()) {
    out.reply.push({ kind: "subscriptionEnded", subscriptionId: sub.id, error: { code: "DiskFailed", message: `disk failed: ${error.message}` } });
  }
  state.subscriptions.clear();
}

/** Marks a token complete and returns its lane; asserts tokens complete in order within the lane. */
function completeToken(state: BrokerState, token: number): LaneId {
  const entry = state.persistOps.get(token);
  assert(entry !== undefined, `persist token ${token} is in flight`);
  state.persistOps.delete(token);
  const first = state.laneTokens.get(entry.lane)?.shift();
  assert(first === token, `persist tokens complete in order within lane ${entry.lane}: expected ${String(first)}, got ${token}`);
  return entry.lane;
}

/** Fires every timer that is due. */
export function onTimer(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  for (const { key } of state.timers.popDue(time.nowMs)) {
    if (key.kind === "partition" || key.kind === "peer") {
      out.log.push({ level: "warn", msg: "timer fired with no handler (nothing arms it yet)", fields: { kind: key.kind, name: key.name } });
      continue;
    }
    fire(state, key.kind, time, out);
  }
}

function fire(state: BrokerState, name: TimerName, time: InputTime, out: Outputs<BrokerEffect>): void {
  // Ten times a second: before anything that walks the partitions.
  if (name === "raftTick") return raftTick(state, time);
  if (name === "raftRestart") return restartRaft(state, out);
  if (name === "brokerInfo") return onBrokerInfoTimer(state, time, out);
  if (name === "raftJoin") return onJoinTimer(state, time, out);
  if (name === "seedProbe") return endSeedProbe(state, out);
  const logs = [...state.partitions.values()].flatMap((p) => (p.log === undefined ? [] : [p.log]));
  switch (name) {
    case "hwCheckpoint":
      return checkpointBatch(state, time, out);
    case "syncInterval":
      for (const log of logs) out.persist.push(...log.syncOps());
      state.timers.set({ kind: name }, time.nowMs + state.config.syncIntervalMs);
      return;
    case "diskFullRetry":
      if (state.diskFull !== undefined && state.diskFull.repairToken === undefined) repairAfterDiskFull(state, time, out);
      return;
    case "cleaner": {
      let more = false;
      for (const log of logs) {
        out.persist.push(...log.maybeRoll(time.nowMs));
        const cleaned = log.cleanup(time.nowMs, time.wallNs);
        out.persist.push(...cleaned.ops);
        out.log.push(...cleaned.events);
        more ||= cleaned.more;
      }
      state.timers.set({ kind: name }, time.nowMs + state.config.streamDefaults.cleanerIntervalMs);
      // A compaction under way takes its next bounded step in a later step, not this one.
      if (more) state.timers.set({ kind: "compaction" }, time.nowMs);
      return;
    }
    case "compaction": {
      let more = false;
      for (const log of logs) {
        const step = log.continueCompaction();
        out.persist.push(...step.ops);
        out.log.push(...step.events);
        more ||= step.more;
      }
      if (more) state.timers.set({ kind: name }, time.nowMs);
      else state.timers.delete({ kind: name });
      return;
    }
  }
}

/** Checkpoints written per step: a round over thousands of partitions must not hold the broker for one persist. */
export const HW_CHECKPOINT_BATCH_PARTITIONS = 32;

/**
 * Writes the checkpoints of the next partitions of the round (starting one when none is in
 * progress) until HW_CHECKPOINT_BATCH_PARTITIONS of them had something to write; the rest of the
 * round follows in the next steps (the timer is due at once), then the next round an interval later.
 */
function checkpointBatch(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  const round = state.hwCheckpointRound ?? { keys: [...state.partitions.keys()], next: 0 };
  let written = 0;
  while (round.next < round.keys.length && written < HW_CHECKPOINT_BATCH_PARTITIONS) {
    // Looked up again: the partition may have been deleted since the round started.
    const log = state.partitions.get(round.keys[round.next++] as string)?.log;
    const ops = log === undefined ? [] : log.checkpointHighWatermark();
    if (ops.length > 0) written++;
    out.persist.push(...ops);
  }
  const done = round.next >= round.keys.length;
  state.hwCheckpointRound = done ? undefined : round;
  state.timers.set({ kind: "hwCheckpoint" }, done ? time.nowMs + state.config.hwCheckpointIntervalMs : time.nowMs);
}

function appendContext(state: BrokerState, out: Outputs<BrokerEffect>): AppendContext {
  return {
    codec: state.deps.codec,
    reader: state.deps.reader,
    out,
    replicationMaxBytes: state.config.replicationMaxBytes,
    ackBeforePersist: state.config.plantedBugs?.ackBeforePersist === true,
    noLeaderErrorAck: state.config.plantedBugs?.noLeaderErrorAck === true,
    sendAck: (ack: AckFields, afterLane: LaneId | undefined) => {
      // NONE means no ack at all, and there is nowhere to send one without an inbox.
      if (ack.ackInbox.length === 0 || ack.ackPolicy === "NONE") return;
      // Nor to an inbox that is no publish subject: written into the broker's NATS connection,
      // "x 0\r\nPUB y ..." would publish for the client, and a malformed PUB cost the connection.
      if (!isValidPublishSubject(ack.ackInbox) || !fitsControlLine(ack.ackInbox, DEFAULT_MAX_CONTROL_LINE)) {
        out.log.push({ level: "warn", msg: "no ack sent: the ack inbox is not a valid NATS publish subject or is longer than NATS's max_control_line", fields: { ackInbox: ack.ackInbox.slice(0, 200) } });
        return;
      }
      const send = { subject: ack.ackInbox, data: state.deps.codec.encodeAck(ack) };
      if (afterLane === undefined) return void out.send.push(send);
      const sends = out.sendAfterLane.get(afterLane);
      if (sends === undefined) out.sendAfterLane.set(afterLane, [send]);
      else sends.push(send);
    },
  };
}
