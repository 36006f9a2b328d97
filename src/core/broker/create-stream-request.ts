// Validates a CreateStream request and turns it into a CreateStreamOp, with Liftbridge's defaults
// and error messages (spec §2.5), plus two checks Liftbridge lacks (see docs/decisions.md).
import { err, ok, type Result } from "../errors.js";
import type { CreateStreamOp } from "../metadata/metadata-op.js";
import { FULL_WILDCARD, isValidSubject, tokenizeSubject } from "../nats/subject.js";
import type { NodeId, TimestampNs } from "../types.js";
import type { ApiRequest } from "./api-types.js";

/** Stream names Liftbridge keeps for itself. */
export const RESERVED_STREAM_NAMES: ReadonlySet<string> = new Set(["__activity", "__cursors"]);

/** Most partitions one stream may have (a limit on everything; Liftbridge has none). */
export const MAX_PARTITIONS = 1024;

type CreateStreamRequest = Extract<ApiRequest, { kind: "createStream" }>;

/** Why a stream name cannot be a directory name, or undefined when it can. */
export function streamNameProblem(name: string): string | undefined {
  if (name.length === 0) return "Name cannot be empty";
  if (RESERVED_STREAM_NAMES.has(name)) return "Stream is reserved";
  // Streams are directories under the data dir: refuse names that would escape or alias one.
  if (name === "." || name === ".." || /[/\\\0]/.test(name)) return "Stream name is invalid";
  return undefined;
}

/**
 * Checks a CreateStream request against Liftbridge's rules and assigns replicas among `brokers`
 * (the leader first), returning the op to append to the metadata log.
 */
export function toCreateStreamOp(
  request: CreateStreamRequest,
  brokers: readonly NodeId[],
  partitionCounts: ReadonlyMap<NodeId, number>,
  nowNs: TimestampNs,
): Result<CreateStreamOp> {
  const nameProblem = streamNameProblem(request.name);
  if (nameProblem !== undefined) return err("InvalidArgument", nameProblem);
  if (!isValidSubject(request.subject)) return err("InvalidArgument", "Subject is invalid");
  const partitions = request.partitions === 0 ? 1 : request.partitions;
  if (!Number.isSafeInteger(partitions) || partitions < 0) {
    return err("InvalidArgument", `Invalid partitions ${request.partitions}: must not be negative`);
  }
  if (partitions > MAX_PARTITIONS) {
    return err("InvalidArgument", `Invalid partitions ${partitions}: at most ${MAX_PARTITIONS}`);
  }
  if (partitions > 1 && tokenizeSubject(request.subject).at(-1) === FULL_WILDCARD) {
    return err("InvalidArgument", `Subject ${request.subject} ends in '>' so the stream can have only one partition`);
  }
  let replicationFactor = request.replicationFactor === 0 ? 1 : request.replicationFactor;
  if (replicationFactor === -1) replicationFactor = brokers.length;
  if (replicationFactor <= 0 || replicationFactor > brokers.length) {
    return err("InvalidArgument", `Invalid replicationFactor ${request.replicationFactor}, cluster size ${brokers.length}`);
  }
  return ok({
    op: "createStream",
    name: request.name,
    subject: request.subject,
    group: request.group,
    replicationFactor,
    partitions,
    overrides: request.overrides,
    creationTimestampNs: nowNs.toString(),
    replicas: assignReplicas(partitions, replicationFactor, brokers, partitionCounts),
  });
}

/** Liftbridge's placement: each partition's replicas are the brokers with the fewest partitions. */
function assignReplicas(
  partitions: number,
  replicationFactor: number,
  brokers: readonly NodeId[],
  partitionCounts: ReadonlyMap<NodeId, number>,
): NodeId[][] {
  const counts = new Map(brokers.map((b) => [b, partitionCounts.get(b) ?? 0] as const));
  const result: NodeId[][] = [];
  for (let p = 0; p < partitions; p++) {
    const ordered = [...brokers].sort((a, b) => (counts.get(a) ?? 0) - (counts.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
    const replicas = ordered.slice(0, replicationFactor);
    for (const r of replicas) counts.set(r, (counts.get(r) ?? 0) + 1);
    result.push(replicas);
  }
  return result;
}
