// The broker's mutable state, shared by the step dispatcher and its handlers (one instance per
// broker; several brokers live side by side in the simulator).
import type { Crc32c } from "../crc32c.js";
import type { DiskOp, DiskReader } from "../disk.js";
import type { MetadataLog } from "../metadata/metadata-log.js";
import type { MetadataState } from "../metadata/metadata-state.js";
import type { LaneId } from "../outputs.js";
import type { Random } from "../random.js";
import type { BrokerConfig } from "./broker-config.js";
import type { Partition } from "./partition.js";
import type { Subscription } from "./subscription.js";
import type { WireCodec } from "./wire-codec.js";

/** What the broker is given by its driver: read access to the disk and pure functions. */
export interface BrokerDeps {
  readonly reader: DiskReader;
  readonly codec: WireCodec;
  readonly random: Random;
  readonly crc32c?: Crc32c;
}

/** Names of the broker's timers; each maps to the monotonic time it next fires. */
export type TimerName = "hwCheckpoint" | "syncInterval" | "cleaner" | "compaction" | "diskFullRetry";

/** Why writes are refused while the disk is full (or descriptors run out), and the repair in flight. */
export interface DiskFullState {
  readonly reason: string;
  /** Token of the persist that cuts the logs back; when it succeeds, writes are taken again. */
  repairToken: number | undefined;
}

/** Everything a broker knows. */
export interface BrokerState {
  readonly config: BrokerConfig;
  readonly deps: BrokerDeps;
  readonly metadata: MetadataState;
  readonly metadataLog: MetadataLog;
  /** Partitions by `stream\u0000id`. */
  readonly partitions: Map<string, Partition>;
  readonly partitionsBySid: Map<number, Partition>;
  readonly subscriptions: Map<number, Subscription>;
  readonly timers: Map<TimerName, number>;
  /** Partitions whose subscribers may have something new to read this step. */
  readonly dirty: Set<Partition>;
  nextSid: number;
  nextToken: number;
  /** Tokens handed out and not yet completed, per lane, oldest first (a lane completes them in order). */
  readonly laneTokens: Map<LaneId, number[]>;
  /** The lane and ops of each in-flight token: when one fails, they say which partitions need a repair. */
  readonly persistOps: Map<number, { readonly lane: LaneId; readonly ops: readonly DiskOp[] }>;
  /** The last mixed (cross-lane) token: every partition lane's next group waits for it. */
  barrierToken: number | undefined;
  stopped: boolean;
  /** Set when the disk failed (EIO): the broker writes nothing more until it is restarted. */
  failed: string | undefined;
  /** Set from an ENOSPC/EMFILE failure until the repair persist succeeds: writes are refused meanwhile. */
  diskFull: DiskFullState | undefined;
  /** The partitions (keys) of the high watermark checkpoint round in progress, written a batch per step. */
  hwCheckpointRound: { readonly keys: readonly string[]; next: number } | undefined;
}

/** The map key of a partition. */
export function partitionKey(stream: string, id: number): string {
  return `${stream}\u0000${id}`;
}
