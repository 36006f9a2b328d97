// The broker's API handlers: validation and error messages as Liftbridge's (spec §2.5), then a
// metadata op or a NATS publish. Replies to ops wait for the op to be durable.
import { assertNever } from "../assert.js";
import { err, ok, type OperatingError, type Result } from "../errors.js";
import type { MetadataOp } from "../metadata/metadata-op.js";
import { resolveStreamSettings } from "../metadata/stream-config.js";
import { hasWildcard, isValidPublishSubject } from "../nats/subject.js";
import type { InputTime, Outputs, Send } from "../outputs.js";
import { nodeId, type NodeId } from "../types.js";
import type { ApiRequest, ApiResponse, BrokerEffect } from "./api-types.js";
import { answerWhenApplied, checkStreamSettings, proposeMetadataOp } from "./broker-metadata.js";
import { partitionKey, type BrokerState, type Proposal } from "./broker-state.js";
import { liveBrokers } from "./broker-cluster.js";
import { appliedIsCurrent } from "./broker-raft.js";
import { brokerViews, partitionView, streamViews } from "./broker-views.js";
import { MAX_STREAM_NAME_BYTES, toCreateStreamOp, unservableStreamReason } from "./create-stream-request.js";
import { DEFAULT_MAX_CONTROL_LINE, subscribeLineProblem, utf8ByteLength } from "../nats/control-line.js";

const DONE: ApiResponse = { kind: "done" };

/** A request's metadata proposal (if it made one), whose application decides its answer. */
interface Proposed {
  proposal: Proposal | undefined;
  readonly sends: Send[];
}

/** Handles one unary API request, pushing its reply (and whatever it caused) into `out`. */
export function handleApiRequest(state: BrokerState, requestId: number, request: ApiRequest, time: InputTime, out: Outputs<BrokerEffect>): void {
  const proposed: Proposed = { proposal: undefined, sends: [] };
  const result = dispatch(state, request, time, out, proposed);
  // Anything that proposed a metadata op is answered once the op is applied (when committed).
  // Planted bug (test only): the answer goes out at once, before the op is durable or applied.
  if (result.ok && proposed.proposal !== undefined && state.config.plantedBugs?.replyBeforePersist !== true) {
    answerWhenApplied(proposed.proposal, { kind: "apiResponse", requestId, response: result, sends: proposed.sends });
    return;
  }
  if (result.ok) out.send.push(...proposed.sends);
  const afterPersist = out.persist.length > 0 && proposed.proposal === undefined;
  (afterPersist ? out.replyAfterPersist : out.reply).push({ kind: "apiResponse", requestId, result });
}

function dispatch(state: BrokerState, request: ApiRequest, time: InputTime, out: Outputs<BrokerEffect>, proposed: Proposed): Result<ApiResponse> {
  const propose = (op: MetadataOp): Result<ApiResponse> => {
    const proposal = proposeMetadataOp(state, op, time);
    if (!proposal.ok) return proposal;
    proposed.proposal = proposal.value;
    return ok(DONE);
  };
  switch (request.kind) {
    case "createStream": {
      const brokers = liveBrokers(state).map(nodeId);
      const op = toCreateStreamOp(request, brokers, partitionCounts(state, brokers), time.wallNs, DEFAULT_MAX_CONTROL_LINE);
      if (!op.ok) return op;
      // Partitions are not replicated between brokers yet: a second replica would be a promise not kept.
      if (op.value.replicas.some((r) => r.length > 1)) {
        return err("InvalidArgument", `replicationFactor ${request.replicationFactor}: partitions are not replicated between brokers yet; use 1 (each partition lives on one broker)`);
      }
      // One cleaner runs for every log, at streams.cleaner.interval: a different per-stream one would be ignored.
      const cleaner = request.overrides.cleanerIntervalMs;
      if (cleaner !== undefined && cleaner !== state.config.streamDefaults.cleanerIntervalMs) {
        return err("InvalidArgument", `cleanerInterval: not supported yet (only the server's streams.cleaner.interval, ${state.config.streamDefaults.cleanerIntervalMs} ms, is accepted: one cleaner runs for every stream)`);
      }
      const settings = checkStreamSettings(state, resolveStreamSettings(state.config.streamDefaults, request.overrides));
      if (!settings.ok) return settings;
      return propose(op.value);
    }
    case "deleteStream":
      if (request.name === "__activity" || request.name === "__cursors") return err("InvalidArgument", "Stream is reserved");
      return propose({ op: "deleteStream", name: request.name });
    case "pauseStream":
      if (request.partitions.length === 0 && !state.metadata.streams.has(request.name) && appliedIsCurrent(state)) return err("StreamNotFound", "stream not found");
      return propose({ op: "pauseStream", name: request.name, partitions: request.partitions, resumeAll: request.resumeAll, timestampNs: time.wallNs.toString() });
    case "setStreamReadonly":
      if (request.partitions.length === 0 && !state.metadata.streams.has(request.name) && appliedIsCurrent(state)) return err("StreamNotFound", "stream not found");
      return propose({ op: "setStreamReadonly", name: request.name, partitions: request.partitions, readonly: request.readonly, timestampNs: time.wallNs.toString() });
    case "fetchMetadata":
      return ok({ kind: "metadata", brokers: brokerViews(state), streams: streamViews(state, request.streams) });
    case "fetchPartitionMetadata": {
      const stream = state.metadata.streams.get(request.stream);
      const meta = stream?.partitions[request.partition];
      if (stream === undefined || meta === undefined) return err("PartitionNotFound", "partition not found");
      // Liftbridge: a paused partition has no leader running (nor has a stream this broker refuses to serve).
      if (meta.paused || state.partitions.get(partitionKey(stream.name, meta.id))?.log === undefined) {
        return err("NotLeader", "The request should be sent to partition leader");
      }
      return ok({ kind: "partitionMetadata", metadata: partitionView(state, stream, meta) });
    }
    case "publish":
      return publish(state, request, time, out, proposed);
    default:
      return assertNever(request, "api request");
  }
}

