// The "broker" workload: one real Broker core over a crashing, faulty SimDisk and a faulty SimNats
// (drops, long-tailed delays, duplicates, reordering, disconnects), with publishers (raw, enveloped
// with every ack policy, and through the API) that retry after a timeout, flow-controlled
// subscribers, and an admin that pauses, sets readonly, deletes and recreates streams. The cleaner
// runs on a short interval over a stream with retention and compaction; the disk may fill up.
// Two phases per seed: safety with faults, then liveness with every fault healed, ending with
// "every publish was answered". Checks: see BrokerHistory.
import type { ApiRequest, ApiResponse, BrokerEffect } from "../../src/core/broker/api-types.js";
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
import { drawSimNatsFaults, NO_SIM_NATS_FAULTS, SimNatsServer, type SimNatsConnection } from "../sim-nats.js";
import type { SimRandom } from "../sim-random.js";
import type { Simulation } from "../simulation.js";
import { BrokerAdmin, SCRATCH } from "./broker-admin.js";
import { Publisher, Subscriber, type Target } from "./broker-clients.js";
import { BrokerHistory, type PartitionKey } from "./broker-history.js";
import { SyncWatchDisk } from "./sync-watch-disk.js";

const TARGETS: readonly Target[] = [
  { key: "orders/0", stream: "orders", partition: 0, subjects: ["orders"], apiPublish: true },
  { key: "orders/1", stream: "orders", partition: 1, subjects: ["orders.1"], apiPublish: true },
  { key: "events/0", stream: "events", partition: 0, subjects: ["events.a", "events.b"], apiPublish: false },
  { key: `${SCRATCH}/0`, stream: SCRATCH, partition: 0, subjects: [SCRATCH], apiPublish: true },
];

/** Virtual milliseconds of the liveness phase (faults healed; retries must all be answered). */
const LIVENESS_MS = 2500;

/** Variants of the broker workload. */
export interface BrokerWorkloadOptions {
  /** Plant the bug "LEADER acks leave before the batch is durable" (the sweep must catch it). */
  readonly ackBeforePersist?: boolean;
  /** Plant another of the broker's bugs the sweep must catch. */
  readonly plantedBug?: PlantedBrokerBug;
  /**
   * SimDisk read errors (a subscription ends with Internal "read failed" and resubscribes): in a
   * third of the seeds when undefined (the default sweep), in every seed when true, never when false.
   */
  readonly readFaults?: boolean;
  /** Compaction on the scratch stream: in half the seeds when undefined, always when true, never when false. */
  readonly compaction?: boolean;
  /**
   * Random admin ops while faults last (pause, readonly, delete and recreate the scratch stream): in
   * half the seeds when undefined, always when true, never when false. The admin's creates and heal
   * run either way.
   */
  readonly adminOps?: boolean;
  /** Plant the bug "the network never heals" (every message dropped from the liveness phase on): the liveness check must fail. */
  readonly unhealedNetwork?: boolean;
  /**
   * False turns off the subscribers' "answered as created but gone" check, so that a planted
   * reply-before-persist must be found by the linearizability check of the admin's history alone.
   */
  readonly answeredCreatesCheck?: boolean;
}

const BUG_NAMES = {
  ackBeforePersist: "ack-before-persist", replyBeforePersist: "reply-before-persist", ackBeforeEarlierPersist: "ack-before-earlier-persist", readErrorThrows: "read-error-throws",
} as const;

/** The broker bugs a workload can plant (BrokerConfig.plantedBugs). */
export type PlantedBrokerBug = keyof typeof BUG_NAMES;

