// Subscribe (spec §2.5): the empty Message{} handshake first, then one Message per committed
// record, then a terminal status. Flow control: the broker sends the next chunk only after ready(),
// and ready() is called once the last write of a chunk has been taken by the HTTP/2 stream, so at
// most one chunk sits in grpc-js's buffers and a slow client slows the reads down.
import type { ServerWritableStream } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";
import type { SubscriberRecord } from "../../core/broker/api-types.js";
import type { OperatingError } from "../../core/errors.js";
import type { BrokerService, SubscriptionHandle, SubscriptionSink } from "../broker-service.js";
import type { Decoded } from "./api-service-definition.js";
import type { GrpcStatus } from "./grpc-status.js";
import { endWithStatus, statusOf } from "./grpc-status.js";
import { subscribeRequestOf } from "./request-mapping.js";
import { EMPTY_RESPONSE, encodeSubscriberMessages } from "./response-encoding.js";
import { attempt, messageOf } from "./attempt.js";

type SubscribeCall = ServerWritableStream<Decoded<"Subscribe">, Uint8Array>;

/** One Subscribe call: the sink the broker writes to. */
class SubscribeSession implements SubscriptionSink {
  private handle: SubscriptionHandle | undefined;
  private done = false;
  /** Sink calls that came before the handshake was written, replayed after it. */
  private early: (() => void)[] | undefined = [];

  constructor(private readonly call: SubscribeCall) {
    call.on("cancelled", () => {
      this.done = true;
      this.handle?.cancel();
    });
  }

  started(handle: SubscriptionHandle): void {
    this.handle = handle;
    if (this.done) {
      handle.cancel();
      return;
    }
    this.call.write(EMPTY_RESPONSE);
    const early = this.early ?? [];
    this.early = undefined;
    for (const replay of early) replay();
  }

  failed(s: GrpcStatus): void {
    if (this.done) return;
    this.done = true;
    endWithStatus(this.call, s);
  }

  records(stream: string, partition: number, records: readonly SubscriberRecord[]): void {
    if (this.early !== undefined) {
      this.early.push(() => this.records(stream, partition, records));
      return;
    }
    if (this.done) return;
    const handle = this.handle!;
    if (records.length === 0) {
      setImmediate(() => handle.ready());
      return;
    }
    const messages = encodeSubscriberMessages(stream, partition, records);
    const last = messages.length - 1;
    for (let i = 0; i < last; i++) this.call.write(messages[i]!);
    this.call.write(messages[last]!, () => {
      if (!this.done) handle.ready();
    });
  }

  end(error: OperatingError): void {
    if (this.early !== undefined) {
      this.early.push(() => this.end(error));
      return;
    }
    this.failed(statusOf(error));
  }
}

/** Handles Subscribe over the broker's subscribe(). */
export function handleSubscribe(service: BrokerService, call: SubscribeCall): void {
  const decoded = call.request;
  const request = decoded.ok ? subscribeRequestOf(decoded.value) : decoded;
  if (!request.ok) {
    endWithStatus(call, statusOf(request.error));
    return;
  }
  const session = new SubscribeSession(call);
  attempt(() => service.subscribe(request.value, session)).then(
    (result) => (result.ok ? session.started(result.value) : session.failed(statusOf(result.error))),
    (e: unknown) => session.failed({ code: Status.INTERNAL, details: messageOf(e) }),
  );
}
