// One broker in the simulator: the real Broker core over a SimDisk and SimNats, driven by the same
// node runtime as production (src/core/runtime/node-runtime.ts). Only the IO differs: the ops
// production runs in libuv's thread pool (fdatasync, large writes; isThreadPoolOp) complete after
// a SimDisk latency through the event queue, everything else at once, as on production's event
// loop; reads (production's fs.read in the thread pool) too, failing as the SimDisk's read faults say. Inputs arriving at one virtual instant are stepped together (one natsMessages batch), like
// one event-loop turn, and the core keeps taking input while persists are in flight.
import { assert } from "../src/core/assert.js";
import { applyDiskOp, DiskError, type DiskOp } from "../src/core/disk.js";
import type { InputTime, NatsSubscriptionChange, Send } from "../src/core/outputs.js";
import { timestampNs, type TimeMs } from "../src/core/types.js";
import type { BrokerEffect } from "../src/core/broker/api-types.js";
import { Broker, type BrokerInput } from "../src/core/broker/broker.js";
import type { BrokerConfig } from "../src/core/broker/broker-config.js";
import type { NatsDelivery } from "../src/core/broker/partition.js";
import { failHeldReplies } from "../src/core/broker/failed-persist.js";
import { BrokerInputQueue, type InputMaker } from "../src/core/broker/input-queue.js";
import type { WireCodec } from "../src/core/broker/wire-codec.js";
import { NodeRuntime, runtimeBugs, type NodeIo } from "../src/core/runtime/node-runtime.js";
import { isThreadPoolOp } from "../src/core/runtime/thread-pool-op.js";
import type { SimDisk } from "./sim-disk.js";
import type { SimNats } from "./sim-nats.js";
import type { Simulation } from "./simulation.js";


/** A simulated broker process that can crash and restart. */
export class SimBrokerNode {
  broker: Broker | undefined;
  private runtime: NodeRuntime<BrokerInput, BrokerEffect> | undefined;
  /** Bumped on every crash so completions scheduled before it are ignored. */
  private generation = 0;
  private drainScheduled = false;
  private readonly queued = new BrokerInputQueue();
  private readonly natsHandles = new Map<number, number>();
  private deadline: { at: number; handle: ReturnType<Simulation["scheduleAt"]> } | undefined;
  /** Called before each step with the broker about to take it (the cluster workload's stale-view check). */
  beforeStep: (broker: Broker) => void = () => undefined;
  /** Called when a thread-pool op (fdatasync, a large write) starts: a workload may crash the node mid-sync. */
  onThreadPoolOp: (op: DiskOp) => void = () => undefined;
  /** Receives every effect (API responses, subscription records, ...). */
  onEffect: (effect: BrokerEffect) => void = () => undefined;
  crashes = 0;
  /** Why the last start was refused. */
  refusal: string | undefined;

  constructor(
    private readonly sim: Simulation,
    readonly disk: SimDisk,
    private readonly nats: SimNats,
    private readonly codec: WireCodec,
    private readonly config: BrokerConfig,
    private readonly random = sim.random(`broker-${config.serverId}`),
  ) {}

  private time(): InputTime {
    return { nowMs: this.sim.nowMs, wallNs: timestampNs(this.sim.wallNs()) };
  }

  /**
   * Starts (or restarts) the broker from what is on its disk; false (the broker stays down, as a
   * process that exits at startup) when it refuses to start, e.g. its metadata read failed.
   */
  start(): boolean {
    assert(this.broker === undefined, "a simulated broker is started only when it is down");
    const opened = Broker.recover({ reader: this.disk, codec: this.codec, random: this.random }, this.config, this.time());
    if (!opened.ok) {
      this.sim.trace(`start refused ${this.config.serverId}: ${opened.error.message}`);
      this.refusal = opened.error.message;
      return false;
    }
    this.broker = opened.value.broker;
    this.runtime = new NodeRuntime(opened.value.broker, this.io(this.generation), runtimeBugs(this.config));
    this.runtime.apply(opened.value.outputs);
    return true;
  }

  /** Power loss: the process dies and the disk keeps only what was durable. */
  crash(): void {
    this.exit();
    this.disk.crash();
  }

  /** The process exits (after a shutdown, or a fatal error) with no power loss: the disk keeps every completed write. */
  exit(): void {
    this.generation++;
    this.crashes++;
    this.runtime?.stop();
    this.runtime = undefined;
    this.broker = undefined;
    this.drainScheduled = false;
    this.queued.clear();
    for (const handle of this.natsHandles.values()) this.nats.unsubscribe(handle);
    this.natsHandles.clear();
    if (this.deadline !== undefined) this.sim.cancel(this.deadline.handle);
    this.deadline = undefined;
  }