/** The broker workload (optionally with a planted bug). */
export function createBrokerWorkload(options: BrokerWorkloadOptions = {}): Workload {
  const bug = options.plantedBug ?? (options.ackBeforePersist === true ? "ackBeforePersist" : undefined);
  const suffix = `${bug !== undefined ? `-${BUG_NAMES[bug]}` : ""}${options.readFaults === true ? "-read-faults" : ""}${options.compaction === true ? "-compaction" : ""}${options.adminOps === true ? "-admin" : ""}${options.unhealedNetwork === true ? "-unhealed-network" : ""}${options.answeredCreatesCheck === false ? "-linearizability" : ""}`;
  return {
    name: `broker${suffix}`,
    description: "one broker over a faulty disk and network: publishers (NATS and API) with retries, subscribers, admin ops, cleaner, crashes; then faults heal and every publish must be answered" + (bug !== undefined ? ` (planted bug: ${bug})` : ""),
    defaultDurationMs: 2000,
    run: (sim, runOptions) => new BrokerRun(sim, sim.random("swarm"), options, bug).run(runOptions),
  };
}

class BrokerRun {
  private readonly history: BrokerHistory;
  private readonly node: SimBrokerNode;
  private readonly disk: SyncWatchDisk;
  private readonly policy: SyncPolicy;
  private readonly server: SimNatsServer;
  private readonly connections: SimNatsConnection[] = [];
  private readonly subscribers: Subscriber[];
  private readonly publishers: Publisher[] = [];
  private readonly bySubscription = new Map<number, Subscriber>();
  private readonly apiCallbacks = new Map<number, (result: Result<ApiResponse>) => void>();
  private readonly admin: BrokerAdmin;
  private failure: string | undefined;
  private nextId = 1;
  private healed = false;
  private corruptReads = 0;
  /** Subscriptions ended by a failed read (Internal "read failed"). */
  private readErrors = 0;

  constructor(
    private readonly sim: Simulation,
    private readonly swarm: SimRandom,
    private readonly options: BrokerWorkloadOptions,
    private readonly plantedBug: PlantedBrokerBug | undefined,
  ) {
    this.policy = swarm.chance("policyNever", 1, 5) ? "never" : swarm.chance("policyInterval", 1, 3) ? "interval" : "always";
    this.disk = new SyncWatchDisk({
      random: sim.random("disk"), nowMs: () => sim.nowMs,
      faults: {
        fsyncErrorPerMille: swarm.chance("fsyncErrors", 1, 4) ? swarm.between("fsyncErrorPerMille", 1, 5) : 0,
        readErrorPerMille: (options.readFaults ?? swarm.chance("readErrors", 1, 3)) ? swarm.between("readErrorPerMille", 1, 5) : 0,
        capacityBytes: swarm.chance("diskFull", 1, 4) ? swarm.pick("capacityBytes", [16_384, 65_536, 262_144]) : undefined,
        latencyMsMax: swarm.between("diskLatencyMsMax", 0, 5),
      },
    }, this.policy === "interval" ? (partition, records) => this.onSynced(partition, records) : undefined);
    this.server = new SimNatsServer(sim, sim.random("nats"), drawSimNatsFaults(swarm));
    this.history = new BrokerHistory(this.server.faults.duplicatePerMille > 0, this.policy === "always");
    this.history.unchecked.add(`${SCRATCH}/0`);
    const brokerConnection = this.connect("b1");
    this.node = new SimBrokerNode(sim, this.disk, brokerConnection, createWireCodec(), this.config());
    this.node.onEffect = (e) => this.onEffect(e);
    this.admin = new BrokerAdmin(sim, swarm, (request, onResult) => this.api(request, onResult), (m) => this.fail(m), () => this.resetScratchSubscribers(), options.compaction);
    const durable = this.policy === "always";
    this.subscribers = TARGETS.map((t) => new Subscriber(t, this.history, durable && t.stream !== SCRATCH, t.stream === SCRATCH, (m) => this.fail(m)));
    const retryAfterMs = swarm.pick("publishRetryAfterMs", [50, 200, 1000]);
    const apiPerMille = swarm.pick("apiPublishPerMille", [0, 200, 800]);
    for (let i = 0; i < 3; i++) {
      const links = { sim, nats: this.connect(`p${i}`), codec: createWireCodec(), decodeAck: decodeAckForSim, api: this.api.bind(this), history: this.history, fail: (m: string) => this.fail(m) };
      this.publishers.push(new Publisher(i, links, retryAfterMs, apiPerMille));
    }
  }

