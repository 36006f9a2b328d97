// The broker's API handlers: validation and error messages as Liftbridge's (spec §2.5), then a
// metadata op or a NATS publish. Replies to ops wait for the op to be durable.
import { assertNever } from "../assert.js";
import { err, ok, type Result } from "../errors.js";
import type { MetadataOp } from "../metadata/metadata-op.js";
import { resolveStreamSettings } from "../metadata/stream-config.js";
import { hasWildcard, isValidPublishSubject } from "../nats/subject.js";
import type { InputTime, Outputs } from "../outputs.js";
import type { NodeId } from "../types.js";
import type { ApiRequest, ApiResponse, BrokerEffect } from "./api-types.js";
import { applyMetadataOp, checkStreamSettings } from "./broker-metadata.js";
import type { BrokerState } from "./broker-state.js";
import { brokerViews, partitionView, streamViews } from "./broker-views.js";
import { toCreateStreamOp } from "./create-stream-request.js";

const DONE: ApiResponse = { kind: "done" };

/** Handles one unary API request, pushing its reply (and whatever it caused) into `out`. */
export function handleApiRequest(state: BrokerState, requestId: number, request: ApiRequest, time: InputTime, out: Outputs<BrokerEffect>): void {
  const result = dispatch(state, request, time, out);
  // Anything that changed metadata is answered only once the op is durable.
  const afterPersist = out.persist.length > 0;
  (afterPersist ? out.replyAfterPersist : out.reply).push({ kind: "apiResponse", requestId, result });
}

function dispatch(state: BrokerState, request: ApiRequest, time: InputTime, out: Outputs<BrokerEffect>): Result<ApiResponse> {
  switch (request.kind) {
    case "createStream": {
      const brokers = [state.config.serverId];
      const op = toCreateStreamOp(request, brokers, partitionCounts(state, brokers), time.wallNs);
      if (!op.ok) return op;
      // One cleaner runs for every log, at streams.cleaner.interval: a different per-stream one would be ignored.
      const cleaner = request.overrides.cleanerIntervalMs;
      if (cleaner !== undefined && cleaner !== state.config.streamDefaults.cleanerIntervalMs) {
        return err("InvalidArgument", `cleanerInterval: not supported yet (only the server's streams.cleaner.interval, ${state.config.streamDefaults.cleanerIntervalMs} ms, is accepted: one cleaner runs for every stream)`);
      }
      const settings = checkStreamSettings(state, resolveStreamSettings(state.config.streamDefaults, request.overrides));
      if (!settings.ok) return settings;
      return done(applyMetadataOp(state, op.value, time, out));
    }
    case "deleteStream":
      if (request.name === "__activity" || request.name === "__cursors") return err("InvalidArgument", "Stream is reserved");
      return done(applyMetadataOp(state, { op: "deleteStream", name: request.name }, time, out));
    case "pauseStream":
      return done(applyMetadataOp(state, { op: "pauseStream", name: request.name, partitions: request.partitions, resumeAll: request.resumeAll, timestampNs: time.wallNs.toString() }, time, out));
    case "setStreamReadonly":
      return done(applyMetadataOp(state, { op: "setStreamReadonly", name: request.name, partitions: request.partitions, readonly: request.readonly, timestampNs: time.wallNs.toString() }, time, out));
    case "fetchMetadata":
      return ok({ kind: "metadata", brokers: brokerViews(state), streams: streamViews(state, request.streams) });
    case "fetchPartitionMetadata": {
      const stream = state.metadata.streams.get(request.stream);
      const meta = stream?.partitions[request.partition];
      if (stream === undefined || meta === undefined) return err("PartitionNotFound", "partition not found");
      return ok({ kind: "partitionMetadata", metadata: partitionView(state, stream, meta) });
    }
    case "publish":
      return publish(state, request, time, out);
    default:
      return assertNever(request, "api request");
  }
}

function publish(state: BrokerState, request: Extract<ApiRequest, { kind: "publish" }>, time: InputTime, out: Outputs<BrokerEffect>): Result<ApiResponse> {
  if (request.stream.length === 0) return err("InvalidArgument", "no stream provided");
  if (request.ackInbox.length > 0 && !isValidPublishSubject(request.ackInbox)) {
    return err("InvalidArgument", `ack inbox ${JSON.stringify(request.ackInbox.slice(0, 200))} is not a valid NATS publish subject`);
  }
  const stream = state.metadata.streams.get(request.stream);
  if (stream === undefined) return err("StreamNotFound", `no such stream: ${request.stream}`);
  const meta = stream.partitions[request.partition];
  if (meta === undefined) return err("PartitionNotFound", `no such partition: ${request.partition}`);
  if (meta.readonly) return err("ReadonlyPartition", `readonly partition: ${request.partition}`);
  if (stream.settings.optimisticConcurrencyControl && request.ackPolicy === "NONE") {
    return err("InvalidArgument", "stream with concurrency control must have AckPolicy set");
  }
  if (hasWildcard(meta.subject)) {
    return err("InvalidArgument", `stream ${stream.name} has the wildcard subject ${stream.subject}: publish to a concrete subject instead`);
  }
  const resumed = resumeIfPaused(state, stream.name, request.partition, time, out);
  if (!resumed.ok) return resumed;
  const data = state.deps.codec.encodePublish(request, stream.name, meta.subject);
  // Behind the resume op (if any): the partition must be subscribed before the message is sent.
  out.sendAfterPersist.push({ subject: meta.subject, data });
  return ok({ kind: "published", ackInbox: request.ackInbox, subject: meta.subject });
}

/** Resumes a paused partition (all paused partitions if it was paused with resumeAll). */
export function resumeIfPaused(state: BrokerState, name: string, partition: number, time: InputTime, out: Outputs<BrokerEffect>): Result<void> {
  const stream = state.metadata.streams.get(name);
  const meta = stream?.partitions[partition];
  if (stream === undefined || meta === undefined || !meta.paused) return ok(undefined);
  const partitions = meta.resumeAll ? stream.partitions.filter((p) => p.paused).map((p) => p.id) : [partition];
  const op: MetadataOp = { op: "resumeStream", name, partitions, timestampNs: time.wallNs.toString() };
  return applyMetadataOp(state, op, time, out);
}

function done(result: Result<void>): Result<ApiResponse> {
  return result.ok ? ok(DONE) : result;
}

function partitionCounts(state: BrokerState, brokers: readonly NodeId[]): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(brokers.map((b) => [b, 0]));
  for (const stream of state.metadata.streams.values()) {
    for (const p of stream.partitions) for (const r of p.replicas) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return counts;
}
