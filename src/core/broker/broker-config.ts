// The broker core's configuration: the subset of Liftbridge's keys the core acts on, already
// parsed and validated by src/io/config (units last, durations in milliseconds).
import type { NodeId } from "../types.js";
import type { StreamDefaults } from "../metadata/stream-config.js";
import type { SyncPolicy } from "../log/log-config.js";
import type { MetadataRaftConfig } from "../metadata/metadata-raft.js";


/** Everything the core needs to know about its server. */
export interface BrokerConfig {
  readonly serverId: NodeId;
  /** `clustering.namespace`: prefixes internal subjects and API-generated ack inboxes. */
  readonly namespace: string;
  /** Advertised address in FetchMetadata. */
  readonly host: string;
  readonly port: number;
  /** Relative data directory root on the Disk (usually ''). */
  readonly dataDir: string;
  readonly streamDefaults: StreamDefaults;
  readonly syncPolicy: SyncPolicy;
  readonly syncIntervalMs: number;
  /** `clustering.replication.max.bytes`: larger NATS payloads are refused with TOO_LARGE. */
  readonly replicationMaxBytes: number;
  /** `batch.max.messages`: messages appended per group-commit batch. */
  readonly batchMaxMessages: number;
  /** Largest chunk of records handed to one subscriber at a time. */
  readonly subscriberBatchMaxBytes: number;
  /** How often the high watermark checkpoint is written (Liftbridge: 5 s). */
  readonly hwCheckpointIntervalMs: number;
  /** `--metadata-recovery`: start from the intact prefix of a damaged metadata log, moving the rest aside. */
  readonly metadataRecovery?: boolean;
  /** The NATS server's max_payload (from its INFO): a larger API publish is refused at once. */
  readonly natsMaxPayload?: number;
  /** The metadata Raft's bootstrap, timing and limits (default: a seed with DEFAULT_METADATA_RAFT's timing). */
  readonly raft?: MetadataRaftConfig;
  /** Test-only: known mistakes the simulator must catch (the bug bank). Never set in production. */
  readonly plantedBugs?: PlantedBugs;
}

/** The bug bank's switches. */
export interface PlantedBugs {
  /** Release LEADER acks before the batch is persisted (breaks "acked means durable"). */
  readonly ackBeforePersist?: boolean;
  /** At startup, remove stream directories the metadata does not know (the old, data-losing behaviour). */
  readonly deleteUnknownStreamDirs?: boolean;
  /** Recovery cuts the log at a corrupt record even before the recovery point (deletes fsynced data). */
  readonly truncateBeforeRecoveryPoint?: boolean;
  /** A failed write answers ALL publishers only; LEADER publishers are left waiting (the old behaviour). */
  readonly noLeaderErrorAck?: boolean;
  /** A reply that should wait for its persist (CreateStream, ...) is released at once. */
  readonly replyBeforePersist?: boolean;
  /** The node runtime releases a group's acks once its own persist is done, before an earlier persist of its lane. */
  readonly ackBeforeEarlierPersist?: boolean;
  /** A disk read error (EIO) inside a step is thrown out of Broker.step, killing the process (the old behaviour). */
  readonly readErrorThrows?: boolean;
  /** EIO on a partition's lane fail-stops the whole broker, not only that partition (lanes not isolated). */
  readonly laneFailureStopsBroker?: boolean;
}

/** Names of the bug bank's switches, for parsing them from a test-only environment variable. */
export const PLANTED_BUG_NAMES = [
  "ackBeforePersist", "deleteUnknownStreamDirs", "truncateBeforeRecoveryPoint", "noLeaderErrorAck",
  "replyBeforePersist", "ackBeforeEarlierPersist", "readErrorThrows", "laneFailureStopsBroker",
] as const satisfies readonly (keyof PlantedBugs)[];
