// One partition on this broker: its log, its role, and the append path from NATS deliveries to
// acks. Group commit: every delivery of one step that targets this partition goes into ONE
// appendAsLeader call (one write, at most one fdatasync). LEADER acks ride in sendAfterPersist, so
// the driver releases them only once the batch is as durable as the sync policy promises; ALL acks
// wait for the high watermark, which advances when the batch's persist token comes back.
import { assert } from "../assert.js";
import type { OperatingError } from "../errors.js";
import { CommitLog } from "../log/commit-log.js";
import { parentDir, type DiskReader } from "../disk.js";
import type { AppendMessage } from "../log/record-codec.js";
import type { PartitionSnapshot } from "./partition-snapshot.js";
import { partitionLane, type InputTime, type LaneId, type Outputs } from "../outputs.js";
import { offset, type Offset, type TimestampNs } from "../types.js";
import type { BrokerEffect } from "./api-types.js";
import type { AckError, AckFields, AckPolicy, PublishEnvelope, WireCodec } from "./wire-codec.js";

/** A NATS message delivered to one of the broker's subscriptions. */
export interface NatsDelivery {
  readonly sid: number;
  readonly subject: string;
  readonly reply: string;
  readonly data: Uint8Array;
}

/** What this broker does for a partition. */
export type PartitionRole =
  | { readonly kind: "leader" }
  | { readonly kind: "offline"; readonly reason: "paused" | "failed" | "deleted" };

/** What an ack needs to know about one appended message. */
interface AckTarget {
  readonly msgSubject: string;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: AckPolicy;
  readonly receptionTimestampNs: bigint;
}

/** An ALL ack waiting for the high watermark to pass its offset. */
interface PendingAck {
  readonly offset: Offset;
  readonly target: AckTarget;
}

// Bound on cached subject encodings per partition (reply inboxes can be many and unique).
const UTF8_CACHE_MAX = 1024;

/** An appended batch waiting for its persist token. */
interface PendingBatch {
  token: number;
  readonly firstOffset: Offset;
  readonly lastOffset: Offset;
  /** LEADER publishers whose OK waits in sendAfterPersist: they get an error ack if the write fails. */
  readonly leaderTargets: readonly AckTarget[];
}

/** A partition this broker hosts. */
export class Partition {
  role: PartitionRole;
  /** NATS subscription id while the partition consumes its subject. */
  sid: number | undefined = undefined;
  readonly messagesReceived = { firstNs: 0n, latestNs: 0n };
  private readonly pendingBatches: PendingBatch[] = [];
  /** After an ENOSPC/EMFILE failure: the first offset that was never acked, cut off by repair(). */
  private cutAt: Offset | undefined = undefined;
  /** Set when a failed persist had ops for this partition: its log may differ from the disk. */
  private needsRepair = false;
  private pendingAcks: PendingAck[] = [];
  private readonly utf8Cache = new Map<string, Uint8Array>();
  private readonly encoder = new TextEncoder();

  /** The persist lane of this partition's directory. */
  readonly lane: LaneId;

  constructor(
    /** This partition's own copy of its metadata; replaced (updateMetadata), never shared. */
    private snapshot: PartitionSnapshot,
    public log: CommitLog | undefined,
  ) {
    this.role = log === undefined ? { kind: "offline", reason: "paused" } : { kind: "leader" };
    this.lane = partitionLane(snapshot.stream, snapshot.id);
  }

  /** The step's batches, appended under its provisional token, belong to their lane's token. */
  retoken(provisional: number, token: number): void {
    for (let i = this.pendingBatches.length - 1; i >= 0 && (this.pendingBatches[i] as PendingBatch).token === provisional; i--) {
      (this.pendingBatches[i] as PendingBatch).token = token;
    }
  }

  /** The metadata this partition runs with (an immutable snapshot). */
  get meta(): PartitionSnapshot {
    return this.snapshot;
  }

  /** Takes the metadata as a newly applied op left it. */
  updateMetadata(snapshot: PartitionSnapshot): void {
    assert(snapshot.stream === this.snapshot.stream && snapshot.id === this.snapshot.id, "a snapshot of the same partition");
    this.snapshot = snapshot;
  }

  /** The open log of a leading partition (asserted). */
  get leaderLog(): CommitLog {
    assert(this.role.kind === "leader" && this.log !== undefined, `partition ${this.meta.stream}/${this.meta.id} is leading`);
    return this.log;
  }

