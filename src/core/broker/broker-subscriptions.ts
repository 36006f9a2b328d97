// Subscribe, flow control and cancellation, and the end-of-step pump that hands committed records
// to every subscriber that can take them: it asks for each ready subscriber's next chunk as a read
// output (Outputs.reads, in the partition's lane), and the chunk goes out when its bytes come back.
import type { DiskError } from "../disk.js";
import { err, ok, type OperatingError, type Result } from "../errors.js";
import type { InputTime, Outputs } from "../outputs.js";
import type { Offset } from "../types.js";
import type { BrokerEffect, SubscribeRequest } from "./api-types.js";
import { resumeIfPaused } from "./broker-api.js";
import { answerWhenApplied } from "./broker-metadata.js";
import { partitionKey, type BrokerState } from "./broker-state.js";
import type { CommitLog } from "../log/commit-log.js";
import type { ReadPlan } from "../log/log-reader.js";
import type { Partition } from "./partition.js";
import { deliverRead, pumpSubscription, readFailed, resolvePositions, type PumpResult, type Subscription } from "./subscription.js";

/**
 * Starts a subscription, or answers why it cannot start (spec §2.5 Subscribe, in its order); its
 * first chunk holds at most `maxBytes` when given.
 */
export function subscribe(state: BrokerState, subscriptionId: number, request: SubscribeRequest, time: InputTime, out: Outputs<BrokerEffect>, maxBytes?: number): void {
  const result = startSubscription(state, subscriptionId, request, time, maxBytes);
  if (result === "resuming") return; // answered once the resume applied (broker-commit.ts)
  const reply: BrokerEffect = { kind: "subscribed", subscriptionId, result };
  (out.persist.length > 0 ? out.replyAfterPersist : out.reply).push(reply);
}

function startSubscription(state: BrokerState, id: number, request: SubscribeRequest, time: InputTime, maxBytes: number | undefined): Result<{ startOffset: Offset }> | "resuming" {
  const stream = state.metadata.streams.get(request.stream);
  const meta = stream?.partitions[request.partition];
  if (stream === undefined || meta === undefined) return err("PartitionNotFound", "No such partition");
  if (meta.paused) {
    if (!request.resume) return err("PartitionPaused", "Partition is paused");
    const resumed = resumeIfPaused(state, request.stream, request.partition, time);
    if (!resumed.ok) return resumed;
    if (resumed.value !== undefined) {
      answerWhenApplied(resumed.value, { kind: "subscribe", subscriptionId: id, request, maxBytes });
      return "resuming";
    }
  }
  const partition = state.partitions.get(partitionKey(request.stream, request.partition));
  if (partition?.role.kind === "offline" && partition.role.reason === "failed") return err("DiskFailed", "the partition's disk failed; it is served again after a restart");
  if (partition === undefined || partition.role.kind !== "leader" || partition.log === undefined) {
    return err("NotLeader", "Server not partition leader");
  }
  const positions = resolvePositions(request, partition.log, meta.readonly);
  if (!positions.ok) return positions;
  const sub: Subscription = {
    id, stream: request.stream, partition: request.partition, key: partitionKey(request.stream, request.partition),
    nextOffset: positions.value.start, stopOffset: positions.value.stop, ready: true, readyBytes: maxBytes, reading: undefined,
  };
  state.subscriptions.set(id, sub);
  state.dirty.add(partition);
  return ok({ startOffset: positions.value.start });
}

/**
 * The shell wrote the last chunk: the subscription may take another, of at most `maxBytes` when
 * given (the shell's buffer caps; at least one record is always sent).
 */
export function subscriptionReady(state: BrokerState, subscriptionId: number, maxBytes?: number): void {
  const sub = state.subscriptions.get(subscriptionId);
  if (sub === undefined) return;
  sub.ready = true;
  sub.readyBytes = maxBytes;
  const partition = state.partitions.get(sub.key);
  if (partition !== undefined) state.dirty.add(partition);
}

/** The client went away. */
export function unsubscribe(state: BrokerState, subscriptionId: number): void {
  state.subscriptions.delete(subscriptionId);
}

