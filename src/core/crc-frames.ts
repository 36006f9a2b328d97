// CRC-framed record files, the metadata log's and the Raft log's: [u32 length][u32 CRC-32C of the
// payload][payload], big-endian. Reading stops at the first frame that is short, has a bad length
// or CRC, or does not parse; the caller then asks tornTail() whether the damage can be one
// unfinished last write (cut) or is corruption of synced data (refused).
import { assert } from "./assert.js";
import type { Crc32c } from "./crc32c.js";

/** Bytes before a frame's payload: length and CRC. */
export const FRAME_HEADER_BYTES = 8;

/** What differs between files: the largest payload, and a cheap test of a payload's first bytes. */
export interface FrameFormat {
  readonly name: string;
  readonly maxPayloadBytes: number;
  /** False when the payload starting at `at` certainly is no record (skips a CRC while scanning). */
  mayStartAt(bytes: Uint8Array, at: number): boolean;
}

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
  readonly problem?: "torn header" | "bad length" | "bad CRC" | "undecodable record";
}

/** Frames `payload`: length, CRC-32C, payload. */
export function encodeFrame(format: FrameFormat, payload: Uint8Array, crc: Crc32c): Uint8Array {
  assert(payload.length >= 2 && payload.length <= format.maxPayloadBytes, `a ${format.name} frame holds 2 to ${format.maxPayloadBytes} bytes`);
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc(payload));
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** The payload of the whole, CRC-clean frame at `pos`, or why there is none. */
function frameAt(format: FrameFormat, bytes: Uint8Array, view: DataView, pos: number, crc: Crc32c): Uint8Array | "torn header" | "bad length" | "bad CRC" {
  if (bytes.length - pos < FRAME_HEADER_BYTES) return "torn header";
  const length = view.getUint32(pos);
  if (length < 2 || length > format.maxPayloadBytes || pos + FRAME_HEADER_BYTES + length > bytes.length) return "bad length";
  const payload = bytes.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + length);
  return crc(payload) === view.getUint32(pos + 4) ? payload : "bad CRC";
}

/** Reads frames from the start of `bytes` until the end or the first frame that is bad or does not parse. */
export function decodeFrames<T>(format: FrameFormat, bytes: Uint8Array, parse: FrameParser<T>, crc: Crc32c): DecodedFrames<T> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const items: T[] = [];
  const starts: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const payload = frameAt(format, bytes, view, pos, crc);
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
function intactAt<T>(format: FrameFormat, bytes: Uint8Array, view: DataView, pos: number, parse: FrameParser<T>, crc: Crc32c): boolean {
  const payload = frameAt(format, bytes, view, pos, crc);
  return typeof payload !== "string" && parse(payload) !== undefined;
}

/**
 * Whether the bytes from `pos` (where reading stopped) can be one unfinished append and nothing
 * else: the frame at `pos` is not intact (a whole, good frame that is merely out of place is no
 * torn write), no intact frame starts anywhere after it, and what is there is shorter than a header,
 * all zeros (the file grew but the data never landed), or one frame whose length runs to or past
 * the end of the file. Anything else is corruption of synced data.
 */
export function tornTail<T>(format: FrameFormat, bytes: Uint8Array, pos: number, parse: FrameParser<T>, crc: Crc32c): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (intactAt(format, bytes, view, pos, parse, crc)) return false;
  for (let p = pos + 1; p + FRAME_HEADER_BYTES < bytes.length; p++) {
    if (format.mayStartAt(bytes, p + FRAME_HEADER_BYTES) && intactAt(format, bytes, view, p, parse, crc)) return false;
  }
  const rest = bytes.length - pos;
  if (rest < FRAME_HEADER_BYTES || bytes.subarray(pos).every((b) => b === 0)) return true;
  const length = view.getUint32(pos);
  return length <= format.maxPayloadBytes && FRAME_HEADER_BYTES + length >= rest;
}
