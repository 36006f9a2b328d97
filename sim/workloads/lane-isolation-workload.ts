// The "lane-isolation" workload (issue 11, Must show: a partition whose disk fails does not stop
// publishes to partitions in healthy lanes). One broker, one stream of several partitions, a
// publisher (enveloped, LEADER acks) and a subscriber per partition, no network faults and no
// crashes; once the stream exists, every write and fdatasync of ONE partition's files fails with
// EIO (SimDisk.failPaths). Checks: that partition's publishers get error acks and no OK ack for
// anything sent after the fault, and its subscriber ends with DiskFailed; every other partition
// keeps acking after the fault, gets no error ack, keeps its subscriber, and every value acked
// there is in its log at the acked offset.
import type { BrokerEffect } from "../../src/core/broker/api-types.js";
import type { BrokerConfig } from "../../src/core/broker/broker-config.js";
import { partitionSubject } from "../../src/core/metadata/metadata-state.js";
import { LIFTBRIDGE_STREAM_DEFAULTS } from "../../src/core/metadata/stream-config.js";
import { nodeId, offset } from "../../src/core/types.js";
import { createWireCodec, decodeAckForSim } from "../../src/io/broker-wire-codec.js";
import type { Workload, WorkloadOptions, WorkloadOutcome } from "../runner.js";
import { SimBrokerNode } from "../sim-broker-node.js";
import { SimDisk } from "../sim-disk.js";
import { NO_SIM_NATS_FAULTS, SimNatsServer, type SimNatsConnection } from "../sim-nats.js";
import type { SimRandom } from "../sim-random.js";
import type { Simulation } from "../simulation.js";

const STREAM = "iso";
const PARTITIONS = 4;
/** OK acks each healthy partition must get for messages sent after the fault. */
const MIN_ACKS_AFTER_FAULT = 10;

/** What one partition's clients saw. */
interface PartitionSeen {
  readonly sentAtMs: Map<string, number>;
  readonly okAcks: Map<string, number>;
  errorAcks: number;
  okAfterFault: number;
  ended: string | undefined;
  subscriptionId: number;
}

/** The lane-isolation workload; `laneFailureStopsBroker` plants the bug its checks must catch. */
export function createLaneIsolationWorkload(options: { readonly laneFailureStopsBroker?: boolean } = {}): Workload {
  const planted = options.laneFailureStopsBroker === true;
  return {
    name: `lane-isolation${planted ? "-lane-failure-stops-broker" : ""}`,
    description: "one partition's files fail with EIO on every write and fdatasync: its publishers get error acks and its reader DiskFailed; the other partitions keep acking and serve every acked record" + (planted ? " (planted bug: laneFailureStopsBroker)" : ""),
    defaultDurationMs: 1000,
    run: (sim, runOptions) => new LaneIsolationRun(sim, sim.random("swarm"), planted).run(runOptions),
  };
}

class LaneIsolationRun {
  private readonly disk: SimDisk;
  private readonly node: SimBrokerNode;
  private readonly client: SimNatsConnection;
  private readonly codec = createWireCodec();
  private readonly seen: PartitionSeen[] = [];
  private readonly failed: number;
  private faultAtMs: number | undefined;
  private failure: string | undefined;
  private n = 0;

  constructor(
    private readonly sim: Simulation,
    private readonly swarm: SimRandom,
    planted: boolean,
  ) {
    this.disk = new SimDisk({ random: sim.random("disk"), nowMs: () => sim.nowMs, faults: { latencyMsMax: swarm.between("diskLatencyMsMax", 0, 5) } });
    const server = new SimNatsServer(sim, sim.random("nats"), NO_SIM_NATS_FAULTS);
    this.client = server.connect("c");
    const config: BrokerConfig = {
      serverId: nodeId("b1"), namespace: "sim", host: "sim", port: 9292, dataDir: "",
      streamDefaults: { ...LIFTBRIDGE_STREAM_DEFAULTS, segmentMaxBytes: swarm.pick("segmentMaxBytes", [512, 65536]) },
      syncPolicy: swarm.pick("syncPolicy", ["always", "interval"] as const), syncIntervalMs: swarm.between("syncIntervalMs", 1, 50),
      replicationMaxBytes: 1_048_576, batchMaxMessages: 1024, subscriberBatchMaxBytes: 65536,
      hwCheckpointIntervalMs: swarm.between("hwCheckpointIntervalMs", 20, 200),
      ...(planted ? { plantedBugs: { laneFailureStopsBroker: true } } : {}),
    };
    this.node = new SimBrokerNode(sim, this.disk, server.connect("b1"), this.codec, config);
    this.node.onEffect = (e) => this.onEffect(e);
    this.failed = swarm.int("failedPartition", PARTITIONS);
    for (let i = 0; i < PARTITIONS; i++) this.seen.push({ sentAtMs: new Map(), okAcks: new Map(), errorAcks: 0, okAfterFault: 0, ended: undefined, subscriptionId: 1000 + i });
    this.client.subscribe("acks", "", (m) => this.onAck(m.data));
  }

  run(options: WorkloadOptions): WorkloadOutcome {
    this.sim.addInvariant("laneIsolation", () => this.failure);
    this.node.start();
    this.node.input((t) => ({ kind: "apiRequest", requestId: 1, request: { kind: "createStream", name: STREAM, subject: STREAM, group: "", replicationFactor: 1, partitions: PARTITIONS, overrides: {} }, ...t }));
    this.sim.runUntil(options.durationMs, options.maxEvents);
    // Let what is in flight land before the final reads.
    this.sim.runUntil(options.durationMs + 100, options.maxEvents);
    this.failure ??= this.check();
    const s = this.seen;
    return {
      ok: this.failure === undefined,
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      counters: {
        okAcks: s.reduce((n, p) => n + p.okAcks.size, 0), errorAcks: s.reduce((n, p) => n + p.errorAcks, 0),
        okAfterFault: s.reduce((n, p) => n + p.okAfterFault, 0), failedPartition: this.failed,
      },
    };
  }

