// The broker's mutable state, shared by the step dispatcher and its handlers (one instance per
// broker; several brokers live side by side in the simulator).
import type { Crc32c } from "../crc32c.js";
import type { NodeId } from "../types.js";
import type { DiskOp, DiskReader } from "../disk.js";
import type { Result } from "../errors.js";
import type { MetadataRaft } from "../metadata/metadata-raft.js";
import type { MetadataOp } from "../metadata/metadata-op.js";
import type { ApiResponse, SubscribeRequest } from "./api-types.js";
import type { MetadataState } from "../metadata/metadata-state.js";
import type { LaneId, Send } from "../outputs.js";
import type { Random } from "../random.js";
import type { BrokerConfig } from "./broker-config.js";
import type { Partition } from "./partition.js";
import type { Subscription } from "./subscription.js";
import type { WireCodec } from "./wire-codec.js";
import type { BrokerTimerName, BrokerTimer } from "../timers/broker-timer.js";
import type { TimerQueue } from "../timers/timer-queue.js";

/** What the broker is given by its driver: read access to the disk and pure functions. */
export interface BrokerDeps {
  readonly reader: DiskReader;
  readonly codec: WireCodec;
  readonly random: Random;
  readonly crc32c?: Crc32c;
}

/** Names of the broker-wide timers (per-partition and per-peer ones are BrokerTimer shapes). */
export type TimerName = BrokerTimerName;

/** The answer to an API request that waits for its metadata op to be applied. */
export type ProposalAnswer =
  | {
      readonly kind: "apiResponse";
      readonly requestId: number;
      /** The reply if the op applies; if it does not, the proposer gets the apply-time error instead. */
      readonly response: Result<ApiResponse>;
      /** Sends released once the op applied (a publish that resumed its partition). */
      readonly sends: readonly Send[];
    }
  /** A Subscribe with resume: started once its partition's resume applied. */
  | { readonly kind: "subscribe"; readonly subscriptionId: number; readonly request: SubscribeRequest; readonly maxBytes: number | undefined };

/** A metadata op this broker proposed, on its way to being committed and applied. */
export interface Proposal {
  /** Its Raft log index once known (another entry committed there means it was lost). */
  index: number | undefined;
  /** The proposer's sequence number it carries (metadata-entry.ts): how its entry is recognised. */
  readonly seq: number;
  readonly op: MetadataOp;
  answer: ProposalAnswer | undefined;
  /** Until when it may wait for a leader (or the leader's answer to its forwarding). */
  readonly deadlineMs: number;
  /** Sent to the controller, its answer not in yet. */
  forwarded: boolean;
}

/** Another broker as its announcements describe it. */
export interface PeerBroker {
  readonly id: NodeId;
  readonly host: string;
  readonly port: number;
  lastSeenMs: number;
}

/** Why writes are refused while the disk is full (or descriptors run out), and the repair in flight. */
export interface DiskFullState {
  readonly reason: string;
  /** Token of the persist that cuts the logs back; when it succeeds, writes are taken again. */
  repairToken: number | undefined;
  /**
   * A write failed after the repair in flight was derived from the disk: the repair does not cover
   * it, so its success must not reopen writes; another repair follows it.
   */
  repairStale: boolean;
}

/** Everything a broker knows. */
export interface BrokerState {
  readonly config: BrokerConfig;
  readonly deps: BrokerDeps;
  /** The applied metadata (replaced whole when a snapshot from the leader is installed). */
  metadata: MetadataState;
  /** The metadata Raft: node, log on disk, Ready in flight. */
  readonly raft: MetadataRaft;
  /** A persist of the Raft log failed: the node is dropped until the repair rebuilds it from the disk. */
  raftDown: boolean;
  /** This broker's proposals with a log index, not applied yet, in index order (applied when committed). */
  readonly proposals: Proposal[];
  /** This broker's proposals waiting for a leader, or forwarded to it and not yet given an index. */
  readonly pending: Proposal[];
  /** Other brokers heard from on the info subject, by id. */
  readonly peers: Map<string, PeerBroker>;
  /** The controller-only subscriptions (propagate, join), while this broker is the metadata leader. */
  controllerSids: number[];
  /** Join attempts made while this broker has no Raft state (undefined: not joining). */
  joinAttempts: number | undefined;
  /** A fresh seed asking whether a cluster already runs, until untilMs; then it bootstraps. */
  seedProbe: { readonly untilMs: number } | undefined;
  /** Set when the broker must exit (it could not join, or a second seed found a running cluster). */
  fatal: string | undefined;
  /** Whether this broker was the metadata leader at the end of the last step. */
  isController: boolean;
  /** NATS subscription ids of broker-to-broker subjects (their deliveries are peer messages). */
  readonly peerSids: Map<number, string>;
  /** Partitions by `stream\u0000id`. */
  readonly partitions: Map<string, Partition>;
  readonly partitionsBySid: Map<number, Partition>;
  readonly subscriptions: Map<number, Subscription>;
  /** Every armed timer, behind the one nextDeadline(). */
  readonly timers: TimerQueue<BrokerTimer>;
  /** Partitions (keys) whose reopen waits for their lane's writes in flight to finish. */
  readonly deferredStarts: Set<string>;
  /** Partitions whose subscribers may have something new to read this step. */
  readonly dirty: Set<Partition>;
  nextSid: number;
  nextToken: number;
  /** The next read's token (reads have their own token space: they complete in any order). */
  nextReadToken: number;
  /** The subscription each read in flight is for, by read token. */
  readonly reads: Map<number, number>;
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
