// Validates a CreateStream request and turns it into a CreateStreamOp, with Liftbridge's defaults
// and error messages (spec §2.5), plus the checks Liftbridge lacks (see docs/decisions.md): a
// stream's name becomes a directory name and its subjects NATS control lines, so both are held to
// the real limits (in UTF-8 bytes) before anything is saved.
import { err, ok, type Result } from "../errors.js";
import type { CreateStreamOp } from "../metadata/metadata-op.js";
import { partitionSubject } from "../metadata/metadata-state.js";
import { DEFAULT_MAX_CONTROL_LINE, subscribeLineProblem, utf8ByteLength } from "../nats/control-line.js";
import { FULL_WILDCARD, isValidQueueGroup, isValidSubject, tokenizeSubject } from "../nats/subject.js";
import type { NodeId, TimestampNs } from "../types.js";
import type { ApiRequest } from "./api-types.js";

/** Stream names Liftbridge keeps for itself. */
export const RESERVED_STREAM_NAMES: ReadonlySet<string> = new Set(["__activity", "__cursors"]);

/** Most partitions one stream may have (a limit on everything; Liftbridge has none). */
export const MAX_PARTITIONS = 1024;

/** The file-system limit on one path component (NAME_MAX on Linux, macOS and Windows), in bytes. */
export const FILE_NAME_MAX_BYTES = 255;
/**
 * Bytes of a stream's directory name kept free for a suffix the broker may add when it moves a
 * directory aside (for example `.unknown-<timestamp>`).
 */
export const STREAM_DIR_SUFFIX_RESERVE_BYTES = 32;
/** Longest stream name in UTF-8 bytes: its directory name, suffix included, fits FILE_NAME_MAX_BYTES. */
export const MAX_STREAM_NAME_BYTES = FILE_NAME_MAX_BYTES - STREAM_DIR_SUFFIX_RESERVE_BYTES;

type CreateStreamRequest = Extract<ApiRequest, { kind: "createStream" }>;

/** Why a stream name cannot be a directory name, or undefined when it can. */
export function streamNameProblem(name: string): string | undefined {
  if (name.length === 0) return "Name cannot be empty";
  if (RESERVED_STREAM_NAMES.has(name)) return "Stream is reserved";
  return streamDirNameProblem(name);
}

/**
 * Why a stream name cannot be used as its directory's name (escapes or aliases a directory, or is
 * longer than the file system allows), or undefined when it can; also checked at startup for
 * streams an older version saved.
 */
export function streamDirNameProblem(name: string): string | undefined {
  // Streams are directories under the data dir: refuse names that would escape or alias one.
  if (name === "." || name === ".." || /[/\\\0]/.test(name)) return "Stream name is invalid";
  const bytes = utf8ByteLength(name);
  if (bytes > MAX_STREAM_NAME_BYTES) {
    return `Stream name is ${bytes} bytes, more than the ${MAX_STREAM_NAME_BYTES} allowed (UTF-8): it names a directory, ` +
      `and file names are limited to ${FILE_NAME_MAX_BYTES} bytes (${STREAM_DIR_SUFFIX_RESERVE_BYTES} kept for suffixes)`;
  }
  return undefined;
}

/**
 * Why the broker could not subscribe to a stream's partition subjects on NATS (the longest one,
 * with its queue group, must fit max_control_line), or undefined when it can.
 */
export function streamSubjectsProblem(subject: string, group: string, partitions: number, maxControlLine: number): string | undefined {
  return subscribeLineProblem(partitions > 1 ? `Subject of partition ${partitions - 1}` : "Subject", partitionSubject(subject, partitions - 1), group, maxControlLine);
}

/**
 * Why an existing stream cannot be served (saved by an older version that did not check the
 * limits), or undefined when it can: its partitions stay closed and unsubscribed.
 */
export function unservableStreamReason(stream: { readonly name: string; readonly subject: string; readonly group: string; readonly partitions: readonly unknown[] }, maxControlLine: number): string | undefined {
  return streamDirNameProblem(stream.name) ?? streamSubjectsProblem(stream.subject, stream.group, stream.partitions.length, maxControlLine);
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
  maxControlLine: number = DEFAULT_MAX_CONTROL_LINE,
): Result<CreateStreamOp> {
  // Liftbridge's order: empty name, invalid subject, reserved name; then the checks it lacks.
  if (request.name.length === 0) return err("InvalidArgument", "Name cannot be empty");
  if (!isValidSubject(request.subject)) return err("InvalidArgument", "Subject is invalid");
  const nameProblem = streamNameProblem(request.name);
  if (nameProblem !== undefined) return err("InvalidArgument", nameProblem);
  if (request.group.length > 0 && !isValidQueueGroup(request.group)) {
    return err("InvalidArgument", "Group is invalid: a NATS queue group name cannot contain whitespace");
  }
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
  const subjectsProblem = streamSubjectsProblem(request.subject, request.group, partitions, maxControlLine);
  if (subjectsProblem !== undefined) return err("InvalidArgument", subjectsProblem);
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
