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
