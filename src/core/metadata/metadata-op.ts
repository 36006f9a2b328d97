// The operations that change cluster metadata. Today they are applied from a local, durable log;
// the next step replicates the same log with Raft, so each op is self-contained and idempotent
// under replay (guarded by its log index, Liftbridge's partition epoch).
import type { NodeId } from "../types.js";
import type { StreamOverrides } from "./stream-config.js";

/** Creates a stream with all its partitions. */
export interface CreateStreamOp {
  readonly op: "createStream";
  readonly name: string;
  readonly subject: string;
  readonly group: string;
  readonly replicationFactor: number;
  readonly partitions: number;
  readonly overrides: StreamOverrides;
  /** Wall-clock creation time, unix nanoseconds, as a decimal string (JSON has no bigint). */
  readonly creationTimestampNs: string;
  /** Replicas per partition, leader first. */
  readonly replicas: readonly (readonly NodeId[])[];
}

/** Deletes a stream and its data. */
export interface DeleteStreamOp {
  readonly op: "deleteStream";
  readonly name: string;
}

/** Pauses partitions (all when the list is empty). */
export interface PauseStreamOp {
  readonly op: "pauseStream";
  readonly name: string;
  readonly partitions: readonly number[];
  readonly resumeAll: boolean;
  readonly timestampNs: string;
}

/** Resumes paused partitions (all when the list is empty). */
export interface ResumeStreamOp {
  readonly op: "resumeStream";
  readonly name: string;
  readonly partitions: readonly number[];
  readonly timestampNs: string;
}

/** Sets or clears the readonly flag of partitions (all when the list is empty). */
export interface SetStreamReadonlyOp {
  readonly op: "setStreamReadonly";
  readonly name: string;
  readonly partitions: readonly number[];
  readonly readonly: boolean;
  readonly timestampNs: string;
}

/** Any metadata operation. */
export type MetadataOp = CreateStreamOp | DeleteStreamOp | PauseStreamOp | ResumeStreamOp | SetStreamReadonlyOp;
