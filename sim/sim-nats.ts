// The simulator's NATS: a server that routes core pub/sub between client connections with the same
// Sublist the embedded server uses (queue groups picked from a seeded Random), and injects network
// faults per delivery: drop, delay with a long tail, duplication and reordering (when off, each
// publisher-to-subscriber link stays FIFO, as real NATS is), and partitions: the link from one
// connection to another can be cut, one direction at a time. A connection can be disconnected: the
// server forgets its subscriptions and everything in flight to or from it is lost; on reconnect the
// connection resubscribes everything it had, as the real client does. Every delivery is a scheduled
// event of the Simulation, so a seed replays exactly. Brokers, clients and (later) peers of a cluster
// are each a connection; broker-to-broker messages are just subjects routed through here.
import { assert } from "../src/core/assert.js";
import { Sublist } from "../src/core/nats/sublist.js";
import type { SimRandom } from "./sim-random.js";
import type { Simulation } from "./simulation.js";

/** A message as a subscriber receives it. */
export interface SimNatsMessage {
  readonly subject: string;
  readonly reply: string;
  readonly data: Uint8Array;
}

/** A subscriber's delivery callback. */
export type SimNatsHandler = (message: SimNatsMessage) => void;

/** What a NATS client connection offers (the broker node and the workload's clients use only this). */
export interface SimNats {
  /** Subscribes `handler` to `subject` (wildcards allowed) in an optional queue group; returns a handle. */
  subscribe(subject: string, queue: string, handler: SimNatsHandler): number;
  /** Removes a subscription. */
  unsubscribe(handle: number): void;
  /** Publishes; lost when this connection is down. */
  publish(subject: string, reply: string, data: Uint8Array): void;
}

/** Network fault knobs; per-mille values are probabilities out of 1000. */
export interface SimNatsFaults {
  /** Each delivery is lost with this probability. */
  readonly dropPerMille: number;
  /** Each delivery is delivered twice with this probability. */
  readonly duplicatePerMille: number;
  /** Each delivery takes 0..delayMsMax milliseconds. */
  readonly delayMsMax: number;
  /** With this probability a delivery instead takes up to tailDelayMsMax (the long tail). */
  readonly tailPerMille: number;
  readonly tailDelayMsMax: number;
  /** When false, a link (publisher connection to subscriber connection) delivers in order. */
  readonly reorder: boolean;
}

/** A network without faults: every delivery arrives, once, in order, after 0 ms. */
export const NO_SIM_NATS_FAULTS: SimNatsFaults = { dropPerMille: 0, duplicatePerMille: 0, delayMsMax: 0, tailPerMille: 0, tailDelayMsMax: 0, reorder: false };

/** Draws a seed's network knobs (swarm style: each fault on in some seeds, at a random strength). */
export function drawSimNatsFaults(swarm: SimRandom): SimNatsFaults {
  const on = (label: string): boolean => swarm.chance(label, 1, 2);
  return {
    dropPerMille: on("natsDrops") ? swarm.between("natsDropPerMille", 1, 100) : 0,
    duplicatePerMille: on("natsDuplicates") ? swarm.between("natsDuplicatePerMille", 1, 100) : 0,
    delayMsMax: swarm.pick("natsDelayMsMax", [0, 1, 5, 20]),
    tailPerMille: on("natsTail") ? swarm.between("natsTailPerMille", 1, 50) : 0,
    tailDelayMsMax: swarm.pick("natsTailDelayMsMax", [100, 500, 2000]),
    reorder: on("natsReorder"),
  };
}

interface Subscription {
  readonly connection: SimNatsConnection;
  readonly subject: string;
  readonly queue: string;
  readonly handler: SimNatsHandler;
}

/** Counters of what the network did, for coverage. */
export interface SimNatsCounters {
  published: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  lostToDisconnect: number;
  disconnects: number;
  /** Deliveries lost to a cut link (a partition). */
  cut: number;
}

/** The simulated NATS server and the network between it and its connections. */
export class SimNatsServer {
  private readonly sublist = new Sublist<Subscription>();
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly linkTailMs = new Map<string, number>();
  /** Links cut by a partition, as "from>to" connection names (one direction each). */
  private readonly cutLinks = new Set<string>();
  private nextHandle = 1;
  private faultKnobs: SimNatsFaults;
  readonly counters: SimNatsCounters = { published: 0, delivered: 0, dropped: 0, duplicated: 0, lostToDisconnect: 0, disconnects: 0, cut: 0 };

  constructor(
    private readonly sim: Simulation,
    private readonly random: SimRandom,
    faults: SimNatsFaults = NO_SIM_NATS_FAULTS,
  ) {
    this.faultKnobs = faults;
  }

  /** The current fault knobs. */
  get faults(): SimNatsFaults {
    return this.faultKnobs;
  }

  /** Changes the fault knobs (NO_SIM_NATS_FAULTS heals the network); deliveries in flight keep theirs. */
  setFaults(faults: SimNatsFaults): void {
    this.faultKnobs = faults;
  }

  /**
   * Cuts (or restores) the link from connection `from` to connection `to` (by name), one direction
   * only, so partitions can be asymmetric: deliveries are lost when published and when they arrive.
   */
  setLinkCut(from: string, to: string, cut: boolean): void {
    if (cut) this.cutLinks.add(`${from}>${to}`);
    else this.cutLinks.delete(`${from}>${to}`);
  }

