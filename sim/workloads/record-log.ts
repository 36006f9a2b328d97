// A tiny append-only record file, the real code the disk-log workload exercises: each record is
// [length u32 LE][crc u32 LE][payload], where the CRC-32C covers the length bytes and the payload,
// so a torn length is caught as surely as a torn payload. Recovery keeps the longest valid prefix.
import { assert } from "../../src/core/assert.js";
import { crc32c } from "../../src/core/crc32c.js";
import type { Disk, DiskReader } from "../../src/core/disk.js";

/** Bytes before each payload: length then CRC. */
export const RECORD_HEADER_BYTES = 8;

/** Why a scan stopped. */
export type ScanStop = "end" | "shortHeader" | "badLength" | "shortPayload" | "badCrc";

/** The valid prefix of a record file. */
export interface ScanResult {
  /** Payloads of the valid records, in file order (views into the bytes scanned). */
  readonly records: Uint8Array[];
  /** Bytes covered by the valid records (where the next append belongs). */
  readonly validBytes: number;
  /** File size found. */
  readonly fileBytes: number;
  readonly stoppedBy: ScanStop;
}

function recordCrc(header: Uint8Array, payload: Uint8Array): number {
  return crc32c(payload, crc32c(header.subarray(0, 4)));
}

/** Encodes one record (header and payload in one buffer, so one write covers it). */
export function encodeRecord(payload: Uint8Array): Uint8Array {
  assert(payload.length > 0, "encodeRecord: empty payloads are not allowed (a zero length marks garbage)");
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payload.length, true);
  bytes.set(payload, RECORD_HEADER_BYTES);
  view.setUint32(4, recordCrc(bytes, payload), true);
  return bytes;
}

/** Parses the longest valid prefix of `bytes`; stops at the first record that does not check out. */
export function scanBytes(bytes: Uint8Array, maxPayloadBytes: number): ScanResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let position = 0;
  let stoppedBy: ScanStop = "end";
  while (position < bytes.length) {
    if (bytes.length - position < RECORD_HEADER_BYTES) {
      stoppedBy = "shortHeader";
      break;
    }
    const length = view.getUint32(position, true);
    if (length === 0 || length > maxPayloadBytes) {
      stoppedBy = "badLength";
      break;
    }
    const end = position + RECORD_HEADER_BYTES + length;
    if (end > bytes.length) {
      stoppedBy = "shortPayload";
      break;
    }
    const header = bytes.subarray(position, position + RECORD_HEADER_BYTES);
    const payload = bytes.subarray(position + RECORD_HEADER_BYTES, end);
    if (recordCrc(header, payload) !== view.getUint32(position + 4, true)) {
      stoppedBy = "badCrc";
      break;
    }
    records.push(payload);
    position = end;
  }
  return { records, validBytes: position, fileBytes: bytes.length, stoppedBy };
}

/** Reads and scans a record file; a missing file scans as empty. */
export function scanFile(disk: DiskReader, path: string, maxPayloadBytes: number): ScanResult {
  const stat = disk.stat(path);
  if (stat === undefined) return { records: [], validBytes: 0, fileBytes: 0, stoppedBy: "end" };
  return scanBytes(disk.read(path, 0, stat.size), maxPayloadBytes);
}

/** Appends records at the end of a file whose valid prefix is known. */
export class RecordLog {
  private endBytes: number;

  constructor(
    private readonly disk: Disk,
    readonly path: string,
    endBytes: number,
  ) {
    this.endBytes = endBytes;
  }

  /** Where the next record goes. */
  get sizeBytes(): number {
    return this.endBytes;
  }

  /** Writes one record (not durable until sync()); returns its position. */
  append(payload: Uint8Array): number {
    const position = this.endBytes;
    const record = encodeRecord(payload);
    this.disk.write(this.path, position, [record]);
    this.endBytes += record.length;
    return position;
  }

  /** Makes every record written so far durable. */
  sync(): void {
    this.disk.fdatasync(this.path);
  }
}
