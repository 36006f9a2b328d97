// The Liftbridge envelope (spec §3.1) around every Liftbridge payload on NATS:
//   magic B9 0E 43 B4 | version 0 | headerLen | flags | msgType | [CRC-32C BE] | payload
// The server writes headerLen 8 and no CRC; it verifies a CRC a client sets (flag bit 0).
import { crc32c } from "../../core/crc32c.js";
import type { Result } from "../../core/errors.js";
import { err, ok } from "../../core/errors.js";
import { assert } from "../../core/assert.js";
import type { AckFields } from "./ack-encoder.js";
import { ackSize, writeAck } from "./ack-encoder.js";
import type { Headers } from "./api-types.js";
import { decodeMessage } from "./message-decoder.js";
import type { AsciiCache } from "../../core/ascii.js";
import type { MessageFields } from "./message-encoder.js";
import { messageSize, writeMessage } from "./message-encoder.js";

/** The envelope message types (byte 7). */
export const MsgType = {
  Publish: 0,
  Ack: 1,
  ReplicationRequest: 2,
  ReplicationResponse: 3,
  RaftJoinRequest: 4,
  RaftJoinResponse: 5,
  LeaderEpochOffsetRequest: 6,
  LeaderEpochOffsetResponse: 7,
  PropagatedRequest: 8,
  PropagatedResponse: 9,
  ServerInfoRequest: 10,
  ServerInfoResponse: 11,
  PartitionStatusRequest: 12,
  PartitionStatusResponse: 13,
  PartitionNotification: 14,
} as const;
/** One of the MsgType values. */
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** The four magic bytes that open every envelope (chosen upstream to be invalid UTF-8). */
export const ENVELOPE_MAGIC: readonly number[] = [0xb9, 0x0e, 0x43, 0xb4];
/** Header length without CRC; what the server always writes. */
export const ENVELOPE_HEADER_LENGTH = 8;
/** Header length with the optional CRC-32C. */
export const ENVELOPE_HEADER_LENGTH_CRC = 12;
const FLAG_CRC = 0x01;

/** Writes an 8-byte header (version 0, no flags) at `pos`; returns the payload position. */
export function writeEnvelopeHeader(buf: Uint8Array, pos: number, msgType: MsgType): number {
  assert(buf.length - pos >= ENVELOPE_HEADER_LENGTH, "no room for an envelope header");
  buf[pos] = 0xb9;
  buf[pos + 1] = 0x0e;
  buf[pos + 2] = 0x43;
  buf[pos + 3] = 0xb4;
  buf[pos + 4] = 0; // version
  buf[pos + 5] = ENVELOPE_HEADER_LENGTH;
  buf[pos + 6] = 0; // flags
  buf[pos + 7] = msgType;
  return pos + ENVELOPE_HEADER_LENGTH;
}

/** Wraps a payload as the server does: header length 8, flags 0. */
export function encodeEnvelope(msgType: MsgType, payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(ENVELOPE_HEADER_LENGTH + payload.length);
  buf.set(payload, writeEnvelopeHeader(buf, 0, msgType));
  return buf;
}

/** Wraps a payload with a CRC-32C (header length 12, flag bit 0), as a client may. */
export function encodeEnvelopeWithCrc(msgType: MsgType, payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(ENVELOPE_HEADER_LENGTH_CRC + payload.length);
  writeEnvelopeHeader(buf, 0, msgType);
  buf[5] = ENVELOPE_HEADER_LENGTH_CRC;
  buf[6] = FLAG_CRC;
  new DataView(buf.buffer).setUint32(ENVELOPE_HEADER_LENGTH, crc32c(payload), false);
  buf.set(payload, ENVELOPE_HEADER_LENGTH_CRC);
  return buf;
}

/** A decoded envelope: its type byte and a view of its payload. */
export interface Envelope {
  readonly msgType: number;
  readonly payload: Uint8Array;
}