  private connect(name: string): SimNatsConnection {
    const connection = this.server.connect(name);
    this.connections.push(connection);
    return connection;
  }

  private config(): BrokerConfig {
    const s = this.swarm;
    return {
      serverId: nodeId("b1"), namespace: "sim", host: "sim", port: 9292, dataDir: "",
      streamDefaults: {
        ...LIFTBRIDGE_STREAM_DEFAULTS, segmentMaxBytes: s.pick("segmentMaxBytes", [512, 4096, 65536]),
        cleanerIntervalMs: s.pick("cleanerIntervalMs", [20, 100, 500]),
      },
      syncPolicy: this.policy, syncIntervalMs: s.between("syncIntervalMs", 1, 50),
      replicationMaxBytes: 1_048_576, batchMaxMessages: s.pick("batchMaxMessages", [1, 8, 1024]),
      subscriberBatchMaxBytes: s.pick("subscriberBatchMaxBytes", [64, 1024, 65536]),
      hwCheckpointIntervalMs: s.between("hwCheckpointIntervalMs", 50, 2000),
      ...(this.plantedBug !== undefined ? { plantedBugs: { [this.plantedBug]: true } } : {}),
    };
  }

  run(options: WorkloadOptions): WorkloadOutcome {
    const f = this.server.faults;
    this.sim.trace(`knobs policy=${this.policy} drop=${f.dropPerMille} dup=${f.duplicatePerMille} delay=${f.delayMsMax} tail=${f.tailPerMille}/${f.tailDelayMsMax} reorder=${f.reorder}`);
    this.sim.addInvariant("brokerHistory", () => this.failure);
    this.restart();
    const everyMsMax = this.swarm.between("publishEveryMsMax", 1, 20);
    for (const p of this.publishers) this.sim.scheduleAfter(5, "publisher start", () => p.loop(TARGETS, this.sim.random("publishers"), everyMsMax));
    // Sometimes a crash within the first creates' persist (reply-before-persist shows only there).
    const early = this.sim.random("earlyCrash");
    if (early.chance("earlyCrash", 1, 3)) {
      this.sim.scheduleAfter(early.between("earlyCrashInMs", 1, 12), "early crash", () => {
        this.crash();
        this.sim.scheduleAfter(1, "restart", () => this.restart());
      });
    }
    this.scheduleCrash(this.swarm.between("crashEveryMsMax", 100, 2000));
    if (this.swarm.chance("disconnects", 1, 2)) this.scheduleDisconnect(this.swarm.between("disconnectEveryMsMax", 50, 1000));
    if (this.options.adminOps ?? this.swarm.chance("adminOps", 1, 2)) this.admin.start(() => this.healed);
    this.sim.runUntil(options.durationMs, options.maxEvents);
    this.heal();
    this.sim.runUntil(options.durationMs + LIVENESS_MS, options.maxEvents);
    // The streams as the healed broker has them close the admin's history (a lost stream shows
    // here before its publishes go unanswered).
    const streams = this.node.broker?.view.metadata.streams;
    if (this.sim.violation === undefined && streams !== undefined) this.failure ??= this.admin.checkLinearizable((name) => streams.has(name));
    if (this.sim.violation === undefined) this.failure ??= this.history.checkAnswered();
    return this.finish();
  }

  /** The liveness phase begins: no new publishes, crashes, disconnects or admin ops; every fault healed. */
  private heal(): void {
    this.healed = true;
    this.sim.trace("heal");
    for (const p of this.publishers) {
      p.stopped = true;
      p.healed = true;
    }
    this.server.setFaults(this.options.unhealedNetwork === true ? { ...NO_SIM_NATS_FAULTS, dropPerMille: 1000 } : NO_SIM_NATS_FAULTS);
    for (const c of this.connections) c.reconnect();
    this.disk.setFaults({ fsyncErrorPerMille: 0, readErrorPerMille: 0, capacityBytes: undefined, latencyMsMax: 0 });
    // A failed disk stops the broker until a restart (fail-stop): restart it on the healed disk.
    if (this.node.broker !== undefined) this.crash();
    this.restart();
    this.admin.heal();
  }