/** Asks for the next chunk of every ready subscriber of the partitions that changed this step. */
export function pumpDirtyPartitions(state: BrokerState, out: Outputs<BrokerEffect>): void {
  if (state.dirty.size === 0) return;
  const dirty = new Set(state.dirty);
  state.dirty.clear();
  // Deleting the current entry while iterating a Map is well defined; no copy of thousands of entries per step.
  for (const sub of state.subscriptions.values()) {
    const partition = state.partitions.get(sub.key);
    if (partition === undefined || !dirty.has(partition) || partition.log === undefined) continue;
    const maxBytes = Math.min(state.config.subscriberBatchMaxBytes, sub.readyBytes ?? Number.MAX_SAFE_INTEGER);
    const pumped = pumpSubscription(sub, partition.log, partition.meta.readonly, maxBytes);
    if (pumped.kind === "read") requestRead(state, sub, partition, pumped.plan, out);
    else handOn(state, sub, pumped, out);
  }
}

/** The read of a subscription's next chunk leaves the step: in its partition's lane, after what was staged before it. */
function requestRead(state: BrokerState, sub: Subscription, partition: Partition, plan: ReadPlan, out: Outputs<BrokerEffect>): void {
  const token = state.nextReadToken++;
  sub.reading = { token, plan, log: partition.leaderLog };
  state.reads.set(token, sub.id);
  // A mixed step's group (the repair after a full disk) may cut this partition's files: read after it.
  const barrier = state.barrierToken !== undefined && state.persistOps.has(state.barrierToken) ? [state.barrierToken] : [];
  out.reads.push({ token, lane: partition.lane, path: plan.path, position: plan.position, length: plan.length, after: barrier, purpose: `subscription ${sub.id}` });
}

/** Sends a chunk on, and ends the subscription when the pump says so. */
function handOn(state: BrokerState, sub: Subscription, pumped: PumpResult, out: Outputs<BrokerEffect>): void {
  if (pumped.kind === "idle" || pumped.kind === "read") return;
  if (pumped.kind === "records") {
    out.reply.push({ kind: "subscriptionRecords", subscriptionId: sub.id, stream: sub.stream, partition: sub.partition, records: pumped.records });
    if (pumped.end === undefined) return;
  }
  endSubscription(state, sub, pumped.kind === "end" ? pumped.error : (pumped.end ?? { code: "Internal", message: "ended" }), out);
}

function endSubscription(state: BrokerState, sub: Subscription, error: OperatingError, out: Outputs<BrokerEffect>): void {
  state.subscriptions.delete(sub.id);
  // A read the disk refused (or a corrupt record) ends this subscription; the partition keeps serving.
  if (error.code === "Internal" || error.code === "CorruptRecord") out.log.push({ level: "error", msg: "subscription ended: its partition could not be read", fields: { stream: sub.stream, partition: sub.partition, error: error.message } });
  out.reply.push({ kind: "subscriptionEnded", subscriptionId: sub.id, error });
}

/**
 * The subscription a read was for, when it still waits for it and its partition still serves
 * from the log it planned on; otherwise undefined (and a live subscription plans again).
 */
function readOwner(state: BrokerState, token: number): { sub: Subscription; partition: Partition; plan: ReadPlan; log: CommitLog } | undefined {
  const id = state.reads.get(token);
  state.reads.delete(token);
  const sub = id === undefined ? undefined : state.subscriptions.get(id);
  if (sub?.reading?.token !== token) return undefined;
  const { log: planned, plan } = sub.reading;
  sub.reading = undefined;
  const partition = state.partitions.get(sub.key);
  if (partition === undefined) return undefined;
  // The log was reopened meanwhile (the repair after a full disk): plan again on the new one.
  if (partition.log !== planned) {
    state.dirty.add(partition);
    return undefined;
  }
  return { sub, partition, plan, log: planned };
}

/** A chunk's bytes came back: verify and hand them on, then plan the next chunk when the subscriber is ready. */
export function onReadCompleted(state: BrokerState, token: number, bytes: Uint8Array, out: Outputs<BrokerEffect>): void {
  const owner = readOwner(state, token);
  if (owner === undefined) return;
  const { sub, partition, plan, log } = owner;
  handOn(state, sub, deliverRead(sub, log, partition.meta.readonly, plan, bytes), out);
  state.dirty.add(partition);
}

/** The disk refused a chunk's read: that subscription ends (Internal, logged); the partition keeps serving. */
export function onReadFailed(state: BrokerState, token: number, error: DiskError, out: Outputs<BrokerEffect>): void {
  // Planted bug (test only): the old behaviour, a read error escaping the step.
  if (state.config.plantedBugs?.readErrorThrows === true && state.reads.has(token)) throw error;
  const owner = readOwner(state, token);
  if (owner !== undefined) endSubscription(state, owner.sub, readFailed(error.message), out);
}
