// A synchronous harness around one Broker core for tests: SimDisk underneath, the node runtime
// applying outputs with every disk op completing at once (so each step's persists are done, and
// fed back, before step() returns), NATS publishes routed to the broker's own subscriptions by
// subject match, effects collected for assertions.
import { Broker, type BrokerInput } from "../../src/core/broker/broker.js";
import { NodeRuntime, runtimeBugs, type NodeIo } from "../../src/core/runtime/node-runtime.js";
import type { ApiRequest, ApiResponse, BrokerEffect, SubscribeRequest } from "../../src/core/broker/api-types.js";
import { crc32c } from "../../src/core/crc32c.js";
import type { LogRecord } from "../../src/core/log/record-codec.js";
import { decodeStoredRecords } from "../../src/core/log/stored-records.js";
import type { BrokerConfig } from "../../src/core/broker/broker-config.js";
import { applyDiskOp, DiskError } from "../../src/core/disk.js";
import { failHeldReplies } from "../../src/core/broker/failed-persist.js";
import type { OperatingError, Result } from "../../src/core/errors.js";
import { LIFTBRIDGE_STREAM_DEFAULTS } from "../../src/core/metadata/stream-config.js";
import { subjectMatches } from "../../src/core/nats/subject.js";
import type { InputTime, NatsSubscriptionChange, Send } from "../../src/core/outputs.js";
import { nodeId, timeMs, timestampNs } from "../../src/core/types.js";
import { createWireCodec } from "../../src/io/broker-wire-codec.js";
import { SimDisk } from "../sim-disk.js";
import { SimRandom } from "../sim-random.js";

/** The default test configuration (one broker, sync policy always). */
export function testBrokerConfig(overrides: Partial<BrokerConfig> = {}): BrokerConfig {
  return {
    serverId: nodeId("b1"), namespace: "test", host: "localhost", port: 9292, dataDir: "",
    streamDefaults: LIFTBRIDGE_STREAM_DEFAULTS, syncPolicy: "always", syncIntervalMs: 100,
    replicationMaxBytes: 1_048_576, batchMaxMessages: 1024, subscriberBatchMaxBytes: 1_048_576,
    hwCheckpointIntervalMs: 5000, ...overrides,
  };
}

/** A subscription as the harness records it. */
export interface HarnessSubscription {
  readonly id: number;
  readonly records: LogRecord[];
  ended: OperatingError | undefined;
}

/** One broker under test. */
export class BrokerHarness {
  readonly disk: SimDisk;
  readonly codec = createWireCodec();
  broker!: Broker;
  private runtime!: NodeRuntime<BrokerInput, BrokerEffect>;
  /** Every NATS publish the broker made (acks and API publishes). */
  readonly sent: Send[] = [];
  /** Every publish to a broker-to-broker subject (info announcements). */
  readonly peerSent: Send[] = [];
  readonly effects: BrokerEffect[] = [];
  readonly natsSubs = new Map<number, { subject: string; queue: string }>();
  readonly subscriptions = new Map<number, HarnessSubscription>();
  nowMs = 0;
  private nextId = 1;
  /** When set, every step's persist fails with this error instead of being applied. */
  failPersistWith: DiskError | undefined;

  /** `prepare` writes to the empty disk before the first open (e.g. a data directory of an older version). */
  constructor(readonly config: BrokerConfig = testBrokerConfig(), seed = 1, prepare?: (disk: SimDisk) => void) {
    this.disk = new SimDisk({ random: new SimRandom(seed, "disk"), nowMs: () => this.nowMs });
    prepare?.(this.disk);
    this.open();
  }

  time(): InputTime {
    return { nowMs: timeMs(this.nowMs), wallNs: timestampNs(1_700_000_000_000_000_000n + BigInt(this.nowMs) * 1_000_000n) };
  }

  /** (Re)opens the broker from its disk. */
  open(): void {
    this.natsSubs.clear();
    const opened = Broker.open({ reader: this.disk, codec: this.codec, random: new SimRandom(1, "broker") }, this.config, this.time());
    this.broker = opened.broker;
    this.runtime?.stop();
    this.runtime = new NodeRuntime(this.broker, this.io(), runtimeBugs(this.config));
    this.runtime.apply(opened.outputs);
  }

  /** Clean shutdown and reopen. */
  restart(): void {
    this.step((t) => ({ kind: "shutdown", ...t }));
    this.open();
  }

  /** Power loss and reopen. */
  crash(): void {
    this.disk.crash();
    this.open();
  }

  step(make: (t: InputTime) => BrokerInput): void {
    this.runtime.step(make(this.time()));
  }

