// The broker's data path over NATS: capturing stream subjects and publishing acks. The driver
// needs only these few operations, so the hot path can run over our own protocol client
// (protocol-data-path.ts) and fall back to nats.js where that client does not go (TLS).

/** Receives the messages of one subscription; `reply` is "" when the message has none. */
export type DataPathCallback = (subject: string, reply: string, data: Uint8Array) => void;

/** One subscription of a data path. */
export interface DataPathSubscription {
  unsubscribe(): void;
}

/** The NATS operations of the broker's data path. */
export interface NatsDataPath {
  /** Which implementation this is, for logs. */
  readonly kind: "protocol" | "nats.js";
  /** Subscribes to `subject` (in queue group `queue` unless it is ""). */
  subscribe(subject: string, queue: string, onMessage: DataPathCallback): DataPathSubscription;
  /** Publishes; sent with the other publishes of the same event-loop turn in one socket write. */
  publish(subject: string, data: Uint8Array, reply: string | undefined): void;
  /** Resolves once the server has processed everything sent before it (a PING/PONG round trip). */
  flush(): Promise<void>;
  /** Flushes what is queued and closes; idempotent. */
  close(): Promise<void>;
}
