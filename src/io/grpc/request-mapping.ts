// Protobuf requests (as the wire codecs decode them) to the broker core's plain ApiRequest and
// SubscribeRequest. int64 values arrive as bigint; the ones the core keeps as numbers are checked
// here so that an out-of-range value is a clear InvalidArgument, never a silent rounding.
import type { ApiRequest, StartPosition, StopPosition, SubscribeRequest } from "../../core/broker/api-types.js";
import type { Result } from "../../core/errors.js";
import { err, ok } from "../../core/errors.js";
import type { StreamOverrides } from "../../core/metadata/stream-config.js";
import { ackPolicyName } from "../broker-wire-codec.js";
import { checkSupportedStreamOptions } from "../config/unsupported-settings.js";
import type {
  CreateStreamRequest, NullableInt64, PublishRequest, SubscribeRequest as WireSubscribeRequest,
} from "../wire/api-types.js";

const START_POSITIONS: readonly StartPosition[] = ["NEW_ONLY", "OFFSET", "EARLIEST", "LATEST", "TIMESTAMP"];
const STOP_POSITIONS: readonly StopPosition[] = ["STOP_ON_CANCEL", "STOP_OFFSET", "STOP_LATEST", "STOP_TIMESTAMP"];
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** CreateStreamRequest's int64 overrides and the StreamOverrides field each one sets (durations in ms). */
const INT64_OVERRIDES = [
  ["retentionMaxBytes", "retentionMaxBytes"],
  ["retentionMaxMessages", "retentionMaxMessages"],
  ["retentionMaxAge", "retentionMaxAgeMs"],
  ["cleanerInterval", "cleanerIntervalMs"],
  ["segmentMaxBytes", "segmentMaxBytes"],
  ["segmentMaxAge", "segmentMaxAgeMs"],
  ["autoPauseTime", "autoPauseTimeMs"],
] as const;
const INT32_OVERRIDES = ["compactMaxGoroutines", "minIsr"] as const;
const BOOL_OVERRIDES = ["compactEnabled", "autoPauseDisableIfSubscribers", "optimisticConcurrencyControl", "encryption"] as const;

function safeNumber(name: string, nullable: NullableInt64): Result<number> {
  const v = nullable.value;
  if (v > MAX_SAFE || v < -MAX_SAFE) return err("InvalidArgument", `${name} ${v} is out of range`);
  return ok(Number(v));
}

/** The StreamOverrides a CreateStreamRequest sets (only the Nullable* fields present on the wire). */
export function streamOverridesOf(r: CreateStreamRequest): Result<StreamOverrides> {
  const out: Record<string, number | boolean> = {};
  for (const [wireName, name] of INT64_OVERRIDES) {
    const nullable = r[wireName];
    if (nullable === undefined) continue;
    const n = safeNumber(wireName, nullable);
    if (!n.ok) return n;
    out[name] = n.value;
  }
  for (const name of INT32_OVERRIDES) {
    const nullable = r[name];
    if (nullable !== undefined) out[name] = nullable.value;
  }
  for (const name of BOOL_OVERRIDES) {
    const nullable = r[name];
    if (nullable !== undefined) out[name] = nullable.value;
  }
  const supported = checkSupportedStreamOptions(out);
  return supported.ok ? ok(out as StreamOverrides) : supported;
}

/** A CreateStream call as a core request (defaults and validation are the core's). */
export function createStreamRequestOf(r: CreateStreamRequest): Result<ApiRequest> {
  const overrides = streamOverridesOf(r);
  if (!overrides.ok) return overrides;
  return ok({
    kind: "createStream", name: r.name, subject: r.subject, group: r.group,
    replicationFactor: r.replicationFactor, partitions: r.partitions, overrides: overrides.value,
  });
}

/** Clamps an int64 offset into the safe-integer range (beyond it means "past any real end"). */
function clampOffset(v: bigint): number {
  if (v > MAX_SAFE) return Number.MAX_SAFE_INTEGER;
  if (v < -MAX_SAFE) return -Number.MAX_SAFE_INTEGER;
  return Number(v);
}

/** A Subscribe call as a core request; consumer groups are not implemented yet. */
export function subscribeRequestOf(r: WireSubscribeRequest): Result<SubscribeRequest> {
  const groupId = r.consumer?.groupId ?? "";
  if (groupId !== "" && (r.consumer?.consumerId ?? "") === "") {
    return err("InvalidArgument", "Consumer id cannot be empty when group id is provided");
  }
  if (groupId !== "") return err("Unimplemented", "consumer groups are not implemented yet");
  const startPosition = START_POSITIONS[r.startPosition];
  if (startPosition === undefined) return err("InvalidArgument", `Unknown StartPosition ${r.startPosition}`);
  const stopPosition = STOP_POSITIONS[r.stopPosition];
  if (stopPosition === undefined) return err("InvalidArgument", `Unknown StopPosition ${r.stopPosition}`);
  return ok({
    stream: r.stream,
    partition: r.partition,
    startPosition,
    startOffset: clampOffset(r.startOffset),
    startTimestampNs: r.startTimestamp,
    stopPosition,
    stopOffset: clampOffset(r.stopOffset),
    stopTimestampNs: r.stopTimestamp,
    resume: r.resume,
    readIsrReplica: r.readISRReplica,
  });
}

/** A Publish(Async) request as a core request, acks going to `ackInbox`. */
export function publishRequestOf(r: PublishRequest, ackInbox: string): ApiRequest {
  // The core keeps expected offsets as numbers; anything below -1 means "no check" (-1), and an
  // offset no log can reach stays unreachable after clamping.
  const expected = r.expectedOffset < -1n ? -1 : clampOffset(r.expectedOffset);
  return {
    kind: "publish",
    stream: r.stream,
    partition: r.partition,
    // proto3 drops empty bytes, so an empty key is an absent key.
    key: r.key.length === 0 ? null : r.key,
    value: r.value,
    headers: [...r.headers],
    ackInbox,
    correlationId: r.correlationId,
    ackPolicy: ackPolicyName(r.ackPolicy),
    expectedOffset: expected,
  };
}
