// The codecs the broker core needs, injected as pure functions: protobuf lives in src/io/wire/, the
// core only decides. Production and the simulator inject the same implementation.

/** Liftbridge's per-message ack policy. */
export type AckPolicy = "LEADER" | "ALL" | "NONE";

/** Ack.Error values. */
export type AckError = "OK" | "UNKNOWN" | "INCORRECT_OFFSET" | "TOO_LARGE" | "ENCRYPTION";

/** A decoded publish envelope (MsgType 0 carrying a proto.Message). */
export interface PublishEnvelope {
  /** null when the message has no key (proto3 drops empty bytes, so empty means absent). */
  readonly key: Uint8Array | null;
  readonly value: Uint8Array;
  readonly headers: readonly (readonly [string, Uint8Array])[];
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: AckPolicy;
  /** Optimistic concurrency: the offset this message must get, -1 for no check. */
  readonly expectedOffset: number;
}

/** Every field of the Ack the leader publishes to a message's ack inbox. */
export interface AckFields {
  readonly stream: string;
  readonly partitionSubject: string;
  readonly msgSubject: string;
  readonly offset: number;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: AckPolicy;
  readonly receptionTimestampNs: bigint;
  readonly commitTimestampNs: bigint;
  readonly ackError: AckError;
}

/** What the broker asks of the wire layer. */
export interface WireCodec {
  /** Decodes an envelope-framed publish, or returns undefined for a raw payload (stored verbatim). */
  parsePublish(data: Uint8Array): PublishEnvelope | undefined;
  /** Encodes a publish envelope as the API's Publish sends it over NATS. */
  encodePublish(message: PublishEnvelope, stream: string, subject: string): Uint8Array;
  /** Encodes an Ack envelope (MsgType 1). */
  encodeAck(ack: AckFields): Uint8Array;
}
