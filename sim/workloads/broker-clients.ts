// The broker workload's clients: publishers (raw NATS payloads and envelopes with every ack
// policy, acks on a per-publisher inbox) and one flow-controlled subscriber per partition that
// checks offsets arrive strictly increasing with no gaps, resubscribing after every restart.
import type { LogRecord } from "../../src/core/log/record-codec.js";
import type { AckPolicy, PublishEnvelope, WireCodec } from "../../src/core/broker/wire-codec.js";
import type { SimNats } from "../sim-nats.js";
import type { SimRandom } from "../sim-random.js";
import type { Simulation } from "../simulation.js";
import type { BrokerHistory, PartitionKey } from "./broker-history.js";

/** A partition the workload publishes to. */
export interface Target {
  readonly key: PartitionKey;
  readonly stream: string;
  readonly partition: number;
  /** Concrete subjects that reach this partition (several for a wildcard stream). */
  readonly subjects: readonly string[];
}

/** Decodes an ack envelope into the fields the workload checks. */
export type AckDecoder = (data: Uint8Array) => { correlationId: string; offset: number; ackError: string } | undefined;

const POLICIES: readonly AckPolicy[] = ["LEADER", "ALL", "NONE"];

/** One publisher process. */
export class Publisher {
  private n = 0;
  private readonly pending = new Map<string, PartitionKey>();
  stopped = false;

  constructor(
    private readonly id: number,
    private readonly sim: Simulation,
    private readonly nats: SimNats,
    private readonly codec: WireCodec,
    private readonly decodeAck: AckDecoder,
    private readonly history: BrokerHistory,
    private readonly fail: (message: string) => void,
  ) {
    nats.subscribe(this.inbox, "", (m) => this.onAck(m.data));
  }

  private get inbox(): string {
    return `acks.p${this.id}`;
  }

  /** Publishes one message to a random target, then schedules the next. */
  loop(targets: readonly Target[], random: SimRandom, everyMsMax: number): void {
    if (this.stopped) return;
    const target = random.pick("publishTarget", targets);
    const subject = random.pick("publishSubject", target.subjects);
    const value = `p${this.id}-${this.n++}`;
    const bytes = new TextEncoder().encode(value);
    this.history.onPublish(target.key, value);
    if (random.chance("rawPublish", 1, 4)) {
      this.nats.publish(subject, "", bytes);
    } else {
      const envelope: PublishEnvelope = {
        key: random.chance("keyed", 1, 2) ? new TextEncoder().encode(`k${random.int("key", 8)}`) : null,
        value: bytes, headers: [["h", bytes]], ackInbox: this.inbox, correlationId: value,
        ackPolicy: random.pick("ackPolicy", POLICIES), expectedOffset: -1,
      };
      this.pending.set(value, target.key);
      this.nats.publish(subject, "", this.codec.encodePublish(envelope, target.stream, subject));
    }
    this.sim.scheduleAfter(random.between("publishEveryMs", 0, everyMsMax), `publish p${this.id}`, () => this.loop(targets, random, everyMsMax));
  }

  private onAck(data: Uint8Array): void {
    const ack = this.decodeAck(data);
    if (ack === undefined) return this.fail(`publisher p${this.id} got an undecodable ack`);
    const partition = this.pending.get(ack.correlationId);
    if (partition === undefined) return this.fail(`ack for unknown correlation id ${ack.correlationId}`);
    if (ack.ackError !== "OK") {
      this.history.ackErrors++;
      return;
    }
    const violation = this.history.onAck(partition, ack.correlationId, ack.offset);
    if (violation !== undefined) this.fail(violation);
  }
}

/** One subscriber on one partition; `subscribe` is re-sent after every restart. */
export class Subscriber {
  /** The next offset this subscriber expects. */
  next = -1;
  subscriptionId = 0;
  active = false;

  constructor(
    readonly target: Target,
    private readonly history: BrokerHistory,
    private readonly durable: boolean,
    private readonly fail: (message: string) => void,
  ) {}

  /** Checks and records a chunk of records. */
  onRecords(records: readonly LogRecord[]): void {
    for (const r of records) {
      if (this.next >= 0 && r.offset !== this.next) {
        return this.fail(`subscriber on ${this.target.key} expected offset ${this.next}, got ${r.offset} (gap or reorder)`);
      }
      this.next = r.offset + 1;
      const value = r.value === null ? "<null>" : new TextDecoder().decode(r.value);
      const violation = this.history.onObserved(this.target.key, r.offset, value, this.durable);
      if (violation !== undefined) return this.fail(violation);
    }
  }
}
