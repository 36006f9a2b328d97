// The simulator's NATS: core pub/sub routed by the same Sublist the embedded server uses, with
// queue groups picked from a seeded Random. Delivery is a callback; the simulation decides when
// (and whether) each delivery happens, so network delay and loss stay in one place.
import { assert } from "../src/core/assert.js";
import { Sublist } from "../src/core/nats/sublist.js";
import type { Random } from "../src/core/random.js";

/** A message as a subscriber receives it. */
export interface SimNatsMessage {
  readonly subject: string;
  readonly reply: string;
  readonly data: Uint8Array;
}

/** A subscriber's delivery callback. */
export type SimNatsHandler = (message: SimNatsMessage) => void;

/** In-memory NATS routing for the simulator. */
export class SimNats {
  private readonly sublist = new Sublist<SimNatsHandler>();
  private nextHandle = 1;
  published = 0;
  delivered = 0;

  constructor(private readonly random: Random) {}

  /** Subscribes `handler` to `subject` (wildcards allowed) in an optional queue group; returns a handle. */
  subscribe(subject: string, queue: string, handler: SimNatsHandler): number {
    const handle = this.nextHandle++;
    const inserted = this.sublist.insert({ key: String(handle), subject, queue: queue.length > 0 ? queue : undefined, value: handler });
    assert(inserted.ok, `simulated subscription to ${subject} is valid`);
    return handle;
  }

  /** Removes a subscription. */
  unsubscribe(handle: number): void {
    this.sublist.remove(String(handle));
  }

  /** Routes a publish to every matching subscriber (one per queue group), synchronously. */
  publish(subject: string, reply: string, data: Uint8Array): void {
    this.published++;
    for (const handler of this.sublist.match(subject, this.random)) {
      this.delivered++;
      handler({ subject, reply, data });
    }
  }
}
