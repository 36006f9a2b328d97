// The broker workload's clients: publishers (raw NATS payloads, envelopes with every ack policy,
// and publishes through the API) that retry an unanswered publish after a timeout as real clients
// do, each on its own NATS connection; and one flow-controlled subscriber per partition that checks
// offsets arrive strictly increasing (without gaps where no cleaner runs), resubscribing as needed.
import type { ApiRequest, ApiResponse } from "../../src/core/broker/api-types.js";
import type { AckPolicy, PublishEnvelope, WireCodec } from "../../src/core/broker/wire-codec.js";
import type { Result } from "../../src/core/errors.js";
import type { LogRecord } from "../../src/core/log/record-codec.js";
import type { SimNatsConnection } from "../sim-nats.js";
import type { SimRandom } from "../sim-random.js";
import type { EventHandle, Simulation } from "../simulation.js";
import type { BrokerHistory, PartitionKey } from "./broker-history.js";

/** A partition the workload publishes to. */
export interface Target {
  readonly key: PartitionKey;
  readonly stream: string;
  readonly partition: number;
  /** Concrete subjects that reach this partition (several for a wildcard stream). */
  readonly subjects: readonly string[];
  /** The API publishes to the partition's own subject; a wildcard stream cannot take them. */
  readonly apiPublish: boolean;
}

/** Decodes an ack envelope into the fields the workload checks. */
export type AckDecoder = (data: Uint8Array) => { correlationId: string; offset: number; ackError: string } | undefined;

/** Sends an API request to the broker; the callback gets its response (never, if the broker is down). */
export type ApiCaller = (request: ApiRequest, onResult: (result: Result<ApiResponse>) => void) => void;

const POLICIES: readonly AckPolicy[] = ["LEADER", "ALL", "NONE"];

/** How a publisher talks to the broker. */
export interface PublisherLinks {
  readonly sim: Simulation;
  readonly nats: SimNatsConnection;
  readonly codec: WireCodec;
  readonly decodeAck: AckDecoder;
  readonly api: ApiCaller;
  readonly history: BrokerHistory;
  readonly fail: (message: string) => void;
}

interface Pending {
  readonly target: Target;
  readonly subject: string;
  readonly envelope: PublishEnvelope;
  answered: boolean;
  attempts: number;
  timeout: EventHandle | undefined;
}

/** One publisher process. */
export class Publisher {
  private n = 0;
  private readonly pending = new Map<string, Pending>();
  /** No new publishes (retries continue). */
  stopped = false;
  /** Faults healed: retries go through the API, which always answers. */
  healed = false;

  constructor(
    private readonly id: number,
    private readonly links: PublisherLinks,
    private readonly retryAfterMs: number,
    private readonly apiPerMille: number,
  ) {
    links.nats.subscribe(this.inbox, "", (m) => this.onAck(m.data));
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
    if (random.chance("rawPublish", 1, 5)) {
      this.links.history.onPublish(target.key, value, false);
      this.links.nats.publish(subject, "", bytes);
    } else {
      const envelope: PublishEnvelope = {
        key: random.chance("keyed", 1, 2) ? new TextEncoder().encode(`k${random.int("key", 8)}`) : null,
        value: bytes, headers: [["h", bytes]], ackInbox: this.inbox, correlationId: value,
        ackPolicy: random.pick("ackPolicy", POLICIES), expectedOffset: -1,
      };
      const p: Pending = { target, subject, envelope, answered: false, attempts: 0, timeout: undefined };
      this.pending.set(value, p);
      const viaApi = target.apiPublish && random.chance("apiPublish", this.apiPerMille, 1000);
      this.links.history.onPublish(target.key, value, viaApi || envelope.ackPolicy !== "NONE");
      this.send(p, viaApi);
    }
    this.links.sim.scheduleAfter(random.between("publishEveryMs", 0, everyMsMax), `publish p${this.id}`, () => this.loop(targets, random, everyMsMax));
  }

  private send(p: Pending, viaApi: boolean): void {
    const { envelope, target } = p;
    this.links.sim.trace(`send ${envelope.correlationId} ${viaApi ? "api" : "nats"} ${target.key} ${envelope.ackPolicy}`);
    if (viaApi) {
      const request: ApiRequest = { kind: "publish", stream: target.stream, partition: target.partition, ...envelope };
      this.links.api(request, (result) => this.onApiResult(p, result));
    } else {
      this.links.nats.publish(p.subject, "", this.links.codec.encodePublish(envelope, target.stream, p.subject));
    }
    if (viaApi || envelope.ackPolicy !== "NONE") this.armRetry(p);
  }

  /** A client's publish timeout: unanswered after retryAfterMs (doubling, up to 1 s), the same envelope is sent again. */
  private armRetry(p: Pending): void {
    const afterMs = Math.min(this.retryAfterMs * 2 ** Math.min(p.attempts, 10), Math.max(this.retryAfterMs, 1000));
    p.attempts++;
    if (p.timeout !== undefined) this.links.sim.cancel(p.timeout);
    p.timeout = this.links.sim.scheduleAfter(afterMs, `publish timeout p${this.id}`, () => {
      p.timeout = undefined;
      if (p.answered) return;
      this.links.history.onResend(p.envelope.correlationId);
      // Only the API answers a publish without an ack; otherwise either path (the API once healed).
      const viaApi = p.envelope.ackPolicy === "NONE" || (p.target.apiPublish && (this.healed || this.links.sim.random("publishers").chance("retryViaApi", this.apiPerMille, 1000)));
      this.send(p, viaApi);
    });
  }

  /** An answer arrived: no more retries (a timeout already armed is canceled). */
  private answer(p: Pending): void {
    p.answered = true;
    if (p.timeout !== undefined) this.links.sim.cancel(p.timeout);
    p.timeout = undefined;
  }

  private onApiResult(p: Pending, result: Result<ApiResponse>): void {
    if (result.ok && p.envelope.ackPolicy !== "NONE") return;
    if (!result.ok) this.links.history.apiErrors++;
    this.answer(p);
    this.links.history.onAnswered(p.envelope.correlationId);
  }

  private onAck(data: Uint8Array): void {
    const ack = this.links.decodeAck(data);
    if (ack === undefined) return this.links.fail(`publisher p${this.id} got an undecodable ack`);
    this.links.sim.trace(`ack ${ack.correlationId} ${ack.ackError} ${ack.offset}`);
    const p = this.pending.get(ack.correlationId);
    if (p === undefined) return this.links.fail(`ack for unknown correlation id ${ack.correlationId}`);
    this.answer(p);
    if (ack.ackError !== "OK") {
      this.links.history.ackErrors++;
      return this.links.history.onAnswered(ack.correlationId);
    }
    const violation = this.links.history.onAck(p.target.key, ack.correlationId, ack.offset);
    if (violation !== undefined) this.links.fail(violation);
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
    /** Gaps are legal where retention or compaction removes records. */
    private readonly gapsAllowed: boolean,
    private readonly fail: (message: string) => void,
  ) {}

  /** Checks and records a chunk of records. */
  onRecords(records: readonly LogRecord[]): void {
    for (const r of records) {
      if (this.next >= 0 && (this.gapsAllowed ? r.offset < this.next : r.offset !== this.next)) {
        return this.fail(`subscriber on ${this.target.key} expected offset ${this.next}, got ${r.offset} (gap or reorder)`);
      }
      this.next = r.offset + 1;
      const value = r.value === null ? "<null>" : new TextDecoder().decode(r.value);
      const violation = this.history.onObserved(this.target.key, r.offset, value, this.durable);
      if (violation !== undefined) return this.fail(violation);
    }
  }
}