/** Checks and unwraps an envelope (any MsgType; callers compare `msgType` with what they expect). */
export function decodeEnvelope(data: Uint8Array): Result<Envelope> {
  if (data.length < ENVELOPE_HEADER_LENGTH) return err("InvalidArgument", "data missing envelope header");
  if (data[0] !== 0xb9 || data[1] !== 0x0e || data[2] !== 0x43 || data[3] !== 0xb4) {
    return err("InvalidArgument", "unexpected envelope magic number");
  }
  if (data[4] !== 0) return err("InvalidArgument", `unknown envelope protocol: ${data[4]}`);
  const headerLength = data[5]!;
  const flags = data[6]!;
  if (headerLength !== ENVELOPE_HEADER_LENGTH && headerLength !== ENVELOPE_HEADER_LENGTH_CRC) {
    return err("InvalidArgument", `invalid envelope header length: ${headerLength}`);
  }
  if (data.length < headerLength) return err("InvalidArgument", "data shorter than envelope header length");
  const payload = data.subarray(headerLength);
  if (flags & FLAG_CRC) {
    if (headerLength !== ENVELOPE_HEADER_LENGTH_CRC) return err("InvalidArgument", "incorrect envelope header size");
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const expected = view.getUint32(ENVELOPE_HEADER_LENGTH, false);
    const actual = crc32c(payload);
    if (actual !== expected) return err("InvalidArgument", `crc mismatch: expected ${expected}, got ${actual}`);
  }
  return ok({ msgType: data[7]!, payload });
}

/** Unwraps an envelope that must be of type `msgType`. */
export function decodeEnvelopeOf(data: Uint8Array, msgType: MsgType): Result<Uint8Array> {
  const env = decodeEnvelope(data);
  if (!env.ok) return env;
  if (env.value.msgType !== msgType) {
    return err("InvalidArgument", `MsgType mismatch: expected ${msgType}, got ${env.value.msgType}`);
  }
  return ok(env.value.payload);
}

/** What a partition leader takes from a publish envelope (a proto.Message of MsgType 0). */
export interface PublishEnvelope {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly headers: Headers;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: number;
  /** Message.offset: the expected offset for optimistic concurrency (clients send -1 for none). */
  readonly expectedOffset: bigint;
}

/** How to store a NATS payload on a stream subject: a decoded envelope, or the raw bytes verbatim. */
export type PublishPayload = { readonly kind: "envelope"; readonly message: PublishEnvelope } | { readonly kind: "raw" };

/**
 * Classifies a payload; anything that is not a valid MsgType-0 envelope is raw (spec §3.1). Never
 * throws. `strings` is the caller's cache of short strings (see decodeMessage).
 */
export function parsePublishPayload(data: Uint8Array, strings?: AsciiCache): PublishPayload {
  const payload = decodeEnvelopeOf(data, MsgType.Publish);
  if (!payload.ok) return { kind: "raw" };
  const m = decodeMessage(payload.value, strings);
  if (!m.ok) return { kind: "raw" };
  const { key, value, headers, ackInbox, correlationId, ackPolicy, offset } = m.value;
  return { kind: "envelope", message: { key, value, headers, ackInbox, correlationId, ackPolicy, expectedOffset: offset } };
}

/** Encodes an Ack in an envelope (MsgType 1), in one allocation. */
export function encodeAckEnvelope(ack: AckFields): Uint8Array {
  const buf = new Uint8Array(ENVELOPE_HEADER_LENGTH + ackSize(ack));
  const end = writeAck(buf, writeEnvelopeHeader(buf, 0, MsgType.Ack), ack);
  assert(end === buf.length, "ack size changed between sizing and writing");
  return buf;
}

/** Encodes a Message in a publish envelope (MsgType 0), in one allocation (offset = expected offset). */
export function encodePublishEnvelope(message: MessageFields): Uint8Array {
  const buf = new Uint8Array(ENVELOPE_HEADER_LENGTH + messageSize(message));
  const end = writeMessage(buf, writeEnvelopeHeader(buf, 0, MsgType.Publish), message);
  assert(end === buf.length, "message size changed between sizing and writing");
  return buf;
}
