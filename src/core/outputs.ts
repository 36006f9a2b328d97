// The shape every core step returns. The ordering contract is in the type: a step's disk work comes
// in `persists`, one group per persist lane, each with its token and the sends/replies that depend
// on it. The runtime (src/core/runtime/node-runtime.ts) applies a group's ops in order, and
// releases its dependents only once that group AND every earlier group of its lane succeeded; it
// reports each token back as a `persisted` or `persistFailed` input. This is how "acked means
// durable" holds by construction (docs/runtime.md).
import type { DiskError, DiskOp } from "./disk.js";
import type { TimeMs, TimestampNs } from "./types.js";

/** A NATS publish leaving the core. */
export interface Send {
  readonly subject: string;
  readonly reply?: string;
  readonly data: Uint8Array;
}

/** Severity of a LogEvent, as pino names them. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A structured log line; the shell renders it (pino in production, the trace in the simulator). */
export interface LogEvent {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields?: Readonly<Record<string, string | number | boolean | bigint>>;
}

/**
 * An independent ordered stream of disk work: "metadata", one per partition, later "raft".
 * Tokens complete in order within a lane and in any order across lanes; two lanes never write
 * the same file.
 */
export type LaneId = string;

/** The lane of the metadata log and of every step that touches more than one lane. */
export const METADATA_LANE: LaneId = "metadata";

/** The lane of one partition's directory. */
export function partitionLane(stream: string, partition: number): LaneId {
  return `partition/${stream}/${partition}`;
}

/** One lane's share of a step: its ops, its token, and what is released only after it. */
export interface PersistGroup<TReply = never> {
  readonly lane: LaneId;
  /** Echoed in `persisted`/`persistFailed` once the ops were applied (or one failed). */
  readonly token: number;
  /** Applied in order, after every earlier group of the lane and every token in `after`. */
  readonly ops: readonly DiskOp[];
  /** Tokens of other lanes whose groups must have completed (either way) before `ops` start. */
  readonly after: readonly number[];
  /** Sends released only after this group and every earlier one of its lane succeeded. */
  readonly sendAfterPersist: readonly Send[];
  /** Replies released only after this group and every earlier one of its lane succeeded. */
  readonly replyAfterPersist: readonly TReply[];
}

/**
 * A change to the node's NATS subscriptions. Applied at once, before `send` (an interest must be
 * registered before anything that depends on it is published), never held for a persist.
 */
export type NatsSubscriptionChange =
  | { readonly kind: "natsSubscribe"; readonly sid: number; readonly subject: string; readonly queue: string }
  | { readonly kind: "natsUnsubscribe"; readonly sid: number };

/**
 * A disk read leaving the core (DESIGN.md: the core never waits on IO). The runtime runs it in
 * `lane` after every persist group the core staged before it (so it never sees a partial write,
 * a truncate or a rename the core already assumed), beside later groups' writes and fdatasyncs but
 * never beside their removes, renames or truncates, and feeds back `readCompleted` or `readFailed`.
 */
export interface ReadRequest {
  /** Echoed in the completion; reads have their own token space (they complete in any order). */
  readonly token: number;
  readonly lane: LaneId;
  readonly path: string;
  readonly position: number;
  readonly length: number;
  /** Tokens of other lanes' groups that must have completed first (a mixed step's barrier). */
  readonly after: readonly number[];
  /** What the bytes are for, for traces and logs (e.g. "subscription 7"). */
  readonly purpose: string;
}

/** Everything one step asks the outside world to do. */
export interface Outputs<TReply = never> {
  /**
   * The step's disk operations in the order the core staged them. The core splits them into
   * `persists` at the end of the step; drivers apply only `persists`.
   */
  readonly persist: DiskOp[];
  /** The step's disk work by lane, in token order: the only thing drivers apply. */
  readonly persists: PersistGroup<TReply>[];
  /** Staged sends that depend on the whole step's persist (moved into `persists` at the end of the step). */
  readonly sendAfterPersist: Send[];
  /** Staged sends that depend on one lane's persist (acks of a partition's batch). */
  readonly sendAfterLane: Map<LaneId, Send[]>;
  /** Staged replies that depend on the whole step's persist (a CreateStream answered once durable). */
  readonly replyAfterPersist: TReply[];
  /** Sends that depend on nothing and may go at once. */
  readonly send: Send[];
  /** Answers to API requests. */
  readonly reply: TReply[];
  /** Log lines. */
  readonly log: LogEvent[];
  /** NATS subscription changes, in order, applied before `send` (see NatsSubscriptionChange). */
  readonly natsSubscriptions: NatsSubscriptionChange[];
  /** Disk reads to run (see ReadRequest); their bytes come back as inputs. */
  readonly reads: ReadRequest[];
}

/** A fresh, empty Outputs. */
export function emptyOutputs<TReply = never>(): Outputs<TReply> {
  return { persist: [], persists: [], sendAfterPersist: [], sendAfterLane: new Map(), replyAfterPersist: [], send: [], reply: [], log: [], natsSubscriptions: [], reads: [] };
}

/** The clocks every input carries: monotonic time for timers, wall time for record timestamps. */
export interface InputTime {
  readonly nowMs: TimeMs;
  readonly wallNs: TimestampNs;
}

/** Inputs every core object understands; brokers extend this union with their own. */
export type BaseInput =
  | ({ readonly kind: "tick" } & InputTime)
  | ({ readonly kind: "persisted"; readonly token: number } & InputTime)
  | ({ readonly kind: "persistFailed"; readonly token: number; readonly error: DiskError } & InputTime)
  /** A ReadRequest's bytes (shorter than asked at the end of the file). */
  | ({ readonly kind: "readCompleted"; readonly token: number; readonly bytes: Uint8Array } & InputTime)
  | ({ readonly kind: "readFailed"; readonly token: number; readonly error: DiskError } & InputTime);
