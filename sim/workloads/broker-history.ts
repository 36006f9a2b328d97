// What the broker workload's clients saw, and the checks on it: acked messages survive recovery
// (sync policy `always`), subscribers see strictly increasing offsets without gaps, and nothing a
// subscriber read is later lost or changed (under `always`); no invented data under any policy.

/** A partition's key in the history: `stream/partition`. */
export type PartitionKey = string;

/** The history of one seed. */
export class BrokerHistory {
  /** Every value published, by partition. */
  readonly published = new Map<string, PartitionKey>();
  /** Values acked OK, with the offset the ack reported. */
  readonly acked = new Map<string, { readonly partition: PartitionKey; readonly offset: number }>();
  /** Every (offset -> value) a subscriber received, per partition. */
  readonly observed = new Map<PartitionKey, Map<number, string>>();
  ackErrors = 0;
  delivered = 0;

  /** Records a publish. */
  onPublish(partition: PartitionKey, value: string): void {
    this.published.set(value, partition);
  }

  /** Records an OK ack; returns a violation when it contradicts an earlier one. */
  onAck(partition: PartitionKey, value: string, offset: number): string | undefined {
    const earlier = this.acked.get(value);
    if (earlier !== undefined && (earlier.offset !== offset || earlier.partition !== partition)) {
      return `value ${value} acked twice: ${earlier.partition}@${earlier.offset} and ${partition}@${offset}`;
    }
    this.acked.set(value, { partition, offset });
    return undefined;
  }

  /**
   * Records a delivered record. Under `always`, an offset once read must never change value (even
   * across crashes); under `never` a crash may lose an unsynced tail, so offsets can be reused.
   */
  onObserved(partition: PartitionKey, offset: number, value: string, durable: boolean): string | undefined {
    this.delivered++;
    if (!this.published.has(value)) return `subscriber read ${partition}@${offset} = ${value}, which nobody published`;
    let seen = this.observed.get(partition);
    if (seen === undefined) this.observed.set(partition, (seen = new Map<number, string>()));
    const before = seen.get(offset);
    if (durable && before !== undefined && before !== value) {
      return `subscriber read ${partition}@${offset} = ${value} after reading ${before} there (a read was lost)`;
    }
    seen.set(offset, value);
    return undefined;
  }

  /**
   * Checks the final logs (offset -> value per partition, read after a last crash and recovery).
   */
  checkFinal(logs: ReadonlyMap<PartitionKey, ReadonlyMap<number, string>>, durable: boolean): string | undefined {
    for (const [partition, log] of logs) {
      for (const [offset, value] of log) {
        const origin = this.published.get(value);
        if (origin === undefined) return `final log ${partition}@${offset} holds ${value}, which nobody published`;
        if (origin !== partition) return `final log ${partition}@${offset} holds ${value}, published to ${origin}`;
      }
    }
    if (!durable) return undefined;
    for (const [value, ack] of this.acked) {
      const got = logs.get(ack.partition)?.get(ack.offset);
      if (got !== value) return `acked ${value} at ${ack.partition}@${ack.offset} is lost (final log has ${String(got)})`;
    }
    for (const [partition, seen] of this.observed) {
      for (const [offset, value] of seen) {
        const got = logs.get(partition)?.get(offset);
        if (got !== value) return `read ${value} at ${partition}@${offset} is lost (final log has ${String(got)})`;
      }
    }
    return undefined;
  }
}
