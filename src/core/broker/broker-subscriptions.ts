// Subscribe, flow control and cancellation, and the end-of-step pump that hands committed records
// to every subscriber that can take them.
import { err, ok, type Result } from "../errors.js";
import type { InputTime, Outputs } from "../outputs.js";
import type { Offset } from "../types.js";
import type { BrokerEffect, SubscribeRequest } from "./api-types.js";
import { resumeIfPaused } from "./broker-api.js";
import { answerWhenApplied } from "./broker-metadata.js";
import { partitionKey, type BrokerState } from "./broker-state.js";
import { pumpSubscription, resolvePositions, type Subscription } from "./subscription.js";

/**
 * Starts a subscription, or answers why it cannot start (spec §2.5 Subscribe, in its order); its
 * first chunk holds at most `maxBytes` when given.
 */
export function subscribe(state: BrokerState, subscriptionId: number, request: SubscribeRequest, time: InputTime, out: Outputs<BrokerEffect>, maxBytes?: number): void {
  const result = startSubscription(state, subscriptionId, request, time, out, maxBytes);
  if (result === "resuming") return; // answered once the resume applied (broker-commit.ts)
  const reply: BrokerEffect = { kind: "subscribed", subscriptionId, result };
  (out.persist.length > 0 ? out.replyAfterPersist : out.reply).push(reply);
}

function startSubscription(state: BrokerState, id: number, request: SubscribeRequest, time: InputTime, out: Outputs<BrokerEffect>, maxBytes: number | undefined): Result<{ startOffset: Offset }> | "resuming" {
  const stream = state.metadata.streams.get(request.stream);
  const meta = stream?.partitions[request.partition];
  if (stream === undefined || meta === undefined) return err("PartitionNotFound", "No such partition");
  if (meta.paused) {
    if (!request.resume) return err("PartitionPaused", "Partition is paused");
    const resumed = resumeIfPaused(state, request.stream, request.partition, time, out);
    if (!resumed.ok) return resumed;
    if (resumed.value !== undefined) {
      answerWhenApplied(state, resumed.value, { kind: "subscribe", subscriptionId: id, request, maxBytes });
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
    nextOffset: positions.value.start, stopOffset: positions.value.stop, ready: true, readyBytes: maxBytes,
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

/** Hands new committed records to the subscribers of every partition that changed this step. */
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
    if (pumped.kind === "idle") continue;
    if (pumped.kind === "records") {
      out.reply.push({ kind: "subscriptionRecords", subscriptionId: sub.id, stream: sub.stream, partition: sub.partition, records: pumped.records });
      if (pumped.end === undefined) continue;
    }
    state.subscriptions.delete(sub.id);
    const error = pumped.kind === "end" ? pumped.error : (pumped.end ?? { code: "Internal", message: "ended" });
    // A read the disk refused (or a corrupt record) ends this subscription; the partition keeps serving.
    if (error.code === "Internal" || error.code === "CorruptRecord") out.log.push({ level: "error", msg: "subscription ended: its partition could not be read", fields: { stream: sub.stream, partition: sub.partition, error: error.message } });
    out.reply.push({ kind: "subscriptionEnded", subscriptionId: sub.id, error });
  }
}