  private scheduleCrash(everyMsMax: number): void {
    this.sim.scheduleAfter(this.swarm.between("crashInMs", 1, everyMsMax), "crash", () => {
      if (this.healed) return;
      this.crash();
      this.sim.scheduleAfter(this.swarm.between("restartDelayMs", 1, 100), "restart", () => {
        if (this.healed) return;
        this.restart();
        this.scheduleCrash(everyMsMax);
      });
    });
  }

  private scheduleDisconnect(everyMsMax: number): void {
    this.sim.scheduleAfter(this.swarm.between("disconnectInMs", 1, everyMsMax), "disconnect", () => {
      if (this.healed) return;
      const connection = this.swarm.pick("disconnected", this.connections);
      connection.disconnect();
      this.sim.trace(`nats disconnect ${connection.name}`);
      this.sim.scheduleAfter(this.swarm.between("reconnectDelayMs", 1, 200), "reconnect", () => {
        connection.reconnect();
        this.scheduleDisconnect(everyMsMax);
      });
    });
  }

  private crash(): void {
    this.node.crash();
    this.subscribers.forEach((s) => (s.active = false));
    this.apiCallbacks.clear();
  }

  private restart(): void {
    // The early crash's restart and a scheduled crash's may both be due: the first one starts it.
    if (this.node.broker !== undefined) return;
    // A start refused (a metadata read failed) is retried, as a supervisor restarts a process.
    if (!this.node.start()) {
      this.sim.scheduleAfter(this.swarm.between("restartRetryMs", 1, 100), "restart retry", () => this.restart());
      return;
    }
    this.admin.onRestart();
    for (const s of this.subscribers) this.resubscribe(s);
  }

  private resubscribe(s: Subscriber): void {
    if (s.active || this.node.broker === undefined) return;
    s.active = true;
    s.subscriptionId = this.nextId++;
    this.bySubscription.set(s.subscriptionId, s);
    // A subscribe may resume a paused partition (Liftbridge's Resume option); once healed, always.
    const resume = this.healed || this.swarm.chance("subscribeResumes", 1, 2);
    const start = s.next < 0 ? ({ startPosition: "EARLIEST", startOffset: 0 } as const) : ({ startPosition: "OFFSET", startOffset: s.next } as const);
    this.node.input((t) => ({
      kind: "subscribe", subscriptionId: s.subscriptionId, ...t,
      request: { stream: s.target.stream, partition: s.target.partition, ...start, startTimestampNs: 0n, stopPosition: "STOP_ON_CANCEL", stopOffset: 0, stopTimestampNs: 0n, resume, readIsrReplica: false },
    }));
  }

  private api(request: ApiRequest, onResult: (result: Result<ApiResponse>) => void): void {
    if (this.node.broker === undefined) return;
    const requestId = this.nextId++;
    this.apiCallbacks.set(requestId, onResult);
    this.node.input((t) => ({ kind: "apiRequest", requestId, request, ...t }));
  }

  private onEffect(effect: BrokerEffect): void {
    switch (effect.kind) {
      case "apiResponse": {
        const callback = this.apiCallbacks.get(effect.requestId);
        this.apiCallbacks.delete(effect.requestId);
        return callback?.(effect.result);
      }
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
      case "subscriptionEnded":
        return this.onSubscriptionEnded(effect.subscriptionId, effect.error.code, effect.error.message);
    }
  }