  private onEffect(effect: BrokerEffect): void {
    if (effect.kind === "apiResponse" && effect.requestId === 1) {
      if (!effect.result.ok) return this.fail(`createStream failed: ${effect.result.error.code}`);
      return this.created();
    }
    if (effect.kind === "subscriptionRecords") {
      const id = effect.subscriptionId;
      this.sim.scheduleAfter(1, "subscriber ready", () => this.node.input((t) => ({ kind: "subscriptionReady", subscriptionId: id, ...t })));
    } else if (effect.kind === "subscriptionEnded") {
      const p = this.seen.find((s) => s.subscriptionId === effect.subscriptionId);
      if (p !== undefined) p.ended = effect.error.code;
    }
  }

  /** The stream exists: subscribe to every partition, start the publishers, and schedule the fault. */
  private created(): void {
    for (let i = 0; i < PARTITIONS; i++) {
      const subscriptionId = (this.seen[i] as PartitionSeen).subscriptionId;
      this.node.input((t) => ({
        kind: "subscribe", subscriptionId, ...t,
        request: { stream: STREAM, partition: i, startPosition: "EARLIEST", startOffset: 0, startTimestampNs: 0n, stopPosition: "STOP_ON_CANCEL", stopOffset: 0, stopTimestampNs: 0n, resume: false, readIsrReplica: false },
      }));
      this.publishLoop(i);
    }
    this.sim.scheduleAfter(this.swarm.between("faultAfterMs", 20, 200), "disk fault", () => {
      this.faultAtMs = this.sim.nowMs;
      this.sim.trace(`fail paths of ${STREAM}/${this.failed}`);
      this.disk.failPaths(`streams/${STREAM}/${this.failed}/`);
    });
  }

  private publishLoop(partition: number): void {
    const value = `v${partition}-${this.n++}`;
    const bytes = new TextEncoder().encode(value);
    const subject = partitionSubject(STREAM, partition);
    (this.seen[partition] as PartitionSeen).sentAtMs.set(value, this.sim.nowMs);
    this.client.publish(subject, "", this.codec.encodePublish({ key: null, value: bytes, headers: [], ackInbox: "acks", correlationId: value, ackPolicy: "LEADER", expectedOffset: -1 }, STREAM, subject));
    this.sim.scheduleAfter(this.swarm.between("publishEveryMs", 1, 10), "publish", () => this.publishLoop(partition));
  }

  private onAck(data: Uint8Array): void {
    const ack = decodeAckForSim(data);
    if (ack === undefined) return this.fail("undecodable ack");
    const partition = Number(/^v(\d+)-/.exec(ack.correlationId)?.[1]);
    const p = this.seen[partition];
    const sentAtMs = p?.sentAtMs.get(ack.correlationId);
    if (p === undefined || sentAtMs === undefined) return this.fail(`ack for ${ack.correlationId}, which nobody sent`);
    if (ack.ackError !== "OK") {
      p.errorAcks++;
      if (partition !== this.failed) this.fail(`healthy partition ${partition} answered ${ack.correlationId} with ${ack.ackError} after ${STREAM}/${this.failed} failed`);
      return;
    }
    p.okAcks.set(ack.correlationId, ack.offset);
    const afterFault = this.faultAtMs !== undefined && sentAtMs > this.faultAtMs;
    if (afterFault) p.okAfterFault++;
    if (afterFault && partition === this.failed) this.fail(`${ack.correlationId}, sent to the failed partition after its disk failed, was acked OK`);
  }

  private check(): string | undefined {
    if (this.faultAtMs === undefined) return "the fault never happened";
    for (let i = 0; i < PARTITIONS; i++) {
      const p = this.seen[i] as PartitionSeen;
      if (i === this.failed) {
        // Error acks come only for publishes waiting on the failed write; when the failing op was a
        // timer's (a checkpoint) none was waiting, and later publishes find no subscriber (as in
        // Liftbridge, a stopped partition answers nothing): not acking OK is what must hold.
        if (p.ended !== "DiskFailed") return `the failed partition's subscriber ended with ${String(p.ended)}, not DiskFailed`;
        continue;
      }
      if (p.ended !== undefined) return `healthy partition ${i}'s subscriber ended with ${p.ended}`;
      if (p.okAfterFault < MIN_ACKS_AFTER_FAULT) return `healthy partition ${i} acked only ${p.okAfterFault} messages sent after ${STREAM}/${this.failed} failed`;
      const missing = this.unreadable(i, p);
      if (missing !== undefined) return missing;
    }
    return undefined;
  }

  /** The first value acked on a healthy partition that its log does not hold at the acked offset. */
  private unreadable(partition: number, p: PartitionSeen): string | undefined {
    const log = this.node.broker?.view.partitions.get(`${STREAM}\u0000${partition}`)?.log;
    if (log === undefined) return `healthy partition ${partition} has no log`;
    for (const [value, at] of p.okAcks) {
      const read = log.read(offset(at), offset(at), 1 << 20);
      const got = read.ok ? read.value.records[0] : undefined;
      const text = got?.value === null || got === undefined ? undefined : new TextDecoder().decode(got.value);
      if (text !== value) return `acked ${value} at ${STREAM}/${partition}@${at} reads back as ${String(text)}${read.ok ? "" : ` (${read.error.code})`}`;
    }
    return undefined;
  }

  private fail(message: string): void {
    this.failure ??= `${message} (at ${this.sim.nowMs} ms)`;
  }
}
