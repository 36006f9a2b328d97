// Short ASCII strings (subjects, inboxes, header names, ids) decoded without a TextDecoder call,
// which costs more than the decoding itself at these lengths. The result is one flat string:
// a string built by += is a rope that every later hash or charCodeAt must flatten first.

/** Longest run decoded here; longer ones go to TextDecoder (and apply's argument limit stays far). */
export const SHORT_ASCII_MAX_BYTES = 64;

/** `bytes[start, end)` as a string if it is short and all ASCII, else undefined (decode it as UTF-8). */
export function shortAscii(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end - start > SHORT_ASCII_MAX_BYTES) return undefined;
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return undefined;
  return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
}

const CACHE_SLOTS = 64; // a power of two

/**
 * Short ASCII strings remembered by their bytes, for decoders that see the same few strings in
 * every message (stream, subject, inbox): a hit costs one byte comparison instead of building a
 * string. Direct-mapped and bounded; owned by one decoder (no shared state).
 */
export class AsciiCache {
  private readonly keys: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(CACHE_SLOTS);
  private readonly values: string[] = new Array<string>(CACHE_SLOTS);

  /** Same answer as shortAscii(bytes, start, end). */
  decode(bytes: Uint8Array, start: number, end: number): string | undefined {
    const length = end - start;
    if (length > SHORT_ASCII_MAX_BYTES) return undefined;
    const slot = length === 0 ? 0 : (length * 31 + bytes[start]! * 7 + bytes[end - 1]! + bytes[start + (length >> 1)]! * 3) & (CACHE_SLOTS - 1);
    const key = this.keys[slot];
    if (key !== undefined && key.length === length) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (key[i] !== bytes[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.values[slot];
    }
    const s = shortAscii(bytes, start, end);
    if (s !== undefined) {
      this.keys[slot] = bytes.slice(start, end);
      this.values[slot] = s;
    }
    return s;
  }
}
