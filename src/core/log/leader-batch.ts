// Encoding a leader batch: validate every message first (so a bad one writes nothing), then
// encode all records into ONE buffer and all index entries into another, so the whole batch
// leaves as one positioned log write and one index write (group commit).
import type { Crc32c } from "../crc32c.js";
import type { Result } from "../errors.js";
import { err, ok } from "../errors.js";
import { INDEX_ENTRY_BYTES, writeIndexEntry } from "./offset-index.js";
import type { AppendMessage } from "./record-codec.js";
import { MAX_INT16, RECORD_HEADER_BYTES, encodeRecordInto, messageBytes, viewOf } from "./record-codec.js";
import type { Segment } from "./segment.js";

// Bound on cached header-key encodings; the broker uses a handful ("subject", "reply").
const HEADER_KEY_CACHE_MAX = 256;

/** UTF-8 encodings of header keys, cached per log because the same few keys repeat. */
export class HeaderKeyCache {
  private readonly cache = new Map<string, Uint8Array>();
  private readonly encoder = new TextEncoder();

  /** The UTF-8 bytes of `key`. */
  encode(key: string): Uint8Array {
    let bytes = this.cache.get(key);
    if (bytes === undefined) {
      bytes = this.encoder.encode(key);
      if (this.cache.size >= HEADER_KEY_CACHE_MAX) this.cache.clear();
      this.cache.set(key, bytes);
    }
    return bytes;
  }
}

/** A validated batch: encoded header keys and record sizes, ready to encode. */
export interface PreparedBatch {
  readonly headerKeys: readonly (readonly Uint8Array[])[];
  readonly recordBytes: readonly number[];
  readonly totalBytes: number;
}

const NO_HEADERS: readonly Uint8Array[] = [];

/** Checks sizes, header limits and expected offsets; nothing is encoded if any message fails. */
export function prepareLeaderBatch(
  messages: readonly AppendMessage[],
  nextOffset: number,
  maxMessageBytes: number,
  keys: HeaderKeyCache,
): Result<PreparedBatch> {
  const headerKeys: (readonly Uint8Array[])[] = [];
  const recordBytes: number[] = [];
  let totalBytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as AppendMessage;
    if (m.headers.length > MAX_INT16) return err("InvalidArgument", `message ${i} has ${m.headers.length} headers, more than ${MAX_INT16}`);
    const hk = m.headers.length === 0 ? NO_HEADERS : m.headers.map(([k]) => keys.encode(k));
    for (const k of hk) if (k.length > MAX_INT16) return err("InvalidArgument", `message ${i} has a header key longer than ${MAX_INT16} bytes`);
    const size = messageBytes(m, hk);
    if (size > maxMessageBytes) return err("MessageTooLarge", `message ${i} is ${size} bytes, more than the ${maxMessageBytes} allowed`);
    const expected = m.expectedOffset ?? -1;
    if (expected !== -1 && expected !== nextOffset + i) {
      return err("IncorrectOffset", `message ${i} expected offset ${expected} but would be written at ${nextOffset + i}`);
    }
    headerKeys.push(hk);
    recordBytes.push(RECORD_HEADER_BYTES + size);
    totalBytes += RECORD_HEADER_BYTES + size;
  }
  return ok({ headerKeys, recordBytes, totalBytes });
}

/** The encoded batch: one buffer of records and one of index entries. */
export interface EncodedBatch {
  readonly logBytes: Uint8Array;
  readonly indexBytes: Uint8Array;
}

/** Encodes `messages` at the end of `segment` and adds them to its in-memory index. */
export function encodeLeaderBatch(
  messages: readonly AppendMessage[],
  prepared: PreparedBatch,
  firstOffset: number,
  timestampNs: bigint,
  leaderEpoch: number,
  segment: Segment,
  crc32c: Crc32c,
): EncodedBatch {
  const logBytes = new Uint8Array(prepared.totalBytes);
  const view = viewOf(logBytes);
  const indexBytes = new Uint8Array(messages.length * INDEX_ENTRY_BYTES);
  const indexView = viewOf(indexBytes);
  const header = { offset: firstOffset, timestampNs, leaderEpoch };
  let pos = 0;
  for (let i = 0; i < messages.length; i++) {
    header.offset = firstOffset + i;
    const position = segment.sizeBytes + pos;
    const end = encodeRecordInto(logBytes, view, pos, header, messages[i] as AppendMessage, prepared.headerKeys[i] as readonly Uint8Array[], crc32c);
    writeIndexEntry(indexView, i * INDEX_ENTRY_BYTES, header.offset - segment.baseOffset, timestampNs, position, end - pos);
    segment.index.append(header.offset, position, timestampNs);
    pos = end;
  }
  return { logBytes, indexBytes };
}
