// The WireCodec the broker core is given: Liftbridge's envelope and protobuf codecs from
// src/io/wire/, adapted to the core's plain types. Production and the simulator inject this same
// object, so the simulator exercises the real encodings.
import { AsciiCache } from "../core/ascii.js";
import type { AckError, AckFields, AckPolicy, PublishEnvelope, WireCodec } from "../core/broker/wire-codec.js";
import { decodeWire } from "./wire/api-codec.js";
import { CachingAckEncoder } from "./caching-ack-encoder.js";
import { decodeEnvelopeOf, encodePublishEnvelope, MsgType, parsePublishPayload } from "./wire/envelope.js";

const POLICY_NUMBER: Readonly<Record<AckPolicy, number>> = { LEADER: 0, ALL: 1, NONE: 2 };
const POLICY_NAME: readonly AckPolicy[] = ["LEADER", "ALL", "NONE"];
const ACK_ERROR_NUMBER: Readonly<Record<AckError, number>> = { OK: 0, UNKNOWN: 1, INCORRECT_OFFSET: 2, TOO_LARGE: 3, ENCRYPTION: 4 };
const ACK_ERROR_NAME: readonly AckError[] = ["OK", "UNKNOWN", "INCORRECT_OFFSET", "TOO_LARGE", "ENCRYPTION"];

/** The ack policy named by a wire number; unknown numbers are treated as LEADER (proto3 default). */
export function ackPolicyName(n: number): AckPolicy {
  return POLICY_NAME[n] ?? "LEADER";
}

/** The wire number of an ack policy. */
export function ackPolicyNumber(p: AckPolicy): number {
  return POLICY_NUMBER[p];
}

/** The Ack.Error named by a wire number (unknown numbers read as UNKNOWN). */
export function ackErrorName(n: number): AckError {
  return ACK_ERROR_NAME[n] ?? "UNKNOWN";
}

function parsePublish(data: Uint8Array, strings: AsciiCache): PublishEnvelope | undefined {
  const parsed = parsePublishPayload(data, strings);
  if (parsed.kind === "raw") return undefined;
  const m = parsed.message;
  const expected = m.expectedOffset;
  return {
    // proto3 drops empty bytes, so an empty key is an absent key.
    key: m.key.length === 0 ? null : m.key,
    value: m.value,
    headers: [...m.headers],
    ackInbox: m.ackInbox,
    correlationId: m.correlationId,
    ackPolicy: ackPolicyName(m.ackPolicy),
    expectedOffset: expected >= -1n && expected <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(expected) : -1,
  };
}

function encodePublish(message: PublishEnvelope, stream: string, subject: string): Uint8Array {
  return encodePublishEnvelope({
    offset: message.expectedOffset, key: message.key, value: message.value, stream, subject,
    headers: message.headers, ackInbox: message.ackInbox, correlationId: message.correlationId,
    ackPolicy: ackPolicyNumber(message.ackPolicy),
  });
}

/** Creates the codec the broker core runs with. */
export function createWireCodec(): WireCodec {
  const acks = new CachingAckEncoder();
  const encodeAck = (ack: AckFields): Uint8Array =>
    acks.encode({
      stream: ack.stream, partitionSubject: ack.partitionSubject, msgSubject: ack.msgSubject, offset: ack.offset,
      ackInbox: ack.ackInbox, correlationId: ack.correlationId, ackPolicy: ackPolicyNumber(ack.ackPolicy),
      receptionTimestamp: ack.receptionTimestampNs, commitTimestamp: ack.commitTimestampNs,
      ackError: ACK_ERROR_NUMBER[ack.ackError],
    });
  const strings = new AsciiCache();
  return { parsePublish: (data) => parsePublish(data, strings), encodePublish, encodeAck };
}

/** Decodes an Ack envelope (for clients and the simulator's checkers); undefined when malformed. */
export function decodeAckForSim(data: Uint8Array): { correlationId: string; offset: number; ackError: AckError } | undefined {
  const payload = decodeEnvelopeOf(data, MsgType.Ack);
  if (!payload.ok) return undefined;
  const ack = decodeWire("proto.Ack", payload.value);
  if (!ack.ok) return undefined;
  return { correlationId: ack.value.correlationId, offset: Number(ack.value.offset), ackError: ackErrorName(ack.value.ackError) };
}
