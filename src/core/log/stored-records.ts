// Records handed on exactly as the log stores them: a reader that only forwards records (a
// subscriber's chunk) gets their verified bytes instead of one decoded object per record, and
// the shell transcodes those bytes straight to its wire format.
import { assert } from "../assert.js";
import type { Crc32c } from "../crc32c.js";
import {
  MAX_INT16, RECORD_HEADER_BYTES, checkRecordAt, encodeRecordInto, messageBytes, parseRecordAt, viewOf, type AppendMessage, type LogRecord,
} from "./record-codec.js";

/** Whole records in the log's format, back to back, already verified (framing, CRC, layout, offsets). */
export interface StoredRecords {
  readonly bytes: Uint8Array;
  readonly count: number;
}

/** A record to encode with encodeStoredRecords. */
export interface RecordToStore {
  readonly offset: number;
  readonly timestampNs: bigint;
  readonly leaderEpoch: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly (readonly [string, Uint8Array])[];
}

/** Decodes every record (views into `stored.bytes`); for consumers that want objects (tests, the simulator). */
export function decodeStoredRecords(stored: StoredRecords, crc32c: Crc32c): LogRecord[] {
  const { bytes } = stored;
  const view = viewOf(bytes);
  const records: LogRecord[] = [];
  let p = 0;
  while (p < bytes.length) {
    const header = checkRecordAt(bytes, view, p, bytes.length, crc32c);
    assert(typeof header !== "string", `stored records: bad record at byte ${p}`);
    const record = parseRecordAt(bytes, view, p, header);
    assert(typeof record !== "string", `stored records: bad layout at byte ${p}`);
    records.push(record);
    p += header.recordBytes;
  }
  assert(records.length === stored.count, `stored records: ${records.length} records, count says ${stored.count}`);
  return records;
}

/** Encodes records into the log's format (tests and fakes that stand in for a log). */
export function encodeStoredRecords(records: readonly RecordToStore[], crc32c: Crc32c): StoredRecords {
  const encoder = new TextEncoder();
  const keys = records.map((r) => r.headers.map(([name]) => encoder.encode(name)));
  const messages: AppendMessage[] = records.map((r) => ({ key: r.key, value: r.value, headers: r.headers }));
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    assert(keys[i]!.every((k) => k.length <= MAX_INT16), "header name too long");
    total += RECORD_HEADER_BYTES + messageBytes(messages[i]!, keys[i]!);
  }
  const bytes = new Uint8Array(total);
  const view = viewOf(bytes);
  let p = 0;
  for (let i = 0; i < records.length; i++) p = encodeRecordInto(bytes, view, p, records[i]!, messages[i]!, keys[i]!, crc32c);
  return { bytes, count: records.length };
}
