// One broker in the simulator: the real Broker core over a SimDisk and SimNats, driven exactly as
// the production driver drives it. Persist ops are applied in order; each fdatasync/syncDir takes
// virtual time (SimDisk latency) and only completes then, so a crash in between loses what was not
// yet durable. Like production, the broker takes no new input while a persist is in flight, and
// sendAfterPersist / replyAfterPersist are released only after `persisted`.
import { assert } from "../src/core/assert.js";
import { applyDiskOp, DiskError, type DiskOp } from "../src/core/disk.js";
import type { InputTime, NatsSubscriptionChange, Send } from "../src/core/outputs.js";
import { timestampNs } from "../src/core/types.js";
import type { BrokerEffect } from "../src/core/broker/api-types.js";
import { Broker, type BrokerInput, type BrokerOutputs } from "../src/core/broker/broker.js";
import type { BrokerConfig } from "../src/core/broker/broker-config.js";
import type { NatsDelivery } from "../src/core/broker/partition.js";
import { failHeldReplies } from "../src/core/broker/failed-persist.js";
import { BrokerInputQueue, type InputMaker } from "../src/core/broker/input-queue.js";
import type { WireCodec } from "../src/core/broker/wire-codec.js";
import type { SimDisk } from "./sim-disk.js";
import type { SimNats } from "./sim-nats.js";
import type { Simulation } from "./simulation.js";


/** A simulated broker process that can crash and restart. */
export class SimBrokerNode {
  broker: Broker | undefined;
  /** Bumped on every crash so completions scheduled before it are ignored. */
  private generation = 0;
  private busy = false;
  private readonly queued = new BrokerInputQueue();
  private readonly natsHandles = new Map<number, number>();
  private deadline: { at: number; handle: ReturnType<Simulation["scheduleAt"]> } | undefined;
  /** Receives every effect (API responses, subscription records, ...). */
  onEffect: (effect: BrokerEffect) => void = () => undefined;
  crashes = 0;

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

  /** Starts (or restarts) the broker from what is on its disk. */
  start(): void {
    assert(this.broker === undefined, "a simulated broker is started only when it is down");
    const opened = Broker.open({ reader: this.disk, codec: this.codec, random: this.random }, this.config, this.time());
    this.broker = opened.broker;
    this.busy = true;
    this.apply(opened.outputs, this.generation);
  }

  /** Power loss: the process dies and the disk keeps only what was durable. */
  crash(): void {
    this.generation++;
    this.crashes++;
    this.broker = undefined;
    this.busy = false;
    this.queued.clear();
    for (const handle of this.natsHandles.values()) this.nats.unsubscribe(handle);
    this.natsHandles.clear();
    if (this.deadline !== undefined) this.sim.cancel(this.deadline.handle);
    this.deadline = undefined;
    this.disk.crash();
  }

  /** Feeds an input now, or as soon as the in-flight persist completes. Dropped while crashed. */
  input(make: InputMaker): void {
    if (this.broker === undefined) return;
    this.queued.push(make);
    if (!this.busy) this.next();
  }

  /** Delivers a NATS message; deliveries that wait behind a persist are batched together. */
  deliver(delivery: NatsDelivery): void {
    if (this.broker === undefined) return;
    this.queued.pushDelivery(delivery);
    if (!this.busy) this.next();
  }

  private next(): void {
    const input = this.queued.next(this.time());
    if (input !== undefined) this.stepWith(input);
  }

  private stepWith(input: BrokerInput): void {
    const broker = this.broker;
    if (broker === undefined) return;
    this.busy = true;
    this.apply(broker.step(input), this.generation);
  }

  private apply(out: BrokerOutputs, generation: number): void {
    for (const change of out.natsSubscriptions) this.applyNatsEffect(change);
    for (const s of out.send) this.publish(s);
    for (const e of out.reply) this.onEffect(e);
    for (const l of out.log) this.sim.trace(`log ${this.config.serverId} ${l.level} ${l.msg}${l.level === "debug" || l.level === "info" || l.fields === undefined ? "" : ` ${describeFields(l.fields)}`}`);
    if (out.persistToken === undefined) {
      this.afterPersist(out, generation);
      return;
    }
    this.persistFrom(out, 0, generation);
  }

  /** Applies persist ops from `index` on; a sync op completes after its latency. */
  private persistFrom(out: BrokerOutputs, index: number, generation: number): void {
    for (let i = index; i < out.persist.length; i++) {
      const op = out.persist[i] as DiskOp;
      if (op.kind === "fdatasync" || op.kind === "syncDir") {
        this.sim.scheduleAfter(this.disk.latencyMs(op.kind), `disk ${this.config.serverId} ${op.kind}`, () => {
          if (generation !== this.generation) return;
          if (this.applyOp(op, out, generation)) this.persistFrom(out, i + 1, generation);
        });
        return;
      }
      if (!this.applyOp(op, out, generation)) return;
    }
    this.completePersist(out, generation, undefined);
  }

  private applyOp(op: DiskOp, out: BrokerOutputs, generation: number): boolean {
    try {
      applyDiskOp(this.disk, op);
      return true;
    } catch (e) {
      if (!(e instanceof DiskError)) throw e;
      this.completePersist(out, generation, e);
      return false;
    }
  }

  private completePersist(out: BrokerOutputs, generation: number, error: DiskError | undefined): void {
    const token = out.persistToken as number;
    const broker = this.broker;
    if (broker === undefined || generation !== this.generation) return;
    if (error === undefined) this.afterPersist(out, generation);
    else for (const e of failHeldReplies(out.replyAfterPersist, error)) this.onEffect(e);
    const time = this.time();
    const next = error === undefined ? broker.step({ kind: "persisted", token, ...time }) : broker.step({ kind: "persistFailed", token, error, ...time });
    this.apply(next, generation);
  }

  private afterPersist(out: BrokerOutputs, generation: number): void {
    if (generation !== this.generation) return;
    for (const s of out.sendAfterPersist) this.publish(s);
    for (const e of out.replyAfterPersist) this.onEffect(e);
    if (out.persistToken === undefined) this.idle();
  }

  private idle(): void {
    this.busy = false;
    this.armDeadline();
    this.next();
  }

  private armDeadline(): void {
    const at = this.broker?.nextDeadline();
    if (at === undefined || (this.deadline !== undefined && this.deadline.at === at)) return;
    if (this.deadline !== undefined) this.sim.cancel(this.deadline.handle);
    const generation = this.generation;
    const handle = this.sim.scheduleAt(Math.max(at, this.sim.nowMs), `timer ${this.config.serverId}`, () => {
      this.deadline = undefined;
      if (generation === this.generation) this.input((t) => ({ kind: "tick", ...t }));
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
