// Publish and PublishToSubject (spec §2.5): publish one envelope and, when the call has a deadline
// and the ack policy is not NONE, wait on the ack inbox (subscribed BEFORE publishing) for the
// first ack until the deadline; otherwise answer at once with the ack unset.
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { status as Status } from "@grpc/grpc-js";
import type { Result } from "../../core/errors.js";
import { subjectProblem } from "../../core/nats/subject.js";
import { DEFAULT_MAX_CONTROL_LINE, subscribeLineProblem } from "../../core/nats/control-line.js";
import { payloadTooLarge, publishStringsProblem } from "../../core/broker/broker-api.js";
import type { BrokerService } from "../broker-service.js";
import { AckPolicy } from "../wire/api-types.js";
import { encodePublishEnvelope } from "../wire/envelope.js";
import type { ReceivedAck } from "./ack-inbox.js";
import { AckWaiter, decodeAckEnvelope, newAckInbox } from "./ack-inbox.js";
import type { Decoded } from "./api-service-definition.js";
import type { GrpcStatus } from "./grpc-status.js";
import { boundedDetails, statusOf, statusOfAckError } from "./grpc-status.js";
import { publishRequestOf } from "./request-mapping.js";
import { encodePublishResponse } from "./response-encoding.js";
import { attempt, messageOf } from "./attempt.js";

/** A unary answer: response bytes or a status. */
type Reply = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly status: GrpcStatus };

/** The deadline of a call in epoch ms, or undefined when the client set none. */
export function deadlineMsOf(call: { getDeadline(): Date | number }): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Sends a reply through a unary callback. */
export function sendReply(callback: sendUnaryData<Uint8Array>, reply: Reply): void {
  if (reply.ok) callback(null, reply.bytes);
  else callback({ code: reply.status.code, details: boundedDetails(reply.status.details) });
}

interface PublishStep {
  readonly call: ServerUnaryCall<unknown, Uint8Array>;
  readonly service: BrokerService;
  readonly ackInbox: string;
  readonly ackPolicy: number;
  /** Publishes the message (through the core or straight to NATS). */
  readonly publish: () => Promise<Result<unknown>>;
  /** Turns the first ack into the reply. */
  readonly onAck: (ack: ReceivedAck) => Reply;
}

async function awaitAck(waiter: AckWaiter, deadlineMs: number, onAck: (ack: ReceivedAck) => Reply): Promise<Reply> {
  const outcome = await waiter.next(deadlineMs);
  switch (outcome.kind) {
    case "ack": {
      const ack = decodeAckEnvelope(outcome.data);
      return ack.ok ? onAck(ack.value) : { ok: false, status: statusOf(ack.error) };
    }
    case "timeout":
      return { ok: false, status: { code: Status.DEADLINE_EXCEEDED, details: "context deadline exceeded" } };
    case "cancelled":
      return { ok: false, status: { code: Status.CANCELLED, details: "context canceled" } };
    case "failed":
      return { ok: false, status: { code: Status.INTERNAL, details: `failed to receive ack: ${outcome.message}` } };
  }
}

async function publishAndWait(step: PublishStep): Promise<Reply> {
  const deadlineMs = deadlineMsOf(step.call);
  if (deadlineMs === undefined || step.ackPolicy === AckPolicy.NONE) {
    const published = await step.publish();
    return published.ok ? { ok: true, bytes: encodePublishResponse(undefined, "") } : { ok: false, status: statusOf(published.error) };
  }
  // Checked before the inbox is subscribed: a SUB line NATS refuses would cost the shared connection.
  const problem = subjectProblem(step.ackInbox, "subscribe") ?? subscribeLineProblem("ack inbox", step.ackInbox, "", DEFAULT_MAX_CONTROL_LINE);
  if (problem !== undefined) return { ok: false, status: { code: Status.INVALID_ARGUMENT, details: `invalid ackInbox: ${problem}` } };
  const waiter = await AckWaiter.subscribe(step.service.nats, step.ackInbox);
  step.call.once("cancelled", () => waiter.cancel());
  let published: Result<unknown>;
  try {
    published = await step.publish();
  } catch (e) {
    waiter.cancel();
    throw e;
  }
  if (!published.ok) {
    waiter.cancel();
    return { ok: false, status: statusOf(published.error) };
  }
  return awaitAck(waiter, deadlineMs, step.onAck);
}

function internal(e: unknown): Reply {
  return { ok: false, status: { code: Status.INTERNAL, details: messageOf(e) } };
}

/** Handles Publish: the core validates and publishes; ack errors become statuses as in Liftbridge. */
export function handlePublish(service: BrokerService, call: ServerUnaryCall<Decoded<"Publish">, Uint8Array>, callback: sendUnaryData<Uint8Array>): void {
  const request = call.request;
  if (!request.ok) return sendReply(callback, { ok: false, status: statusOf(request.error) });
  const r = request.value;
  const ackInbox = r.ackInbox === "" ? newAckInbox(service.namespace) : r.ackInbox;
  publishAndWait({
    call, service, ackInbox, ackPolicy: r.ackPolicy,
    publish: () => attempt(() => service.request(publishRequestOf(r, ackInbox))),
    onAck: ({ ack, payload }) => {
      const failed = statusOfAckError(ack.ackError);
      return failed === undefined ? { ok: true, bytes: encodePublishResponse(payload, "") } : { ok: false, status: failed };
    },
  }).then((reply) => sendReply(callback, reply), (e: unknown) => sendReply(callback, internal(e)));
}

/** Handles PublishToSubject: envelope-encodes the message and publishes it on NATS directly. */
export function handlePublishToSubject(
  service: BrokerService, call: ServerUnaryCall<Decoded<"PublishToSubject">, Uint8Array>, callback: sendUnaryData<Uint8Array>,
): void {
  const request = call.request;
  if (!request.ok) return sendReply(callback, { ok: false, status: statusOf(request.error) });
  const r = request.value;
  const problem = subjectProblem(r.subject, "publish") ?? subscribeLineProblem("subject", r.subject, "", DEFAULT_MAX_CONTROL_LINE);
  if (problem !== undefined) return sendReply(callback, { ok: false, status: { code: Status.INVALID_ARGUMENT, details: `invalid subject: ${problem}` } });
  const ackInbox = r.ackInbox === "" ? newAckInbox(service.namespace) : r.ackInbox;
  const strings = publishStringsProblem({ ackInbox, correlationId: r.correlationId }, DEFAULT_MAX_CONTROL_LINE);
  if (strings !== undefined) return sendReply(callback, { ok: false, status: { code: Status.INVALID_ARGUMENT, details: strings } });
  const envelope = encodePublishEnvelope({
    key: r.key, value: r.value, subject: r.subject, headers: r.headers, ackInbox, correlationId: r.correlationId, ackPolicy: r.ackPolicy,
  });
  const maxPayload = service.nats.info?.max_payload;
  if (maxPayload !== undefined && envelope.length > maxPayload) {
    return sendReply(callback, { ok: false, status: statusOf(payloadTooLarge(envelope.length, maxPayload)) });
  }
  publishAndWait({
    call, service, ackInbox, ackPolicy: r.ackPolicy,
    publish: () => {
      service.nats.publish(r.subject, envelope);
      return Promise.resolve({ ok: true, value: undefined });
    },
    // Liftbridge returns the first ack as it is, ack errors included.
    onAck: ({ payload }) => ({ ok: true, bytes: encodePublishResponse(payload, "") }),
  }).then((reply) => sendReply(callback, reply), (e: unknown) => sendReply(callback, internal(e)));
}
