// The seam between the gRPC API layer and the broker driver: what the API can ask of a running
// broker. The driver implements it over the core; tests may implement it directly.
import type { NatsConnection } from "nats";
import type { ApiRequest, ApiResponse, SubscribeRequest } from "../core/broker/api-types.js";
import type { StoredRecords } from "../core/log/stored-records.js";
import type { OperatingError, Result } from "../core/errors.js";
import type { Offset } from "../core/types.js";

/** Where a subscription's records go. The driver sends the next chunk only after `ready()`. */
export interface SubscriptionSink {
  /** A chunk of committed records as stored, in offset order; call the handle's ready() once written. */
  records(stream: string, partition: number, records: StoredRecords): void;
  /** The subscription ended (stop offset reached, readonly end, stream deleted, paused, shutdown). */
  end(error: OperatingError): void;
  /** The most bytes the first chunk may hold (default: the broker's batch size). */
  firstChunkMaxBytes?(): number;
}

/** A live subscription. */
export interface SubscriptionHandle {
  readonly startOffset: Offset;
  /** The sink wrote the last chunk and can take another, of at most `maxBytes` (at least one record) when given. */
  ready(maxBytes?: number): void;
  /** The client went away. */
  cancel(): void;
}

/** A running broker, as the API layer sees it. */
export interface BrokerService {
  /** This broker's server id. */
  readonly serverId: string;
  /** `clustering.namespace`, for API-generated ack inboxes (`<namespace>.ack.<nuid>`). */
  readonly namespace: string;
  /** The NATS connection the API uses for ack inboxes and PublishToSubject. */
  readonly nats: NatsConnection;
  /** Runs a unary request through the broker core. */
  request(request: ApiRequest): Promise<Result<ApiResponse>>;
  /** Starts a subscription; records flow to `sink` until it ends or is cancelled. */
  subscribe(request: SubscribeRequest, sink: SubscriptionSink): Promise<Result<SubscriptionHandle>>;
}