  /**
   * A failed or full disk, a failed read, a pause, a delete or a readonly end: resubscribe later
   * (a read error is the typed answer to a disk that refused a read, decisions.md "Read errors are
   * answers"; a client retries from its next offset). A corrupt record that recovery kept (issue
   * 10: damaged data below the recovery point is never served) ends the subscriber for good.
   * Anything else is a bug.
   */
  private onSubscriptionEnded(id: number, code: string, message: string): void {
    if (message.includes("corrupt record")) {
      this.corruptReads++;
      return;
    }
    const readFailed = code === "Internal" && message.startsWith("read failed");
    // A log that cannot be read back after a full disk's repair is offline until a restart, like a failed disk.
    const offline = code === "Internal" && message.startsWith("partition offline");
    if (readFailed || offline) this.readErrors++;
    if (!readFailed && !offline && !["DiskFailed", "DiskFull", "PartitionPaused", "StreamNotFound", "EndOfReadonlyPartition"].includes(code)) {
      return this.fail(`subscription ${id} ended: ${code} ${message}`);
    }
    const s = this.bySubscription.get(id);
    if (s === undefined || s.subscriptionId !== id) return;
    s.active = false;
    if (code === "StreamNotFound") s.next = -1;
    if (code !== "DiskFailed" && !offline) this.sim.scheduleAfter(this.swarm.between("resubscribeMs", 1, 200), "resubscribe", () => this.resubscribe(s));
  }

  private onSubscribed(id: number, error: string | undefined): void {
    const s = this.bySubscription.get(id);
    if (s === undefined || error === undefined) return;
    // A CreateStream answered before its op was durable is lost by a crash: "created" must mean durable.
    if (error === "PartitionNotFound" && this.admin.answeredCreates.has(s.target.stream) && this.options.answeredCreatesCheck !== false) {
      return this.fail(`stream ${s.target.stream} was answered as created but is gone after a restart`);
    }
    // The stream may not exist (yet, or any more); retry shortly.
    s.active = false;
    this.sim.scheduleAfter(5, "resubscribe", () => this.resubscribe(s));
  }

  private resetScratchSubscribers(): void {
    for (const s of this.subscribers) if (s.target.stream === SCRATCH) s.next = -1;
  }

  private onSynced(partition: string, records: readonly { offset: number; value: Uint8Array | null }[]): void {
    for (const r of records) this.history.onSynced(partition, r.offset, r.value === null ? "<null>" : new TextDecoder().decode(r.value));
  }

  private finish(): WorkloadOutcome {
    // A last crash and recovery on the healed disk: what survives must be checked.
    this.crash();
    if (!this.node.start()) this.fail("the broker refused to start on the healed disk");
    this.sim.runUntil(this.sim.nowMs + 100);
    const logs = new Map<PartitionKey, Map<number, string>>();
    for (const t of TARGETS) logs.set(t.key, this.readAll(t));
    this.failure ??= this.history.checkFinal(logs, this.policy);
    const h = this.history;
    const n = this.server.counters;
    return {
      ok: this.failure === undefined,
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      counters: {
        published: h.published.size, acked: h.acked.size, acks: h.acks, ackErrors: h.ackErrors, apiErrors: h.apiErrors, retries: h.retries,
        delivered: h.delivered, crashes: this.node.crashes, natsDropped: n.dropped, natsDuplicated: n.duplicated,
        natsDisconnects: n.disconnects, natsLost: n.lostToDisconnect, syncedRecords: h.synced.size, corruptReads: this.corruptReads, readErrors: this.readErrors, ...this.admin.counters,
      },
    };
  }

  private readAll(t: Target): Map<number, string> {
    const out = new Map<number, string>();
    const log = this.node.broker?.view.partitions.get(`${t.stream}\u0000${t.partition}`)?.log;
    if (log === undefined) return out;
    // A read stops before offsets recovery found damaged (kept, never served): step over them.
    for (let next = log.oldestOffset as number; next <= log.newestOffset; ) {
      const read = log.read(offset(next), offset(log.newestOffset), Number.MAX_SAFE_INTEGER);
      if (!read.ok && read.error.code !== "CorruptRecord") {
        this.fail(`final read of ${t.key} failed: ${read.error.message}`);
        return out;
      }
      const records = read.ok ? read.value.records : [];
      for (const r of records) out.set(r.offset, r.value === null ? "<null>" : new TextDecoder().decode(r.value));
      next = records.length === 0 ? next + 1 : (records[records.length - 1] as { offset: number }).offset + 1;
    }
    return out;
  }

  private fail(message: string): void {
    this.failure ??= `${message} (at ${this.sim.nowMs} ms)`;
  }
}
