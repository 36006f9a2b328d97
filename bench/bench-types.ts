// What the orchestrator (bench.ts) asks a client process (bench-client.ts) to do, and what the
// client answers: plain JSON both ways, so each client run is its own process.

/** Which server a client talks to. */
export type System = "ours" | "jetstream";

/** Windowed publishing over NATS with one reply inbox (ours: Liftbridge envelopes; JetStream: raw bytes). */
export interface NatsPublishJob {
  readonly kind: "nats-async" | "nats-sync";
  readonly system: System;
  readonly natsUrl: string;
  readonly subject: string;
  /** Messages to publish (async), or an upper bound (sync). */
  readonly count: number;
  /** Messages in flight (async; sync is always 1). */
  readonly window: number;
  readonly valueBytes: number;
  /** Time bound of the measured part; the run stops publishing when it is reached. */
  readonly maxSeconds: number;
  /** Sync only: seconds of unmeasured warm-up before the histogram starts. */
  readonly warmupSeconds: number;
}

/** PublishAsync over gRPC with `window` requests in flight. */
export interface GrpcPublishJob {
  readonly kind: "grpc-async";
  readonly grpcAddress: string;
  readonly stream: string;
  readonly count: number;
  readonly window: number;
  readonly valueBytes: number;
  readonly maxSeconds: number;
}

/** Reads `expected` stored messages from the start (ours: gRPC Subscribe via grpc-js or node:http2; JetStream: ordered consumer). */
export interface CatchUpJob {
  readonly kind: "grpc-read" | "http2-read" | "js-read";
  readonly address: string;
  readonly stream: string;
  readonly expected: number;
  readonly maxSeconds: number;
}

/** Any client job. */
export type ClientJob = NatsPublishJob | GrpcPublishJob | CatchUpJob;

/** Latency percentiles of a synchronous run, in microseconds. */
export interface LatencyUs {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** What a client run measured. */
export interface ClientResult {
  /** Messages acknowledged (publish) or received (read) in the measured part. */
  readonly messages: number;
  readonly seconds: number;
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
  /** False when the time bound stopped the run before `count`/`expected`. */
  readonly complete: boolean;
  /** Sync runs only. */
  readonly latencyUs?: LatencyUs;
  /** CPU the client process used during the measured part (user + system), in seconds. */
  readonly clientCpuSeconds: number;
  /** Anything the client checked and wants shown (last offset seen, ack samples decoded). */
  readonly notes: string;
}

/** The environment variable that arms bench/cpu-profile-hook.ts in a broker: where profiles go. */
export const PROFILE_DIR_ENV = "LIFTBRIDGE_BENCH_PROFILE_DIR";
