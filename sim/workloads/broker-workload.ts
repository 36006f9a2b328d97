// The "broker" workload: one real Broker core over a crashing, faulty SimDisk and SimNats, with
// publishers (raw and enveloped, every ack policy) and flow-controlled subscribers. Per seed it
// checks: under sync policy `always` every acked message and every message a subscriber read is
// present, unchanged, after the final crash and recovery; under every policy subscriptions see
// strictly increasing offsets with no gaps and nothing unpublished ever appears.
import type { ApiRequest, BrokerEffect } from "../../src/core/broker/api-types.js";
import type { BrokerConfig } from "../../src/core/broker/broker-config.js";
import type { SyncPolicy } from "../../src/core/log/log-config.js";
import { crc32c } from "../../src/core/crc32c.js";
import { decodeStoredRecords } from "../../src/core/log/stored-records.js";
import { LIFTBRIDGE_STREAM_DEFAULTS } from "../../src/core/metadata/stream-config.js";
import { nodeId, offset } from "../../src/core/types.js";
import type { Result } from "../../src/core/errors.js";
import { createWireCodec, decodeAckForSim } from "../../src/io/broker-wire-codec.js";
import type { Workload, WorkloadOptions, WorkloadOutcome } from "../runner.js";
import { SimBrokerNode } from "../sim-broker-node.js";
import { SimDisk } from "../sim-disk.js";
import { SimNats } from "../sim-nats.js";
import type { SimRandom } from "../sim-random.js";
import type { Simulation } from "../simulation.js";
import { Publisher, Subscriber, type Target } from "./broker-clients.js";
import { BrokerHistory, type PartitionKey } from "./broker-history.js";

const TARGETS: readonly Target[] = [
  { key: "orders/0", stream: "orders", partition: 0, subjects: ["orders"] },
  { key: "orders/1", stream: "orders", partition: 1, subjects: ["orders.1"] },
  { key: "events/0", stream: "events", partition: 0, subjects: ["events.a", "events.b"] },
];

const CREATES: readonly ApiRequest[] = [
  { kind: "createStream", name: "orders", subject: "orders", group: "", replicationFactor: 1, partitions: 2, overrides: {} },
  { kind: "createStream", name: "events", subject: "events.*", group: "g", replicationFactor: 1, partitions: 1, overrides: {} },
];

/** Variants of the broker workload. */
export interface BrokerWorkloadOptions {
  /** Plant the bug "LEADER acks leave before the batch is durable" (the sweep must catch it). */
  readonly ackBeforePersist?: boolean;
  /** Plant another of the broker's bugs the sweep must catch. */
  readonly plantedBug?: "ackBeforePersist" | "replyBeforePersist" | "ackBeforeEarlierPersist";
}

const BUG_NAMES = { ackBeforePersist: "ack-before-persist", replyBeforePersist: "reply-before-persist", ackBeforeEarlierPersist: "ack-before-earlier-persist" } as const;

/** The broker workload (optionally with a planted bug). */
export function createBrokerWorkload(options: BrokerWorkloadOptions = {}): Workload {
  const bug = options.plantedBug ?? (options.ackBeforePersist === true ? "ackBeforePersist" : undefined);
  return {
    name: bug !== undefined ? `broker-${BUG_NAMES[bug]}` : "broker",
    description: "one broker, publishers with every ack policy, subscribers, crashes, torn writes and fsync errors" + (bug !== undefined ? ` (planted bug: ${bug})` : ""),
    defaultDurationMs: 2000,
    run: (sim, runOptions) => new BrokerRun(sim, sim.random("swarm"), bug).run(runOptions),
  };
}

class BrokerRun {
  private readonly history = new BrokerHistory();
  private readonly node: SimBrokerNode;
  private readonly policy: SyncPolicy;
  private readonly subscribers: Subscriber[];
  private readonly publishers: Publisher[] = [];
  private readonly bySubscription = new Map<number, Subscriber>();
  private readonly creates = new Map<number, ApiRequest>();
  private failure: string | undefined;
  private nextId = 1;
  private created = false;

  /** Streams whose CreateStream was answered (OK or StreamExists): they must exist after every restart. */
  private readonly answeredCreates = new Set<string>();

