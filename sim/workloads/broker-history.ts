// What the broker workload's clients saw, and the checks on it: nothing invented (under every
// policy); one acked value per offset, and a value acked at two offsets only if it was sent twice
// (a client retry or a network duplicate, after a lost ack); acked and read messages survive
// recovery (sync policy `always`); acked messages a completed fdatasync covered survive (policy
// `interval`); every publish that expects an answer gets one once faults heal ("unanswered-publish").

/** A partition's key in the history: `stream/partition`. */
export type PartitionKey = string;

/** The history of one seed. */
export class BrokerHistory {
  /** Every value published, by partition. */
  readonly published = new Map<string, PartitionKey>();
  /** Values acked OK, with the offset of their first ack. */
  readonly acked = new Map<string, { readonly partition: PartitionKey; readonly offset: number }>();
  /** Every (offset -> value) a subscriber received, per partition. */
  readonly observed = new Map<PartitionKey, Map<number, string>>();
  /** Values sent more than once (client retries): their acks may name several offsets. */
  readonly resent = new Set<string>();
  /** Publishes waiting for an answer (an ack, an error ack or an API error). */
  readonly unanswered = new Set<string>();
  /** `partition@offset=value` of every record a successful fdatasync made durable. */
  readonly synced = new Set<string>();
  /** Which value was acked at each offset, per partition (checked only where acks are durable: acks in flight outlive crashes). */
  private readonly ackedOffsets = new Map<PartitionKey, Map<number, string>>();
  /** Partitions whose offsets start over (a deleted and recreated stream): only "nothing invented" holds there. */
  readonly unchecked = new Set<PartitionKey>();
  ackErrors = 0;
  apiErrors = 0;
  retries = 0;
  acks = 0;
  delivered = 0;

  constructor(
    private readonly networkDuplicates: boolean,
    /** Sync policy `always`: nothing acked is ever lost, so no offset is acked for two values. */
    private readonly durableAcks: boolean,
  ) {}

  /** Records a publish (expecting an answer, or fire and forget). */
  onPublish(partition: PartitionKey, value: string, expectsAnswer: boolean): void {
    this.published.set(value, partition);
    if (expectsAnswer) this.unanswered.add(value);
  }

  /** Records a client retry of `value`. */
  onResend(value: string): void {
    this.retries++;
    this.resent.add(value);
  }

  /** Records an answer that is not an OK ack (an error ack or an API error). */
  onAnswered(value: string): void {
    this.unanswered.delete(value);
  }

  /** Records an OK ack; returns a violation when it contradicts an earlier one. */
  onAck(partition: PartitionKey, value: string, offset: number): string | undefined {
    this.acks++;
    this.unanswered.delete(value);
    if (this.unchecked.has(partition)) return undefined;
    if (this.durableAcks) {
      let offsets = this.ackedOffsets.get(partition);
      if (offsets === undefined) this.ackedOffsets.set(partition, (offsets = new Map<number, string>()));
      const atOffset = offsets.get(offset);
      if (atOffset !== undefined && atOffset !== value) return `${partition}@${offset} acked twice: for ${atOffset} and for ${value}`;
      offsets.set(offset, value);
    }
    const earlier = this.acked.get(value);
    if (earlier === undefined) {
      this.acked.set(value, { partition, offset });
      return undefined;
    }
    if (earlier.partition !== partition) return `value ${value} acked on ${earlier.partition} and on ${partition}`;
    if (earlier.offset !== offset && !this.resent.has(value) && !this.networkDuplicates) {
      return `value ${value} acked at ${partition}@${earlier.offset} and @${offset}, but it was sent once`;
    }
    return undefined;
  }

  /** Records a record a successful fdatasync made durable. */
  onSynced(partition: PartitionKey, offset: number, value: string): void {
    this.synced.add(`${partition}@${offset}=${value}`);
  }

  /**
   * Records a delivered record. Under `always`, an offset once read must never change value (even
   * across crashes); under other policies a crash may lose an unsynced tail, so offsets can be reused.
   */
  onObserved(partition: PartitionKey, offset: number, value: string, durable: boolean): string | undefined {
    this.delivered++;
    const origin = this.published.get(value);
    if (origin === undefined) return `subscriber read ${partition}@${offset} = ${value}, which nobody published`;
    if (origin !== partition) return `subscriber read ${partition}@${offset} = ${value}, published to ${origin}`;
    if (this.unchecked.has(partition)) return undefined;
    let seen = this.observed.get(partition);
    if (seen === undefined) this.observed.set(partition, (seen = new Map<number, string>()));
    const before = seen.get(offset);
    if (durable && before !== undefined && before !== value) {
      return `subscriber read ${partition}@${offset} = ${value} after reading ${before} there (a read was lost)`;
    }
    seen.set(offset, value);
    return undefined;
  }

  /** The liveness check, once faults have healed: every publish expecting an answer got one. */
  checkAnswered(): string | undefined {
    if (this.unanswered.size === 0) return undefined;
    const first = [...this.unanswered].slice(0, 3).map((v) => `${v} to ${String(this.published.get(v))}`).join(", ");
    return `unanswered-publish: ${this.unanswered.size} publishes never answered after faults healed (${first})`;
  }

  /** Checks the final logs (offset -> value per partition, read after a last crash and recovery). */
  checkFinal(logs: ReadonlyMap<PartitionKey, ReadonlyMap<number, string>>, policy: "always" | "interval" | "never"): string | undefined {
    for (const [partition, log] of logs) {
      for (const [offset, value] of log) {
        const origin = this.published.get(value);
        if (origin === undefined) return `final log ${partition}@${offset} holds ${value}, which nobody published`;
        if (origin !== partition) return `final log ${partition}@${offset} holds ${value}, published to ${origin}`;
      }
    }
    for (const [value, ack] of this.acked) {
      if (this.unchecked.has(ack.partition)) continue;
      const mustSurvive = policy === "always" || (policy === "interval" && this.synced.has(`${ack.partition}@${ack.offset}=${value}`));
      const got = logs.get(ack.partition)?.get(ack.offset);
      if (mustSurvive && got !== value) {
        const why = policy === "always" ? "" : " though an fdatasync had completed over it";
        return `acked ${value} at ${ack.partition}@${ack.offset} is lost${why} (final log has ${String(got)})`;
      }
    }
    if (policy !== "always") return undefined;
    for (const [partition, seen] of this.observed) {
      for (const [offset, value] of seen) {
        const got = logs.get(partition)?.get(offset);
        if (got !== value) return `read ${value} at ${partition}@${offset} is lost (final log has ${String(got)})`;
      }
    }
    return undefined;
  }
}
