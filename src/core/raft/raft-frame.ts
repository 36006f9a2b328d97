// The Raft log's frames (crc-frames.ts, shared with the metadata log): every payload starts with a
// version byte of 1 and a kind byte below 8 (raft-record.ts), which the torn-tail scan tests
// before it pays for a CRC.
import type { Crc32c } from "../crc32c.js";
import * as frames from "../crc-frames.js";

export { FRAME_HEADER_BYTES, type DecodedFrames, type FrameParser } from "../crc-frames.js";

/** The largest payload a frame may carry (a snapshot of the metadata is far smaller). */
export const MAX_FRAME_PAYLOAD_BYTES = 256 * 1024 * 1024;

const RAFT_FRAMES: frames.FrameFormat = {
  name: "Raft log",
  maxPayloadBytes: MAX_FRAME_PAYLOAD_BYTES,
  mayStartAt: (bytes, at) => at + 2 <= bytes.length && bytes[at] === 1 && (bytes[at + 1] as number) < 8,
};

/** Frames `payload`: length, CRC-32C, payload. */
export function encodeFrame(payload: Uint8Array, crc: Crc32c): Uint8Array {
  return frames.encodeFrame(RAFT_FRAMES, payload, crc);
}

/** Reads frames from the start of `bytes` until the end or the first frame that is bad or does not parse. */
export function decodeFrames<T>(bytes: Uint8Array, parse: frames.FrameParser<T>, crc: Crc32c): frames.DecodedFrames<T> {
  return frames.decodeFrames(RAFT_FRAMES, bytes, parse, crc);
}

/** Whether the bytes from `pos` can be one unfinished append and nothing else (crc-frames.ts tornTail). */
export function tornTail<T>(bytes: Uint8Array, pos: number, parse: frames.FrameParser<T>, crc: Crc32c): boolean {
  return frames.tornTail(RAFT_FRAMES, bytes, pos, parse, crc);
}