  constructor(private readonly sim: Simulation, private readonly swarm: SimRandom, private readonly plantedBug: keyof typeof BUG_NAMES | undefined) {
    this.policy = swarm.chance("policyNever", 1, 5) ? "never" : swarm.chance("policyInterval", 1, 4) ? "interval" : "always";
    const disk = new SimDisk({
      random: sim.random("disk"), nowMs: () => sim.nowMs,
      faults: {
        fsyncErrorPerMille: swarm.chance("fsyncErrors", 1, 4) ? swarm.between("fsyncErrorPerMille", 1, 5) : 0,
        latencyMsMax: swarm.between("diskLatencyMsMax", 0, 5),
      },
    });
    const nats = new SimNats(sim.random("nats"));
    this.node = new SimBrokerNode(sim, disk, nats, createWireCodec(), this.config());
    this.node.onEffect = (e) => this.onEffect(e);
    const durable = this.policy === "always";
    this.subscribers = TARGETS.map((t) => new Subscriber(t, this.history, durable, (m) => this.fail(m)));
    for (let i = 0; i < 3; i++) {
      this.publishers.push(new Publisher(i, sim, nats, createWireCodec(), decodeAckForSim, this.history, (m) => this.fail(m)));
    }
  }

  private config(): BrokerConfig {
    const s = this.swarm;
    return {
      serverId: nodeId("b1"), namespace: "sim", host: "sim", port: 9292, dataDir: "",
      streamDefaults: { ...LIFTBRIDGE_STREAM_DEFAULTS, segmentMaxBytes: s.pick("segmentMaxBytes", [512, 4096, 65536]) },
      syncPolicy: this.policy, syncIntervalMs: s.between("syncIntervalMs", 1, 50),
      replicationMaxBytes: 1_048_576, batchMaxMessages: s.pick("batchMaxMessages", [1, 8, 1024]),
      subscriberBatchMaxBytes: s.pick("subscriberBatchMaxBytes", [64, 1024, 65536]),
      hwCheckpointIntervalMs: s.between("hwCheckpointIntervalMs", 50, 2000),
      ...(this.plantedBug !== undefined ? { plantedBugs: { [this.plantedBug]: true } } : {}),
    };
  }

  run(options: WorkloadOptions): WorkloadOutcome {
    this.sim.trace(`knobs policy=${this.policy}`);
    this.sim.addInvariant("brokerHistory", () => this.failure);
    this.restart();
    const everyMsMax = this.swarm.between("publishEveryMsMax", 1, 20);
    for (const p of this.publishers) this.sim.scheduleAfter(5, "publisher start", () => p.loop(TARGETS, this.sim.random("publishers"), everyMsMax));
    this.scheduleCrash(this.swarm.between("crashEveryMsMax", 100, 2000), options.durationMs);
    this.sim.scheduleAt(options.durationMs, "stop publishers", () => this.publishers.forEach((p) => (p.stopped = true)));
    this.sim.runUntil(options.durationMs + 500, options.maxEvents);
    return this.finish();
  }

  private scheduleCrash(everyMsMax: number, untilMs: number): void {
    this.sim.scheduleAfter(this.swarm.between("crashInMs", 1, everyMsMax), "crash", () => {
      if (this.sim.nowMs >= untilMs) return;
      this.node.crash();
      this.subscribers.forEach((s) => (s.active = false));
      this.sim.scheduleAfter(this.swarm.between("restartDelayMs", 1, 100), "restart", () => {
        this.restart();
        this.scheduleCrash(everyMsMax, untilMs);
      });
    });
  }

  private restart(): void {
    this.node.start();
    if (!this.created) {
      this.created = true;
      for (const request of CREATES) this.create(request);
    } else {
      // A CreateStream lost in a crash before its answer never happened: ask again.
      for (const request of CREATES) if (request.kind === "createStream" && !this.answeredCreates.has(request.name)) this.create(request);
    }
    for (const s of this.subscribers) this.resubscribe(s);
  }

  private resubscribe(s: Subscriber): void {
    if (s.active || this.node.broker === undefined) return;
    s.active = true;
    s.subscriptionId = this.nextId++;
    this.bySubscription.set(s.subscriptionId, s);
    const start = s.next < 0 ? ({ startPosition: "EARLIEST", startOffset: 0 } as const) : ({ startPosition: "OFFSET", startOffset: s.next } as const);
    this.node.input((t) => ({
      kind: "subscribe", subscriptionId: s.subscriptionId, ...t,
      request: { stream: s.target.stream, partition: s.target.partition, ...start, startTimestampNs: 0n, stopPosition: "STOP_ON_CANCEL", stopOffset: 0, stopTimestampNs: 0n, resume: false, readIsrReplica: false },
    }));
  }

