// Ack inboxes on NATS for the publish RPCs: fresh inbox names, waiting for the first ack of a
// synchronous publish, and decoding the Ack envelopes leaders send (spec §3.2).
import type { NatsConnection, Subscription } from "nats";
import { nuid } from "nats";
import type { Result } from "../../core/errors.js";
import { err, ok } from "../../core/errors.js";
import { decodeWire } from "../wire/api-codec.js";
import type { Ack } from "../wire/api-types.js";
import { decodeEnvelopeOf, MsgType } from "../wire/envelope.js";

/** A fresh API ack inbox, `<namespace>.ack.<nuid>` as Liftbridge names them. */
export function newAckInbox(namespace: string): string {
  return `${namespace}.ack.${nuid.next()}`;
}

/** A decoded ack and its protobuf bytes (passed through to the client unchanged). */
export interface ReceivedAck {
  readonly ack: Ack;
  readonly payload: Uint8Array;
}

/** Unwraps and decodes an Ack envelope (MsgType 1). */
export function decodeAckEnvelope(data: Uint8Array): Result<ReceivedAck> {
  const payload = decodeEnvelopeOf(data, MsgType.Ack);
  if (!payload.ok) return err("Internal", `Invalid ack for publish: ${payload.error.message}`);
  const ack = decodeWire("proto.Ack", payload.value);
  if (!ack.ok) return err("Internal", `Invalid ack for publish: ${ack.error.message}`);
  return ok({ ack: ack.value, payload: payload.value });
}

/** How waiting for one ack ended. */
export type AckOutcome =
  | { readonly kind: "ack"; readonly data: Uint8Array }
  | { readonly kind: "timeout" }
  | { readonly kind: "cancelled" }
  | { readonly kind: "failed"; readonly message: string };

/** A subscription for the first message on an ack inbox. */
export class AckWaiter {
  private settle: ((outcome: AckOutcome) => void) | undefined;
  private early: AckOutcome | undefined;
  private timer: NodeJS.Timeout | undefined;

  private subscription: Subscription | undefined;

  private constructor() {}

  /**
   * Subscribes to `inbox` for one message, and waits until the NATS server has the subscription,
   * so that an ack published from another connection cannot overtake it.
   */
  static async subscribe(nats: NatsConnection, inbox: string): Promise<AckWaiter> {
    const waiter = new AckWaiter();
    waiter.subscription = nats.subscribe(inbox, {
      max: 1,
      callback: (error, msg) => waiter.finish(error !== null ? { kind: "failed", message: error.message } : { kind: "ack", data: msg.data }),
    });
    await nats.flush();
    return waiter;
  }

  /** Waits for the ack until `deadlineMs` (epoch ms) or until cancel() is called. */
  next(deadlineMs: number): Promise<AckOutcome> {
    if (this.early !== undefined) return Promise.resolve(this.early);
    return new Promise((resolve) => {
      this.settle = resolve;
      this.timer = setTimeout(() => this.finish({ kind: "timeout" }), Math.max(0, deadlineMs - Date.now()));
    });
  }

  /** Stops waiting (the call went away) and drops the subscription. */
  cancel(): void {
    this.finish({ kind: "cancelled" });
  }

  private finish(outcome: AckOutcome): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.subscription !== undefined && !this.subscription.isClosed()) this.subscription.unsubscribe();
    const settle = this.settle;
    this.settle = undefined;
    if (settle !== undefined) settle(outcome);
    else this.early ??= outcome;
  }
}
