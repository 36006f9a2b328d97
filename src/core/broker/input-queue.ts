// Inputs waiting for a broker, shared by every driver (production and simulator): consecutive NATS
// deliveries leave as ONE natsMessages input, so everything that arrived while the broker was busy
// becomes one group-commit batch.
import type { InputTime } from "../outputs.js";
import type { BrokerInput } from "./broker.js";
import type { NatsDelivery } from "./partition.js";

/** An input whose time is filled in when it is taken. */
export type InputMaker = (time: InputTime) => BrokerInput;

type Queued = { readonly delivery: NatsDelivery } | { readonly make: InputMaker };

/** A FIFO of broker inputs that coalesces runs of NATS deliveries. */
export class BrokerInputQueue {
  private items: Queued[] = [];
  private head = 0;

  /** Queues an input. */
  push(make: InputMaker): void {
    this.items.push({ make });
  }

  /** Queues a NATS delivery. */
  pushDelivery(delivery: NatsDelivery): void {
    this.items.push({ delivery });
  }

  /** Inputs waiting. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Drops everything (the broker crashed). */
  clear(): void {
    this.items = [];
    this.head = 0;
  }

  /** The next input, stamped with `time`, or undefined when none waits. */
  next(time: InputTime): BrokerInput | undefined {
    const first = this.items[this.head];
    if (first === undefined) return undefined;
    this.head++;
    let input: BrokerInput;
    if ("make" in first) {
      input = first.make(time);
    } else {
      const messages = [first.delivery];
      for (let item = this.items[this.head]; item !== undefined && "delivery" in item; item = this.items[this.head]) {
        messages.push(item.delivery);
        this.head++;
      }
      input = { kind: "natsMessages", messages, ...time };
    }
    if (this.head === this.items.length) this.clear();
    return input;
  }
}