  /** Feeds an input at the end of this virtual instant. Dropped while crashed. */
  input(make: InputMaker): void {
    if (this.broker === undefined) return;
    this.queued.push(make);
    this.scheduleDrain();
  }

  /** Delivers a NATS message; deliveries of one virtual instant are batched together. */
  deliver(delivery: NatsDelivery): void {
    if (this.broker === undefined) return;
    this.queued.pushDelivery(delivery);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    const generation = this.generation;
    this.sim.scheduleAfter(0, `step ${this.config.serverId}`, () => {
      if (generation !== this.generation) return;
      this.drainScheduled = false;
      for (let input = this.queued.next(this.time()); input !== undefined && this.runtime !== undefined; input = this.queued.next(this.time())) {
        if (this.broker !== undefined) this.beforeStep(this.broker);
        this.runtime.step(input);
      }
    });
  }

  private io(generation: number): NodeIo<BrokerEffect> {
    return {
      time: () => this.time(),
      startOp: (_lane, op, done) => {
        if (!isThreadPoolOp(op)) return done(this.applyOp(op));
        this.onThreadPoolOp(op);
        this.sim.scheduleAfter(this.disk.latencyMs(op.kind), `disk ${this.config.serverId} ${op.kind}`, () => {
          if (generation === this.generation) done(this.applyOp(op));
        });
      },
      read: (request, done) => {
        this.sim.scheduleAfter(this.disk.latencyMs("read"), `disk ${this.config.serverId} read`, () => {
          if (generation === this.generation) done(this.readNow(request.path, request.position, request.length));
        });
      },
      stepped: (out) => {
        for (const l of out.log) this.sim.trace(`log ${this.config.serverId} ${l.level} ${l.msg}${l.level === "debug" || l.level === "info" || l.fields === undefined ? "" : ` ${describeFields(l.fields)}`}`);
      },
      natsSubscription: (change) => this.applyNatsEffect(change),
      send: (s) => this.publish(s),
      reply: (e) => this.onEffect(e),
      failHeld: failHeldReplies,
      armDeadline: (at) => this.armDeadline(at),
    };
  }

  private applyOp(op: DiskOp): DiskError | undefined {
    try {
      applyDiskOp(this.disk, op);
      return undefined;
    } catch (e) {
      if (!(e instanceof DiskError)) throw e;
      return e;
    }
  }

  private readNow(path: string, position: number, length: number): Uint8Array | DiskError {
    try {
      return this.disk.read(path, position, length);
    } catch (e) {
      if (!(e instanceof DiskError)) throw e;
      return e;
    }
  }

  private armDeadline(at: TimeMs | undefined): void {
    if (this.deadline !== undefined && this.deadline.at === at) return;
    if (this.deadline !== undefined) this.sim.cancel(this.deadline.handle);
    this.deadline = undefined;
    if (at === undefined) return;
    const generation = this.generation;
    const handle = this.sim.scheduleAt(Math.max(at, this.sim.nowMs), `timer ${this.config.serverId}`, () => {
      this.deadline = undefined;
      if (generation !== this.generation) return;
      this.runtime?.deadlineFired();
      this.input((t) => ({ kind: "tick", ...t }));
    });
    this.deadline = { at, handle };
  }

  private publish(s: Send): void {
    this.nats.publish(s.subject, s.reply ?? "", s.data);
  }

  private applyNatsEffect(effect: NatsSubscriptionChange): void {
    if (effect.kind === "natsSubscribe") {
      const sid = effect.sid;
      const handle = this.nats.subscribe(effect.subject, effect.queue, (m) => {
        // Delivered as its own event (FIFO at equal times, like one NATS connection).
        const generation = this.generation;
        this.sim.scheduleAfter(0, `nats ${this.config.serverId} ${m.subject}`, () => {
          if (generation === this.generation) this.deliver({ sid, subject: m.subject, reply: m.reply, data: m.data });
        });
      });
      this.natsHandles.set(sid, handle);
    } else if (effect.kind === "natsUnsubscribe") {
      const handle = this.natsHandles.get(effect.sid);
      if (handle !== undefined) this.nats.unsubscribe(handle);
      this.natsHandles.delete(effect.sid);
    }
  }
}

function describeFields(fields: Readonly<Record<string, string | number | boolean | bigint>>): string {
  return Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(" ");
}
