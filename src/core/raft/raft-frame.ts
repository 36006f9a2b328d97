// The framing of every Raft log file: [u32 length][u32 CRC-32C of the payload][payload], big-endian,
// the metadata log's framing; the payload starts with a version byte and a kind byte (raft-record.ts).
// Reading stops at the first frame that is short, has a bad length or CRC, or does not parse; the
// caller then asks tornTail() whether the damage can be one unfinished last write (cut) or is
// corruption of synced data (refused), by the metadata log's rule (metadata-log.ts isTornTail).
import type { Crc32c } from "../crc32c.js";
import { assert } from "../assert.js";

/** Bytes before a frame's payload: length and CRC. */
export const FRAME_HEADER_BYTES = 8;
/** The largest payload a frame may carry (a snapshot of the metadata is far smaller). */
export const MAX_FRAME_PAYLOAD_BYTES = 256 * 1024 * 1024;

// Read granularity at start-up: big enough to amortise calls.

/** Turns a frame's payload into a value, or undefined when it is not one this file holds. */
export type FrameParser<T> = (payload: Uint8Array) => T | undefined;

/** The frames read from the start of a file, up to the first that could not be read. */
export interface DecodedFrames<T> {
  readonly items: T[];
  /** Byte position where each item's frame starts. */
  readonly starts: number[];
  /** End of the last good frame. */
  readonly validBytes: number;
  /** Why reading stopped before the end of the file, if it did. */
  readonly problem?: string;
}

/** Frames `payload`: length, CRC-32C, payload. */
export function encodeFrame(payload: Uint8Array, crc: Crc32c): Uint8Array {
  assert(payload.length >= 2 && payload.length <= MAX_FRAME_PAYLOAD_BYTES, "a Raft log frame holds 2 bytes to 256 MiB");
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc(payload));
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** The payload of the whole, CRC-clean frame at `pos`, or why there is none. */
function frameAt(bytes: Uint8Array, view: DataView, pos: number, crc: Crc32c): Uint8Array | string {
  if (bytes.length - pos < FRAME_HEADER_BYTES) return "torn header";
  const length = view.getUint32(pos);
  if (length < 2 || length > MAX_FRAME_PAYLOAD_BYTES || pos + FRAME_HEADER_BYTES + length > bytes.length) return "bad length";
  const payload = bytes.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + length);
  return crc(payload) === view.getUint32(pos + 4) ? payload : "bad CRC";
}

/** Reads frames from the start of `bytes` until the end or the first frame that is bad or does not parse. */
export function decodeFrames<T>(bytes: Uint8Array, parse: FrameParser<T>, crc: Crc32c): DecodedFrames<T> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const items: T[] = [];
  const starts: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const payload = frameAt(bytes, view, pos, crc);
    if (typeof payload === "string") return { items, starts, validBytes: pos, problem: payload };
    const item = parse(payload);
    if (item === undefined) return { items, starts, validBytes: pos, problem: "undecodable record" };
    items.push(item);
    starts.push(pos);
    pos += FRAME_HEADER_BYTES + payload.length;
  }
  return { items, starts, validBytes: pos };
}

/** Whether a whole, CRC-clean, parseable frame starts at `pos`. */
function intactAt<T>(bytes: Uint8Array, view: DataView, pos: number, parse: FrameParser<T>, crc: Crc32c): boolean {
  const payload = frameAt(bytes, view, pos, crc);
  return typeof payload !== "string" && parse(payload) !== undefined;
}

/**
 * Whether the bytes from `pos` (where reading stopped) can be one unfinished append and nothing
 * else: the frame at `pos` is not intact (a whole, good frame that is merely out of place is no
 * torn write), no intact frame starts anywhere after it, and what is there is shorter than a header,
 * all zeros (the file grew but the data never landed), or one frame whose length runs to or past
 * the end of the file. Anything else is corruption of synced data.
 */
export function tornTail<T>(bytes: Uint8Array, pos: number, parse: FrameParser<T>, crc: Crc32c): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (intactAt(bytes, view, pos, parse, crc)) return false;
  // Every payload starts with a version byte of 1 and a kind byte below 8: test them before a CRC.
  for (let p = pos + 1; p + FRAME_HEADER_BYTES + 2 <= bytes.length; p++) {
    if (bytes[p + FRAME_HEADER_BYTES] !== 1 || (bytes[p + FRAME_HEADER_BYTES + 1] as number) >= 8) continue;
    if (intactAt(bytes, view, p, parse, crc)) return false;
  }
  const rest = bytes.length - pos;
  if (rest < FRAME_HEADER_BYTES || bytes.subarray(pos).every((b) => b === 0)) return true;
  const length = view.getUint32(pos);
  return length <= MAX_FRAME_PAYLOAD_BYTES && FRAME_HEADER_BYTES + length >= rest;
}

