// PublishAsync (spec §2.5): one ack inbox subscription per gRPC stream, `<namespace>.ack.<nuid>`,
// overriding every request's ackInbox; acks are answered as PublishResponse{correlationId, ack},
// failures as PublishResponse{correlationId, ack: {}, asyncError} and the stream goes on. On the
// client's half-close the server waits up to 5 s for in-flight acks before ending the call.
// Memory: acks queued to a client that does not read them are capped
// (grpc.publish.async.max.buffered.bytes; past it the stream is reset with ENHANCE_YOUR_CALM,
// which clients report as RESOURCE_EXHAUSTED), and reading stops at half the cap. On a graceful
// stop the call answers what it took, then ends with UNAVAILABLE.
import { constants as http2Constants } from "node:http2";
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
import { http2StreamOf } from "./http2-stream-of.js";
import type { OpenCalls, StoppableCall } from "./open-calls.js";

type PublishAsyncCall = ServerDuplexStream<Decoded<"PublishAsync">, Uint8Array>;

/** How long a half-closed PublishAsync stream waits for in-flight acks (Liftbridge's asyncAckTimeout). */
export const ASYNC_ACK_TIMEOUT_MS = 5000;
/** Core requests a stream may have outstanding before it stops reading from the client. */
const MAX_PENDING_REQUESTS = 1024;
const EMPTY_ACK: Uint8Array = new Uint8Array(0);
/** Default of grpc.publish.async.max.buffered.bytes. */
export const DEFAULT_PUBLISH_ASYNC_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** The state of one PublishAsync call. */
class PublishAsyncSession implements StoppableCall {
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
  /** Bytes of responses written to the call that its HTTP/2 stream has not taken yet. */
  private queuedBytes = 0;
  /** Set once the server stops: the call ends with UNAVAILABLE when its acks are answered. */
  private stopping = false;

  constructor(
    private readonly service: BrokerService,
    private readonly call: PublishAsyncCall,
    private readonly logger: Logger | undefined,
    private readonly maxBufferedBytes: number,
    private readonly calls: OpenCalls | undefined,
  ) {
    calls?.add(this);
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
    if (this.finished || this.stopping) return;
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
    if (error?.code === "Unavailable") {
      // The broker stopped taking requests: end the call with UNAVAILABLE once the rest is answered.
      if (expectAck) this.inflight = Math.max(0, this.inflight - 1);
      this.drainAndEnd();
      return;
    }
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
    this.queuedBytes += bytes.length;
    const flowing = this.call.write(bytes, () => {
      this.queuedBytes -= bytes.length;
    });
    if (this.queuedBytes > this.maxBufferedBytes) return this.overflow();
    if (!flowing || this.queuedBytes >= this.maxBufferedBytes / 2) this.updateFlow();
  }

  /** The client does not read its acks: reset the stream rather than queue more. */
  private overflow(): void {
    this.logger?.warn({ ackInbox: this.ackInbox, queuedBytes: this.queuedBytes }, "ending a PublishAsync whose client does not read its acks");
    const details = `PublishAsync client is not reading its acks: ${this.queuedBytes} bytes queued (grpc.publish.async.max.buffered.bytes)`;
    this.finish(false);
    // Trailers would queue behind the acks the client does not take; ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED to clients.
    const http2 = http2StreamOf(this.call);
    if (http2 !== undefined) http2.close(http2Constants.NGHTTP2_ENHANCE_YOUR_CALM);
    else endWithStatus(this.call, { code: Status.RESOURCE_EXHAUSTED, details });
  }

  /** The broker refused a request (it is stopping): take nothing more, answer what was taken (up to the ack timeout), then UNAVAILABLE. */
  private drainAndEnd(): void {
    if (!this.stopping) {
      this.stopping = true;
      this.call.pause();
      this.closeTimer ??= setTimeout(() => this.finish(true), ASYNC_ACK_TIMEOUT_MS);
    }
    this.maybeFinish();
  }

  /**
   * The server is stopping and the acks in flight over NATS have been delivered (the server
   * flushed its NATS connection first): what has no ack by now never will, so end with UNAVAILABLE.
   */
  stopServing(): Promise<void> {
    this.stopping = true;
    this.finish(true);
    return Promise.resolve();
  }

  /** Stops reading requests while the core or the client is behind, and resumes when caught up. */
  private updateFlow(): void {
    if (this.finished) return;
    if (this.stopping) return;
    const behind = this.pendingRequests >= MAX_PENDING_REQUESTS || this.call.writableNeedDrain || this.queuedBytes >= this.maxBufferedBytes / 2;
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
    if ((this.halfClosed || this.stopping) && this.inflight === 0 && this.pendingRequests === 0) this.finish(true);
  }

  private finish(endCall: boolean): void {
    if (this.finished) return;
    this.finished = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.subscription.unsubscribe();
    this.calls?.remove(this);
    if (endCall && this.stopping) endWithStatus(this.call, { code: Status.UNAVAILABLE, details: "Server shutting down" });
    else if (endCall) this.call.end();
  }
}

/** Handles PublishAsync. */
export function handlePublishAsync(
  service: BrokerService, call: PublishAsyncCall, logger: Logger | undefined,
  maxBufferedBytes = DEFAULT_PUBLISH_ASYNC_MAX_BUFFERED_BYTES, calls?: OpenCalls,
): void {
  try {
    new PublishAsyncSession(service, call, logger, maxBufferedBytes, calls);
  } catch (e) {
    // The inbox subscription failed (NATS connection closed): end the call rather than grpc-js.
    endWithStatus(call, { code: Status.UNAVAILABLE, details: `cannot subscribe to an ack inbox: ${messageOf(e)}` });
  }
}