  /**
   * Appends a step's deliveries for this partition as one batch (or one per message under
   * optimistic concurrency control, which Liftbridge also forces to batch size 1).
   */
  appendDeliveries(deliveries: readonly NatsDelivery[], time: InputTime, token: number, ctx: AppendContext): void {
    if (this.role.kind !== "leader") return; // Not subscribed any more: NATS raced an unsubscribe.
    this.touchReceived(time.wallNs);
    const messages: AppendMessage[] = [];
    const targets: AckTarget[] = [];
    for (const d of deliveries) this.toAppend(d, time.wallNs, ctx, messages, targets);
    if (messages.length === 0) return;
    if (this.meta.settings.optimisticConcurrencyControl) {
      messages.forEach((m, i) => this.appendBatch([m], [targets[i] as AckTarget], time, token, ctx));
    } else {
      this.appendBatch(messages, targets, time, token, ctx);
    }
  }

  /** Decodes one delivery into `messages`/`targets`, or answers it at once (too large) or drops it. */
  private toAppend(d: NatsDelivery, wallNs: TimestampNs, ctx: AppendContext, messages: AppendMessage[], targets: AckTarget[]): void {
    const envelope: PublishEnvelope | undefined = ctx.codec.parsePublish(d.data);
    const target: AckTarget = envelope === undefined
      ? { msgSubject: d.subject, ackInbox: "", correlationId: "", ackPolicy: "NONE", receptionTimestampNs: wallNs }
      : { msgSubject: d.subject, ackInbox: envelope.ackInbox, correlationId: envelope.correlationId, ackPolicy: envelope.ackPolicy, receptionTimestampNs: wallNs };
    if (d.data.length > ctx.replicationMaxBytes) {
      ctx.sendAck(this.ack(target, 0, "TOO_LARGE", wallNs), undefined);
      return;
    }
    // Readonly: NATS-published messages are dropped without an ack (spec §1, Readonly).
    if (this.meta.readonly) return;
    const headers: Array<readonly [string, Uint8Array]> = [];
    if (envelope !== undefined) for (const h of envelope.headers) if (h[0] !== "subject" && h[0] !== "reply") headers.push(h);
    headers.push(["subject", this.utf8(d.subject)], ["reply", this.utf8(d.reply)]);
    messages.push(envelope === undefined
      ? { key: null, value: d.data, headers }
      : { key: envelope.key, value: envelope.value, headers, expectedOffset: this.meta.settings.optimisticConcurrencyControl ? envelope.expectedOffset : -1 });
    targets.push(target);
  }

  /** UTF-8 bytes of a subject, cached: a partition sees the same few subjects over and over. */
  private utf8(text: string): Uint8Array {
    let bytes = this.utf8Cache.get(text);
    if (bytes === undefined) {
      if (this.utf8Cache.size >= UTF8_CACHE_MAX) this.utf8Cache.clear();
      bytes = this.encoder.encode(text);
      this.utf8Cache.set(text, bytes);
    }
    return bytes;
  }

  /** The Ack for one message of this partition. */
  private ack(t: AckTarget, at: number, ackError: AckError, commitTimestampNs: bigint): AckFields {
    return {
      stream: this.meta.stream, partitionSubject: this.meta.streamSubject, msgSubject: t.msgSubject, offset: at,
      ackInbox: t.ackInbox, correlationId: t.correlationId, ackPolicy: t.ackPolicy,
      receptionTimestampNs: t.receptionTimestampNs, commitTimestampNs, ackError,
    };
  }

