// What a partition needs from the metadata, as its own immutable copy: the metadata state machine
// mutates its PartitionMeta in place when ops apply; a partition sees a change only when the
// broker hands it a new snapshot (replication will compare leaderEpoch and isr across snapshots).
import type { PartitionMeta, StreamMeta } from "../metadata/metadata-state.js";
import type { StreamSettings } from "../metadata/stream-config.js";
import type { Epoch, NodeId } from "../types.js";

/** A partition's view of the metadata at one log index; replaced, never mutated. */
export interface PartitionSnapshot {
  readonly stream: string;
  readonly id: number;
  /** The NATS subject this partition consumes. */
  readonly subject: string;
  /** The stream's own subject (partition 0's), as records and acks carry it. */
  readonly streamSubject: string;
  readonly group: string;
  readonly replicationFactor: number;
  readonly settings: StreamSettings;
  readonly replicas: readonly NodeId[];
  readonly leader: NodeId;
  readonly isr: readonly NodeId[];
  readonly leaderEpoch: Epoch;
  /** Log index of the last op that changed the partition. */
  readonly epoch: number;
  readonly paused: boolean;
  readonly readonly: boolean;
}

/** A frozen copy of partition `meta` of `stream`. */
export function partitionSnapshot(stream: StreamMeta, meta: PartitionMeta): PartitionSnapshot {
  return Object.freeze({
    stream: stream.name, id: meta.id, subject: meta.subject, streamSubject: stream.subject, group: stream.group,
    replicationFactor: stream.replicationFactor, settings: stream.settings,
    replicas: Object.freeze([...meta.replicas]), leader: meta.leader, isr: Object.freeze([...meta.isr]),
    leaderEpoch: meta.leaderEpoch, epoch: meta.epoch, paused: meta.paused, readonly: meta.readonly,
  });
}
