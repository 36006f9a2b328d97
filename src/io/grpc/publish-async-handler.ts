// PublishAsync (spec §2.5): one ack inbox subscription per gRPC stream, `<namespace>.ack.<nuid>`,
// overriding every request's ackInbox; acks are answered as PublishResponse{correlationId, ack},
// failures as PublishResponse{correlationId, ack: {}, asyncError} and the stream goes on. On the
// client's half-close the server waits up to 5 s for in-flight acks before ending the call.
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";
import type { Subscription } from "nats";
import type { OperatingError, Result } from "../../core/errors.js";
import type { ApiResponse } from "../../core/broker/api-types.js";
import type { BrokerService } from "../broker-service.js";
import type { Logger } from "../logger.js";
import { AckPolicy, PublishAsyncErrorCode } from "../wire/api-types.js";
import { decodeAckEnvelope, newAckInbox } from "./ack-inbox.js";
import type { Decoded } from "./api-service-definition.js";
import type { AsyncError } from "./grpc-status.js";
import { asyncErrorCodeOf, asyncErrorOfAck, endWithStatus } from "./grpc-status.js";
import { publishRequestOf } from "./request-mapping.js";
import { encodePublishResponse } from "./response-encoding.js";
import { attempt, messageOf } from "./attempt.js";

type PublishAsyncCall = ServerDuplexStream<Decoded<"PublishAsync">, Uint8Array>;

/** How long a half-closed PublishAsync stream waits for in-flight acks (Liftbridge's asyncAckTimeout). */
export const ASYNC_ACK_TIMEOUT_MS = 5000;
/** Core requests a stream may have outstanding before it stops reading from the client. */
const MAX_PENDING_REQUESTS = 1024;
const EMPTY_ACK: Uint8Array = new Uint8Array(0);

/** The state of one PublishAsync call. */
class PublishAsyncSession {
  private readonly ackInbox: string;
  private readonly subscription: Subscription;
  private flushed = false;
  private readonly subscribed: Promise<void>;
  /** Requests sent with an ack policy other than NONE whose ack has not come back. */
  private inflight = 0;
  /** Requests the core has not answered yet. */
  private pendingRequests = 0;
  private halfClosed = false;
  private finished = false;
  private paused = false;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly service: BrokerService,
    private readonly call: PublishAsyncCall,
    private readonly logger: Logger | undefined,
  ) {
    this.ackInbox = newAckInbox(service.namespace);
    this.subscription = service.nats.subscribe(this.ackInbox, { callback: (error, msg) => error === null && this.onAck(msg.data) });
    // Requests wait until the NATS server has the inbox subscription, so no ack can miss it.
    this.subscribed = service.nats.flush().then(
      () => {
        this.flushed = true;
      },
      (e: unknown) => {
        // NATS is going away: requests still go to the broker, which reports what fails.
        this.flushed = true;
        this.logger?.warn({ ackInbox: this.ackInbox, error: messageOf(e) }, "PublishAsync: flushing the ack inbox subscription failed");
      },
    );
    call.on("data", (request: Decoded<"PublishAsync">) => this.onRequest(request));
    call.on("end", () => this.onHalfClose());
    call.on("cancelled", () => this.finish(false));
    call.on("drain", () => this.updateFlow());
  }

  private onRequest(decoded: Decoded<"PublishAsync">): void {
    if (this.finished) return;
    if (!decoded.ok) {
      this.sendError("", { code: PublishAsyncErrorCode.BAD_REQUEST, message: decoded.error.message });
      return;
    }
    const r = decoded.value;
    const request = publishRequestOf(r, this.ackInbox);
    const expectAck = r.ackPolicy !== AckPolicy.NONE;
    if (expectAck) this.inflight++;
    this.pendingRequests++;
    this.updateFlow();
    const send = (): Promise<Result<ApiResponse>> => attempt(() => this.service.request(request));
    const answer = this.flushed ? send() : this.subscribed.then(send);
    answer.then(
      (result) => this.onAnswer(r.correlationId, expectAck, result.ok ? undefined : result.error),
      (e: unknown) => this.onAnswer(r.correlationId, expectAck, { code: "Internal", message: messageOf(e) }),
    );
  }

  private onAnswer(correlationId: string, expectAck: boolean, error: OperatingError | undefined): void {
    this.pendingRequests--;
    if (error !== undefined) {
      if (expectAck) this.inflight = Math.max(0, this.inflight - 1);
      this.sendError(correlationId, { code: asyncErrorCodeOf(error.code), message: error.message });
    }
    this.updateFlow();
    this.maybeFinish();
  }

  private onAck(data: Uint8Array): void {
    if (this.finished) return;
    const received = decodeAckEnvelope(data);
    if (!received.ok) {
      this.logger?.warn({ ackInbox: this.ackInbox, error: received.error.message }, "invalid ack on PublishAsync inbox");
      return;
    }
    this.inflight = Math.max(0, this.inflight - 1);
    const { ack, payload } = received.value;
    const asyncError = asyncErrorOfAck(ack.ackError);
    if (asyncError !== undefined) this.sendError(ack.correlationId, asyncError);
    else this.write(encodePublishResponse(payload, ack.correlationId));
    this.maybeFinish();
  }

  private sendError(correlationId: string, error: AsyncError): void {
    // An empty Ack alongside the error, as Liftbridge sends for clients unaware of asyncError.
    this.write(encodePublishResponse(EMPTY_ACK, correlationId, error));
  }

  private write(bytes: Uint8Array): void {
    if (this.finished) return;
    if (!this.call.write(bytes)) this.updateFlow();
  }

  /** Stops reading requests while the core or the client is behind, and resumes when caught up. */
  private updateFlow(): void {
    if (this.finished) return;
    const behind = this.pendingRequests >= MAX_PENDING_REQUESTS || this.call.writableNeedDrain;
    if (behind && !this.paused) {
      this.paused = true;
      this.call.pause();
    } else if (!behind && this.paused && this.pendingRequests < MAX_PENDING_REQUESTS / 2) {
      this.paused = false;
      this.call.resume();
    }
  }

  private onHalfClose(): void {
    this.halfClosed = true;
    this.closeTimer = setTimeout(() => this.finish(true), ASYNC_ACK_TIMEOUT_MS);
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.halfClosed && this.inflight === 0 && this.pendingRequests === 0) this.finish(true);
  }

  private finish(endCall: boolean): void {
    if (this.finished) return;
    this.finished = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.subscription.unsubscribe();
    if (endCall) this.call.end();
  }
}

/** Handles PublishAsync. */
export function handlePublishAsync(service: BrokerService, call: PublishAsyncCall, logger: Logger | undefined): void {
  try {
    new PublishAsyncSession(service, call, logger);
  } catch (e) {
    // The inbox subscription failed (NATS connection closed): end the call rather than grpc-js.
    endWithStatus(call, { code: Status.UNAVAILABLE, details: `cannot subscribe to an ack inbox: ${messageOf(e)}` });
  }
}