function publish(state: BrokerState, request: Extract<ApiRequest, { kind: "publish" }>, time: InputTime, out: Outputs<BrokerEffect>, proposed: Proposed): Result<ApiResponse> {
  if (request.stream.length === 0) return err("InvalidArgument", "no stream provided");
  const clientStrings = publishStringsProblem(request, DEFAULT_MAX_CONTROL_LINE);
  if (clientStrings !== undefined) return err("InvalidArgument", clientStrings);
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
  const resumed = resumeIfPaused(state, stream.name, request.partition, time);
  if (!resumed.ok) return resumed;
  proposed.proposal = resumed.value;
  // Only a stream an older version saved can break the limits; the arithmetic spares every other
  // publish the full check (names with "/" etc. were refused by every version).
  if (stream.name.length * 3 > MAX_STREAM_NAME_BYTES || (stream.subject.length + stream.group.length) * 3 + 96 > DEFAULT_MAX_CONTROL_LINE) {
    const refused = unservableStreamReason(stream, DEFAULT_MAX_CONTROL_LINE);
    if (refused !== undefined) return err("Internal", `stream ${stream.name.slice(0, 300)} is not served: ${refused}`);
  }
  const data = state.deps.codec.encodePublish(request, stream.name, meta.subject);
  const maxPayload = state.config.natsMaxPayload;
  if (maxPayload !== undefined && data.length > maxPayload) {
    return { ok: false, error: payloadTooLarge(data.length, maxPayload) };
  }
  // Behind the resume op (if any): the partition must be subscribed before the message is sent.
  (proposed.proposal === undefined ? out.sendAfterPersist : proposed.sends).push({ subject: meta.subject, data });
  return ok({ kind: "published", ackInbox: request.ackInbox, subject: meta.subject });
}

/** The error of a publish whose envelope exceeds NATS's max_payload: Liftbridge's text (the NATS client's error, wrapped), with the sizes. */
export function payloadTooLarge(envelopeBytes: number, maxPayload: number): OperatingError {
  return {
    code: "PayloadTooLarge",
    message: `failed to publish to NATS: nats: maximum payload exceeded (the message is ${envelopeBytes} bytes in its envelope, max_payload is ${maxPayload})`,
  };
}

/** Most UTF-8 bytes of a correlation id: it comes back in every ack, which must fit NATS's max_payload too. */
export const MAX_CORRELATION_ID_BYTES = 4096;

/**
 * Why a publish's ack inbox or correlation id cannot be used, or undefined: the inbox must be a
 * NATS publish subject that fits a control line (the broker subscribes and publishes to it).
 */
export function publishStringsProblem(request: { readonly ackInbox: string; readonly correlationId: string }, maxControlLine: number): string | undefined {
  const inbox = request.ackInbox;
  if (inbox.length > 0) {
    if (!isValidPublishSubject(inbox)) return `ack inbox ${JSON.stringify(inbox.slice(0, 200))} is not a valid NATS publish subject`;
    const tooLong = subscribeLineProblem("ack inbox", inbox, "", maxControlLine);
    if (tooLong !== undefined) return tooLong;
  }
  if (request.correlationId.length > MAX_CORRELATION_ID_BYTES / 3 && utf8ByteLength(request.correlationId) > MAX_CORRELATION_ID_BYTES) {
    return `correlationId is ${utf8ByteLength(request.correlationId)} bytes, more than the ${MAX_CORRELATION_ID_BYTES} allowed (UTF-8)`;
  }
  return undefined;
}

/** Proposes to resume a paused partition (all paused ones if paused with resumeAll); the proposal's index, or undefined when not paused. */
export function resumeIfPaused(state: BrokerState, name: string, partition: number, time: InputTime): Result<Proposal | undefined> {
  const stream = state.metadata.streams.get(name);
  const meta = stream?.partitions[partition];
  if (stream === undefined || meta === undefined || !meta.paused) return ok(undefined);
  const partitions = meta.resumeAll ? stream.partitions.filter((p) => p.paused).map((p) => p.id) : [partition];
  const op: MetadataOp = { op: "resumeStream", name, partitions, timestampNs: time.wallNs.toString() };
  return proposeMetadataOp(state, op, time);
}

function partitionCounts(state: BrokerState, brokers: readonly NodeId[]): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(brokers.map((b) => [b, 0]));
  for (const stream of state.metadata.streams.values()) {
    for (const p of stream.partitions) for (const r of p.replicas) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return counts;
}