  private io(): NodeIo<BrokerEffect> {
    return {
      time: () => this.time(),
      startOp: (_lane, op, done) => {
        if (this.failPersistWith !== undefined) return done(this.failPersistWith);
        try {
          applyDiskOp(this.disk, op);
        } catch (e) {
          if (!(e instanceof DiskError)) throw e;
          return done(e);
        }
        done(undefined);
      },
      read: (request, done) => {
        let bytes: Uint8Array;
        try {
          bytes = this.disk.read(request.path, request.position, request.length);
        } catch (e) {
          if (!(e instanceof DiskError)) throw e;
          return done(e);
        }
        done(bytes);
      },
      stepped: () => undefined,
      natsSubscription: (change) => this.trackNats(change),
      // Broker-to-broker traffic (announcements, Raft) has no other broker here: kept apart.
      send: (s) => void (s.subject.startsWith(`${this.config.namespace}.raft.`) ? this.peerSent : this.sent).push(s),
      reply: (e) => this.record([e]),
      failHeld: failHeldReplies,
      armDeadline: () => undefined,
    };
  }

  private trackNats(e: NatsSubscriptionChange): void {
    // The broker's own broker-to-broker inbox: no other broker here, so nothing is routed to it.
    if (e.kind === "natsSubscribe" && e.subject.startsWith(`${this.config.namespace}.raft.`)) return;
    if (e.kind === "natsSubscribe") this.natsSubs.set(e.sid, { subject: e.subject, queue: e.queue });
    if (e.kind === "natsUnsubscribe") this.natsSubs.delete(e.sid);
  }

  private record(effects: readonly BrokerEffect[]): void {
    for (const e of effects) {
      this.effects.push(e);
      if (e.kind === "subscriptionRecords") this.subscriptions.get(e.subscriptionId)?.records.push(...decodeStoredRecords(e.records, crc32c));
      if (e.kind === "subscriptionEnded") {
        const sub = this.subscriptions.get(e.subscriptionId);
        if (sub !== undefined) sub.ended = e.error;
      }
    }
  }

  /** Runs an API request and returns its answer. */
  request(request: ApiRequest): Result<ApiResponse> {
    const requestId = this.nextId++;
    this.step((t) => ({ kind: "apiRequest", requestId, request, ...t }));
    const reply = this.effects.find((e) => e.kind === "apiResponse" && e.requestId === requestId);
    if (reply?.kind !== "apiResponse") throw new Error(`no reply to request ${requestId}`);
    return reply.result;
  }

  /** Publishes on NATS: every broker subscription whose subject matches gets it, in one batch. */
  publish(subject: string, data: Uint8Array, reply = ""): void {
    const messages = [...this.natsSubs].filter(([, s]) => subjectMatches(s.subject, subject)).map(([sid]) => ({ sid, subject, reply, data }));
    if (messages.length > 0) this.step((t) => ({ kind: "natsMessages", messages, ...t }));
  }

  /** Delivers the API publishes the broker sent to its own subjects (as NATS would). */
  deliverOwnPublishes(): void {
    const own = this.sent.splice(0).filter((s) => [...this.natsSubs.values()].some((n) => subjectMatches(n.subject, s.subject)));
    for (const s of own) this.publish(s.subject, s.data);
  }

  /** Starts a subscription; records are appended to its `records` as they come. */
  subscribe(request: Partial<SubscribeRequest> & { stream: string }): { sub: HarnessSubscription; result: Result<{ startOffset: number }> } {
    const full: SubscribeRequest = {
      partition: 0, startPosition: "EARLIEST", startOffset: 0, startTimestampNs: 0n, stopPosition: "STOP_ON_CANCEL",
      stopOffset: 0, stopTimestampNs: 0n, resume: false, readIsrReplica: false, ...request,
    };
    const id = this.nextId++;
    const sub: HarnessSubscription = { id, records: [], ended: undefined };
    this.subscriptions.set(id, sub);
    this.step((t) => ({ kind: "subscribe", subscriptionId: id, request: full, ...t }));
    const reply = this.effects.find((e) => e.kind === "subscribed" && e.subscriptionId === id);
    if (reply?.kind !== "subscribed") throw new Error(`no answer to subscription ${id}`);
    return { sub, result: reply.result };
  }

  /** Says a subscription consumed its last chunk. */
  ready(sub: HarnessSubscription): void {
    this.step((t) => ({ kind: "subscriptionReady", subscriptionId: sub.id, ...t }));
  }

  /** Keeps calling ready until the subscription stops receiving. */
  drain(sub: HarnessSubscription): void {
    for (let before = -1; before !== sub.records.length && sub.ended === undefined; ) {
      before = sub.records.length;
      this.ready(sub);
    }
  }

  /** Advances time and fires due timers. */
  tick(ms: number): void {
    this.nowMs += ms;
    this.step((t) => ({ kind: "tick", ...t }));
  }
}