  /** Restores every cut link (heals every partition). */
  healLinks(): void {
    this.cutLinks.clear();
  }

  /** True when the link from `from` to `to` is cut. */
  isLinkCut(from: string, to: string): boolean {
    return this.cutLinks.size > 0 && this.cutLinks.has(`${from}>${to}`);
  }

  /** Opens a client connection named `name` (names appear in the trace and must be unique). */
  connect(name: string): SimNatsConnection {
    return new SimNatsConnection(this, name);
  }

  /** @internal Registers a subscription of a connected connection. */
  insert(handle: number, subscription: Subscription): void {
    const inserted = this.sublist.insert({ key: String(handle), subject: subscription.subject, queue: subscription.queue.length > 0 ? subscription.queue : undefined, value: subscription });
    assert(inserted.ok, `simulated subscription to ${subscription.subject} is valid`);
    this.subscriptions.set(handle, subscription);
  }

  /** @internal Forgets a subscription (unsubscribe, or its connection went down). */
  remove(handle: number): void {
    this.sublist.remove(String(handle));
    this.subscriptions.delete(handle);
  }

  /** @internal A fresh subscription handle. */
  allocateHandle(): number {
    return this.nextHandle++;
  }

  /** @internal Routes a publish from `from` to every matching subscription (one per queue group). */
  route(from: SimNatsConnection, subject: string, reply: string, data: Uint8Array): void {
    this.counters.published++;
    for (const subscription of this.sublist.match(subject, this.random)) {
      const copies = this.random.chance("natsDuplicate", this.faultKnobs.duplicatePerMille, 1000) ? 2 : 1;
      if (copies === 2) this.counters.duplicated++;
      for (let i = 0; i < copies; i++) this.deliverLater(from, subscription, { subject, reply, data });
    }
  }

  private deliverLater(from: SimNatsConnection, subscription: Subscription, message: SimNatsMessage): void {
    const to = subscription.connection;
    // Checked before any draw, so runs without partitions replay exactly as before.
    if (this.isLinkCut(from.name, to.name)) {
      this.counters.cut++;
      return;
    }
    if (this.random.chance("natsDrop", this.faultKnobs.dropPerMille, 1000)) {
      this.counters.dropped++;
      return;
    }
    const atMs = this.deliveryTimeMs(`${from.name}>${to.name}`);
    const epoch = to.epoch;
    this.sim.scheduleAt(atMs, `nats ${from.name}>${to.name} ${message.subject}`, () => {
      if (to.epoch !== epoch || !to.has(subscription)) {
        this.counters.lostToDisconnect++;
        return;
      }
      if (this.isLinkCut(from.name, to.name)) {
        this.counters.cut++;
        return;
      }
      this.counters.delivered++;
      subscription.handler(message);
    });
  }

  /** When a delivery on `link` arrives: a drawn delay (maybe from the tail), FIFO per link unless reordering. */
  private deliveryTimeMs(link: string): number {
    const f = this.faultKnobs;
    const tail = this.random.chance("natsTail", f.tailPerMille, 1000);
    const delayMs = tail ? this.random.between("natsTailDelayMs", 0, f.tailDelayMsMax) : this.random.between("natsDelayMs", 0, f.delayMsMax);
    let atMs = this.sim.nowMs + delayMs;
    if (!f.reorder) atMs = Math.max(atMs, this.linkTailMs.get(link) ?? 0);
    this.linkTailMs.set(link, atMs);
    return atMs;
  }
}

/** One client connection to the simulated server; keeps its subscriptions across disconnects. */
export class SimNatsConnection implements SimNats {
  private readonly own = new Map<number, Subscription>();
  private up = true;
  /** Bumped on every disconnect so deliveries in flight to the old socket are lost. */
  epoch = 0;

  constructor(
    private readonly server: SimNatsServer,
    readonly name: string,
  ) {}

  /** Whether the connection is up. */
  get connected(): boolean {
    return this.up;
  }

  subscribe(subject: string, queue: string, handler: SimNatsHandler): number {
    const handle = this.server.allocateHandle();
    const subscription: Subscription = { connection: this, subject, queue, handler };
    this.own.set(handle, subscription);
    if (this.up) this.server.insert(handle, subscription);
    return handle;
  }

  unsubscribe(handle: number): void {
    if (!this.own.delete(handle)) return;
    this.server.remove(handle);
  }

  publish(subject: string, reply: string, data: Uint8Array): void {
    if (!this.up) {
      this.server.counters.lostToDisconnect++;
      return;
    }
    this.server.route(this, subject, reply, data);
  }

  /** @internal Whether `subscription` is still one of this connection's. */
  has(subscription: Subscription): boolean {
    for (const s of this.own.values()) if (s === subscription) return true;
    return false;
  }

  /** The socket breaks: the server drops this connection's subscriptions; in-flight messages are lost. */
  disconnect(): void {
    if (!this.up) return;
    this.up = false;
    this.epoch++;
    this.server.counters.disconnects++;
    for (const handle of this.own.keys()) this.server.remove(handle);
  }

  /** The client reconnects and resubscribes everything it had (as the real client does). */
  reconnect(): void {
    if (this.up) return;
    this.up = true;
    for (const [handle, subscription] of this.own) this.server.insert(handle, subscription);
  }
}