  private appendBatch(messages: readonly AppendMessage[], targets: readonly AckTarget[], time: InputTime, token: number, ctx: AppendContext): void {
    const result = this.leaderLog.appendAsLeader(messages, time.wallNs, this.meta.leaderEpoch, time.nowMs);
    if (!result.ok) {
      const ackError: AckError = result.error.code === "IncorrectOffset" ? "INCORRECT_OFFSET" : result.error.code === "MessageTooLarge" ? "TOO_LARGE" : "UNKNOWN";
      for (const t of targets) ctx.sendAck(this.ack(t, 0, ackError, time.wallNs), undefined);
      ctx.out.log.push({ level: ackError === "UNKNOWN" ? "warn" : "debug", msg: "append refused", fields: { stream: this.meta.stream, partition: this.meta.id, reason: result.error.message } });
      return;
    }
    for (const op of result.value.ops) ctx.out.persist.push(op);
    const { firstOffset, lastOffset } = result.value;
    const leaderTargets: AckTarget[] = [];
    this.pendingBatches.push({ token, firstOffset, lastOffset, leaderTargets });
    const afterPersist = !ctx.ackBeforePersist;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i] as AckTarget;
      if (t.ackPolicy === "LEADER") {
        ctx.sendAck(this.ack(t, firstOffset + i, "OK", time.wallNs), afterPersist ? this.lane : undefined);
        leaderTargets.push(t);
      } else if (t.ackPolicy === "ALL") this.pendingAcks.push({ offset: offset(firstOffset + i), target: t });
    }
  }

  /** The disk is full: answer every delivery that asked for an ack with an error, store nothing. */
  refuseDeliveries(deliveries: readonly NatsDelivery[], time: InputTime, ctx: AppendContext, reason: string): void {
    if (this.role.kind !== "leader") return;
    this.touchReceived(time.wallNs);
    const messages: AppendMessage[] = [];
    const targets: AckTarget[] = [];
    for (const d of deliveries) this.toAppend(d, time.wallNs, ctx, messages, targets);
    for (const t of targets) if (!(ctx.noLeaderErrorAck && t.ackPolicy === "LEADER")) ctx.sendAck(this.ack(t, 0, "UNKNOWN", time.wallNs), undefined);
    if (targets.length > 0) ctx.out.log.push({ level: "debug", msg: "append refused: disk full", fields: { stream: this.meta.stream, partition: this.meta.id, messages: targets.length, reason } });
  }

  /**
   * A persist token came back: every batch appended under it is as durable as the policy says, so
   * (one replica) it is committed. Returns true when the high watermark moved.
   */
  onPersisted(token: number, time: InputTime, ctx: AppendContext): boolean {
    let moved = false;
    while (this.pendingBatches.length > 0 && (this.pendingBatches[0] as PendingBatch).token === token) {
      const batch = this.pendingBatches.shift() as PendingBatch;
      if (this.log === undefined) continue;
      this.log.setHighWatermark(batch.lastOffset);
      moved = true;
    }
    assert(!this.pendingBatches.some((b) => b.token === token), "persist tokens complete in order");
    if (moved) this.releaseAllAcks(time, ctx);
    return moved;
  }

  /**
   * A persist token failed (disk full, out of descriptors): drop every batch from the failed one
   * on and answer all their publishers, LEADER and ALL, with an error ack; repair() then cuts the
   * log back so nothing unacknowledged stays behind.
   */
  onPersistFailed(token: number, time: InputTime, ctx: AppendContext, error: OperatingError): void {
    const failedAt = this.pendingBatches.findIndex((b) => b.token === token);
    const failed = failedAt < 0 ? [] : this.pendingBatches.splice(failedAt);
    if (failed.length === 0) return;
    const cut = (failed[0] as PendingBatch).firstOffset;
    this.cutAt = this.cutAt === undefined || cut < this.cutAt ? cut : this.cutAt;
    this.needsRepair = true;
    // Their OK acks waited in sendAfterPersist, which the driver drops on failure: say so.
    if (!ctx.noLeaderErrorAck) for (const b of failed) for (const t of b.leaderTargets) ctx.sendAck(this.ack(t, 0, "UNKNOWN", time.wallNs), undefined);
    this.errorPendingAcks(cut, time, ctx);
    ctx.out.log.push({ level: "error", msg: "partition write failed; truncating the unpersisted tail", fields: { stream: this.meta.stream, partition: this.meta.id, fromOffset: cut, reason: error.message } });
  }

  /**
   * After a failed persist the rest of that step's ops never ran, whichever partition they
   * belonged to (a segment create, an index write), so every partition re-derives its log from
   * the disk and cuts off what was never acked; the broker retries this until it persists.
   */
  repair(time: InputTime, ctx: AppendContext): void {
    if (this.needsRepair && this.log !== undefined) this.reopenAndCut(this.log, this.cutAt, time, ctx);
  }

  /** A failed persist had ops for this partition (a checkpoint, a segment roll): repair() it. */
  markForRepair(): void {
    this.needsRepair = true;
  }

  /** The repair persisted: the log on disk ends where the in-memory one does. */
  repaired(): void {
    this.cutAt = undefined;
    this.needsRepair = false;
  }

  /** The disk failed: error every pending ack and stop (the log is dropped without closing it). */
  failStop(time: InputTime, ctx: AppendContext): void {
    if (!ctx.noLeaderErrorAck) for (const b of this.pendingBatches) for (const t of b.leaderTargets) ctx.sendAck(this.ack(t, 0, "UNKNOWN", time.wallNs), undefined);
    this.pendingBatches.length = 0;
    this.errorPendingAcks(offset(0), time, ctx);
    this.log = undefined;
    this.role = { kind: "offline", reason: "failed" };
  }

  private errorPendingAcks(from: Offset, time: InputTime, ctx: AppendContext): void {
    const keep: PendingAck[] = [];
    for (const a of this.pendingAcks) {
      if (a.offset >= from) ctx.sendAck(this.ack(a.target, 0, "UNKNOWN", time.wallNs), undefined);
      else keep.push(a);
    }
    this.pendingAcks = keep;
  }

  /**
   * After a failed persist the rest of that step's ops never ran (a segment may not exist, an index
   * write is missing), so the in-memory log no longer matches the disk: re-derive it from the disk,
   * then cut off everything from the first unpersisted offset (bytes whose fsync failed must never
   * be served: the kernel may have dropped them).
   */
  private reopenAndCut(old: CommitLog, cut: Offset | undefined, time: InputTime, ctx: AppendContext): void {
    const hw = old.highWatermark;
    const reopened = CommitLog.tryOpen(ctx.reader, old.dir, old.config, time.nowMs);
    if (!reopened.ok) {
      // The disk cannot read this log back: the partition goes offline, the others keep serving.
      this.role = { kind: "offline", reason: "failed" };
      this.log = undefined;
      ctx.out.log.push({ level: "error", msg: "partition offline: cannot read its log back", fields: { stream: this.meta.stream, partition: this.meta.id, reason: reopened.error.message } });
      return;
    }
    const opened = reopened.value;
    ctx.out.persist.push(...opened.ops);
    // A failed directory sync leaves entries pending: sync the whole chain up to the data dir.
    ctx.out.persist.push({ kind: "syncDir", path: old.dir });
    for (let dir = old.dir; dir !== ""; dir = parentDir(dir)) ctx.out.persist.push({ kind: "syncDir", path: parentDir(dir) });
    ctx.out.log.push(...opened.events);
    const log = opened.log;
    if (cut !== undefined && cut < log.logEndOffset) {
      const truncated = log.truncateTo(cut);
      if (!truncated.ok) {
        this.role = { kind: "offline", reason: "failed" };
        ctx.out.log.push({ level: "error", msg: "partition offline: cannot cut its log back", fields: { stream: this.meta.stream, partition: this.meta.id, reason: truncated.error.message } });
        return;
      }
      ctx.out.persist.push(...truncated.value);
    }
    log.setHighWatermark(offset(Math.min(hw, log.newestOffset)));
    this.log = log;
  }

  private releaseAllAcks(time: InputTime, ctx: AppendContext): void {
    const hw = this.log?.highWatermark ?? -1;
    const still: PendingAck[] = [];
    for (const a of this.pendingAcks) {
      if (a.offset <= hw) ctx.sendAck(this.ack(a.target, a.offset, "OK", time.wallNs), undefined);
      else still.push(a);
    }
    this.pendingAcks = still;
  }

  private touchReceived(at: TimestampNs): void {
    if (this.messagesReceived.firstNs === 0n) this.messagesReceived.firstNs = at;
    this.messagesReceived.latestNs = at;
  }

}

/** What a partition needs from the broker while appending. */
export interface AppendContext {
  readonly codec: WireCodec;
  readonly reader: DiskReader;
  readonly out: Outputs<BrokerEffect>;
  readonly replicationMaxBytes: number;
  /** Planted bug (test only): LEADER acks skip the persist barrier. */
  readonly ackBeforePersist: boolean;
  /** Planted bug (test only): a failed write answers ALL publishers only, LEADER ones never. */
  readonly noLeaderErrorAck: boolean;
  /** Sends an ack to its inbox (nothing when it has none); `afterLane` orders it behind the batch's persist in that lane. */
  readonly sendAck: (ack: AckFields, afterLane: LaneId | undefined) => void;
}
