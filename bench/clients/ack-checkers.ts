// The two systems' publish payloads and ack checks. Ours: a Liftbridge publish envelope (ack
// policy LEADER, the ack inbox inside it), answered with an Ack envelope; JetStream: the raw
// value, answered with a JSON PubAck. Both are encoded once per run, as a lean client would.
import { decodeWire } from "../../src/io/wire/api-codec.js";
import { decodeEnvelopeOf, encodePublishEnvelope, MsgType } from "../../src/io/wire/envelope.js";
import type { System } from "../bench-types.js";
import type { AckChecker } from "./nats-publisher.js";

/** A 1 KiB-style value with a fixed, non-trivial pattern (not all zeros). */
export function benchValue(valueBytes: number): Uint8Array {
  const value = new Uint8Array(valueBytes);
  for (let i = 0; i < value.length; i++) value[i] = (i * 31 + 7) & 0xff;
  return value;
}

/** Ours: a MsgType-0 envelope acked by the partition leader (AckPolicy LEADER = 0) on `inbox`. */
export function oursPayload(value: Uint8Array, inbox: string): Uint8Array {
  return encodePublishEnvelope({ value, ackInbox: inbox, correlationId: "bench", ackPolicy: 0, offset: -1 });
}

const OURS_CHECKER: AckChecker = {
  each: (data) => (data.length > 8 && data[7] === MsgType.Ack ? undefined : "not an Ack envelope"),
  sample: (data, position) => {
    const payload = decodeEnvelopeOf(data, MsgType.Ack);
    if (!payload.ok) return payload.error.message;
    const ack = decodeWire("proto.Ack", payload.value);
    if (!ack.ok) return ack.error.message;
    if (ack.value.ackError !== 0) return `ackError ${ack.value.ackError}`;
    const expected = BigInt(position - 1);
    return ack.value.offset === expected ? undefined : `offset ${ack.value.offset}, expected ${expected}`;
  },
};

const ERROR_PREFIX = new TextEncoder().encode('{"error"');

const JETSTREAM_CHECKER: AckChecker = {
  each: (data) => (ERROR_PREFIX.every((b, i) => data[i] === b) ? new TextDecoder().decode(data) : undefined),
  sample: (data, position) => {
    const ack = JSON.parse(new TextDecoder().decode(data)) as { seq?: number; error?: unknown };
    if (ack.error !== undefined) return JSON.stringify(ack.error);
    return ack.seq === position ? undefined : `seq ${ack.seq}, expected ${position}`;
  },
};

/** The ack checker of `system`. */
export function ackCheckerOf(system: System): AckChecker {
  return system === "ours" ? OURS_CHECKER : JETSTREAM_CHECKER;
}

/** What `system` publishes for `value` with acks on `inbox`. */
export function payloadOf(system: System, value: Uint8Array, inbox: string): Uint8Array {
  return system === "ours" ? oursPayload(value, inbox) : value;
}
