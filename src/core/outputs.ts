// The shape every core step returns. The ordering contract is in the type: the driver MUST apply
// `persist` (in order, each op as durable as it says) BEFORE it sends anything in
// `sendAfterPersist`, and it reports the outcome back as a `persisted` or `persistFailed` input
// carrying `persistToken`. This is how "acked means durable" holds by construction.
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
 * A change to the node's NATS subscriptions. Applied at once, before `send` (an interest must be
 * registered before anything that depends on it is published), never held for a persist.
 */
export type NatsSubscriptionChange =
  | { readonly kind: "natsSubscribe"; readonly sid: number; readonly subject: string; readonly queue: string }
  | { readonly kind: "natsUnsubscribe"; readonly sid: number };

/** Everything one step asks the outside world to do. */
export interface Outputs<TReply = never> {
  /** Disk operations, applied in order BEFORE anything in sendAfterPersist is released. */
  readonly persist: DiskOp[];
  /** Token the driver echoes in `persisted`/`persistFailed` once `persist` has been applied. */
  persistToken: number | undefined;
  /** Sends that depend on `persist` (acks, replication responses carrying the high watermark). */
  readonly sendAfterPersist: Send[];
  /** Replies that depend on `persist` (a CreateStream answered only once its op is durable). */
  readonly replyAfterPersist: TReply[];
  /** Sends that depend on nothing and may go at once. */
  readonly send: Send[];
  /** Answers to API requests. */
  readonly reply: TReply[];
  /** Log lines. */
  readonly log: LogEvent[];
  /** NATS subscription changes, in order, applied before `send` (see NatsSubscriptionChange). */
  readonly natsSubscriptions: NatsSubscriptionChange[];
}

/** A fresh, empty Outputs. */
export function emptyOutputs<TReply = never>(): Outputs<TReply> {
  return { persist: [], persistToken: undefined, sendAfterPersist: [], replyAfterPersist: [], send: [], reply: [], log: [], natsSubscriptions: [] };
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
  | ({ readonly kind: "persistFailed"; readonly token: number; readonly error: DiskError } & InputTime);
