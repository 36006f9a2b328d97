// The metadata state machine: streams, their partitions and flags, changed only by applying
// MetadataOps in log order. Pure and deterministic, so every broker (and every replay) that applies
// the same ops reaches the same state.
import { assert, assertNever } from "../assert.js";
import { err, ok, type Result } from "../errors.js";
import { epoch, timestampNs, type Epoch, type NodeId, type TimestampNs } from "../types.js";
import type { MetadataOp } from "./metadata-op.js";
import { resolveStreamSettings, type StreamDefaults, type StreamOverrides, type StreamSettings } from "./stream-config.js";

/** First and latest time an event happened (0n when never). */
export interface EventTimestamps {
  firstNs: TimestampNs;
  latestNs: TimestampNs;
}

/** One partition as the metadata log describes it. */
export interface PartitionMeta {
  readonly stream: string;
  readonly id: number;
  /** The NATS subject this partition consumes: `subject` for 0, `subject.N` otherwise. */
  readonly subject: string;
  readonly replicas: readonly NodeId[];
  leader: NodeId;
  isr: NodeId[];
  leaderEpoch: Epoch;
  /** Log index of the last op that changed this partition (Liftbridge's partition epoch). */
  epoch: number;
  paused: boolean;
  resumeAll: boolean;
  readonly: boolean;
  readonly pauseTimestamps: EventTimestamps;
  readonly readonlyTimestamps: EventTimestamps;
}

/** One stream as the metadata log describes it. */
export interface StreamMeta {
  readonly name: string;
  readonly subject: string;
  readonly group: string;
  readonly replicationFactor: number;
  readonly overrides: StreamOverrides;
  readonly settings: StreamSettings;
  readonly creationTimestampNs: TimestampNs;
  readonly partitions: readonly PartitionMeta[];
}

/** What applying an op changed, for the broker to act on (open, close, delete partitions). */
export type MetadataChange =
  | { readonly kind: "streamCreated"; readonly stream: StreamMeta }
  | { readonly kind: "streamDeleted"; readonly stream: StreamMeta }
  | { readonly kind: "partitionsPaused"; readonly stream: StreamMeta; readonly partitions: readonly PartitionMeta[] }
  | { readonly kind: "partitionsResumed"; readonly stream: StreamMeta; readonly partitions: readonly PartitionMeta[] }
  | { readonly kind: "partitionsReadonly"; readonly stream: StreamMeta; readonly partitions: readonly PartitionMeta[] };

/** The subject partition `id` of a stream on `subject` consumes. */
export function partitionSubject(subject: string, id: number): string {
  return id === 0 ? subject : `${subject}.${id}`;
}

/** Streams and partitions, built by applying MetadataOps in order. */
export class MetadataState {
  readonly streams = new Map<string, StreamMeta>();
  lastAppliedIndex = 0;

  constructor(private readonly defaults: StreamDefaults) {}

  /** Checks the state-dependent preconditions of an op (the stream exists, partitions exist, ...). */
  check(op: MetadataOp): Result<void> {
    if (op.op === "createStream") {
      return this.streams.has(op.name) ? err("StreamExists", "stream already exists") : ok(undefined);
    }
    const stream = this.streams.get(op.name);
    if (stream === undefined) return err("StreamNotFound", "stream does not exist");
    if (op.op === "deleteStream") return ok(undefined);
    for (const id of op.partitions) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= stream.partitions.length) {
        return err("PartitionNotFound", `partition ${id} does not exist`);
      }
    }
    return ok(undefined);
  }

  /**
   * Applies the committed op at log index `index` (ops at or below the last index are ignored).
   * Preconditions are checked here, deterministically, not only when the op was proposed: two
   * racing proposals (two CreateStreams of one name) both commit, and the later one becomes a
   * no-op that returns the error its proposer is answered with, on every replica and every replay.
   */
  apply(op: MetadataOp, index: number): Result<MetadataChange | undefined> {
    assert(Number.isSafeInteger(index) && index > 0, `metadata index must be positive, got ${index}`);
    if (index <= this.lastAppliedIndex) return ok(undefined);
    this.lastAppliedIndex = index;
    const checked = this.check(op);
    return checked.ok ? ok(this.applyChecked(op, index)) : checked;
  }

  private applyChecked(op: MetadataOp, index: number): MetadataChange {
    switch (op.op) {
      case "createStream":
        return this.applyCreate(op, index);
      case "deleteStream": {
        const stream = this.mustGet(op.name);
        this.streams.delete(op.name);
        return { kind: "streamDeleted", stream };
      }
      case "pauseStream":
        return this.applyFlag(op.name, op.partitions, index, (p) => {
          p.paused = true;
          p.resumeAll = op.resumeAll;
          touch(p.pauseTimestamps, timestampNs(BigInt(op.timestampNs)));
        }, "partitionsPaused");
      case "resumeStream":
        return this.applyFlag(op.name, op.partitions, index, (p) => {
          p.paused = false;
          p.resumeAll = false;
          touch(p.pauseTimestamps, timestampNs(BigInt(op.timestampNs)));
        }, "partitionsResumed");
      case "setStreamReadonly":
        return this.applyFlag(op.name, op.partitions, index, (p) => {
          p.readonly = op.readonly;
          touch(p.readonlyTimestamps, timestampNs(BigInt(op.timestampNs)));
        }, "partitionsReadonly");
      default:
        return assertNever(op, "metadata op");
    }
  }

  private applyCreate(op: Extract<MetadataOp, { op: "createStream" }>, index: number): MetadataChange {
    assert(op.replicas.length === op.partitions, "one replica list per partition");
    const partitions = op.replicas.map((replicas, id): PartitionMeta => {
      const leader = replicas[0];
      assert(leader !== undefined, "a partition has at least one replica");
      return {
        stream: op.name, id, subject: partitionSubject(op.subject, id), replicas: [...replicas], leader,
        isr: [...replicas], leaderEpoch: epoch(index), epoch: index, paused: false, resumeAll: false,
        readonly: false, pauseTimestamps: never(), readonlyTimestamps: never(),
      };
    });
    const stream: StreamMeta = {
      name: op.name, subject: op.subject, group: op.group, replicationFactor: op.replicationFactor,
      overrides: op.overrides, settings: resolveStreamSettings(this.defaults, op.overrides),
      creationTimestampNs: timestampNs(BigInt(op.creationTimestampNs)), partitions,
    };
    this.streams.set(op.name, stream);
    return { kind: "streamCreated", stream };
  }

  private applyFlag(
    name: string,
    ids: readonly number[],
    index: number,
    change: (p: PartitionMeta) => void,
    kind: "partitionsPaused" | "partitionsResumed" | "partitionsReadonly",
  ): MetadataChange {
    const stream = this.mustGet(name);
    const targets = ids.length === 0 ? stream.partitions : ids.map((id) => stream.partitions[id] as PartitionMeta);
    for (const p of targets) {
      change(p);
      p.epoch = index;
    }
    return { kind, stream, partitions: targets };
  }

  private mustGet(name: string): StreamMeta {
    const stream = this.streams.get(name);
    assert(stream !== undefined, `stream ${name} exists`);
    return stream;
  }
}

function never(): EventTimestamps {
  return { firstNs: timestampNs(0n), latestNs: timestampNs(0n) };
}

function touch(t: EventTimestamps, at: TimestampNs): void {
  if (t.firstNs === 0n) t.firstNs = at;
  t.latestNs = at;
}
