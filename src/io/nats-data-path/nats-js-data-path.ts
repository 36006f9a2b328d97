// The data path over a nats.js connection: used where our own protocol client does not go
// (a NATS server that requires TLS, or `nats.tls.*` configured).
import type { NatsConnection } from "nats";
import type { Logger } from "../logger.js";
import type { DataPathCallback, DataPathSubscription, NatsDataPath } from "./nats-data-path.js";

/** A NatsDataPath over a nats.js connection it does not own (close leaves it open). */
export class NatsJsDataPath implements NatsDataPath {
  readonly kind = "nats.js";

  constructor(private readonly nc: NatsConnection, private readonly logger: Logger) {}

  subscribe(subject: string, queue: string, onMessage: DataPathCallback): DataPathSubscription {
    return this.nc.subscribe(subject, {
      ...(queue.length > 0 ? { queue } : {}),
      callback: (error, msg) => {
        if (error !== null) return this.logger.warn({ err: error.message, subject }, "NATS subscription error");
        // A plain Uint8Array view: the envelope decoder slices each message several times, and
        // Buffer's subarray costs twice the built-in one.
        const data = msg.data;
        onMessage(msg.subject, msg.reply ?? "", new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      },
    });
  }

  publish(subject: string, data: Uint8Array, reply: string | undefined): void {
    // As the protocol data path: nats.js would throw, and an ack too large for NATS (a huge
    // correlation id from a NATS envelope) must not stop the broker.
    const maxPayload = this.nc.info?.max_payload;
    if (maxPayload !== undefined && data.length > maxPayload) {
      this.logger.warn({ subject: subject.slice(0, 200), bytes: data.length, maxPayload }, "NATS publish larger than the server's max_payload dropped");
      return;
    }
    this.nc.publish(subject, data, reply === undefined ? undefined : { reply });
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {
    await this.nc.flush().catch(() => undefined);
  }
}