  private onEffect(effect: BrokerEffect): void {
    switch (effect.kind) {
      case "apiResponse":
        return this.onApiResponse(effect.requestId, effect.result);
      case "subscribed":
        return this.onSubscribed(effect.subscriptionId, effect.result.ok ? undefined : effect.result.error.code);
      case "subscriptionRecords": {
        const s = this.bySubscription.get(effect.subscriptionId);
        if (s === undefined || s.subscriptionId !== effect.subscriptionId) return;
        s.onRecords(decodeStoredRecords(effect.records, crc32c));
        const id = effect.subscriptionId;
        this.sim.scheduleAfter(this.swarm.between("subscriberDrainMs", 0, 3), "subscriber ready", () => this.node.input((t) => ({ kind: "subscriptionReady", subscriptionId: id, ...t })));
        return;
      }
      case "subscriptionEnded": {
        // A failed disk stops the broker (fail-stop) until the next restart; anything else is a bug.
        if (effect.error.code !== "DiskFailed") return this.fail(`subscription ${effect.subscriptionId} ended: ${effect.error.message}`);
        const s = this.bySubscription.get(effect.subscriptionId);
        if (s !== undefined && s.subscriptionId === effect.subscriptionId) s.active = false;
        return;
      }
    }
  }

  /** CreateStream may fail with DiskFailed (outcome unknown): retry; StreamExists then means it took. */
  private onApiResponse(requestId: number, result: Result<unknown>): void {
    const request = this.creates.get(requestId);
    if (request === undefined) return;
    if (request.kind === "createStream" && (result.ok || result.error.code === "StreamExists")) this.answeredCreates.add(request.name);
    if (result.ok || result.error.code === "StreamExists") return;
    if (result.error.code !== "DiskFailed") return this.fail(`api request ${requestId} failed: ${result.error.message}`);
    this.sim.scheduleAfter(5, "retry create", () => this.create(request));
  }

  private create(request: ApiRequest): void {
    const requestId = this.nextId++;
    this.creates.set(requestId, request);
    this.node.input((t) => ({ kind: "apiRequest", requestId, request, ...t }));
  }

  private onSubscribed(id: number, error: string | undefined): void {
    const ok = error === undefined;
    const s = this.bySubscription.get(id);
    if (s === undefined) return;
    // A CreateStream answered before its op was durable is lost by a crash: "created" must mean durable.
    if (error === "PartitionNotFound" && this.answeredCreates.has(s.target.stream)) return this.fail(`stream ${s.target.stream} was answered as created but is gone after a restart`);
    // The streams may not exist yet on the very first start; retry shortly.
    if (!ok) {
      s.active = false;
      this.sim.scheduleAfter(5, "resubscribe", () => this.resubscribe(s));
    }
  }

  private finish(): WorkloadOutcome {
    // Faults healed for the final recovery (the liveness phase): what survives must be checked.
    this.node.disk.setFaults({ fsyncErrorPerMille: 0, latencyMsMax: 0 });
    this.node.crash();
    this.node.start();
    this.sim.runUntil(this.sim.nowMs + 100);
    const logs = new Map<PartitionKey, Map<number, string>>();
    for (const t of TARGETS) logs.set(t.key, this.readAll(t));
    this.failure ??= this.history.checkFinal(logs, this.policy === "always");
    return {
      ok: this.failure === undefined,
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      counters: {
        published: this.history.published.size, acked: this.history.acked.size, ackErrors: this.history.ackErrors,
        delivered: this.history.delivered, crashes: this.node.crashes,
      },
    };
  }

  private readAll(t: Target): Map<number, string> {
    const out = new Map<number, string>();
    const log = this.node.broker?.view.partitions.get(`${t.stream}\u0000${t.partition}`)?.log;
    if (log === undefined) return out;
    const read = log.read(log.oldestOffset, offset(log.newestOffset), Number.MAX_SAFE_INTEGER);
    if (!read.ok) {
      this.fail(`final read of ${t.key} failed: ${read.error.message}`);
      return out;
    }
    for (const r of read.value.records) out.set(r.offset, r.value === null ? "<null>" : new TextDecoder().decode(r.value));
    return out;
  }

  private fail(message: string): void {
    this.failure ??= `${message} (at ${this.sim.nowMs} ms)`;
  }
}
