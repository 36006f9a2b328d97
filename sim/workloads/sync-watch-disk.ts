// A SimDisk that tells the broker workload which records each successful fdatasync of a segment
// made durable, decoded from the bytes a crash would keep: under sync policy `interval` those
// records, once acked, must survive every later crash.
import { crc32c } from "../../src/core/crc32c.js";
import { checkRecordAt, parseRecordAt, viewOf, type LogRecord } from "../../src/core/log/record-codec.js";
import { LOG_SUFFIX } from "../../src/core/log/segment.js";
import { SimDisk, type SimDiskOptions } from "../sim-disk.js";

/** Called with `stream/partition` and the records durable in one segment after its fdatasync. */
export type SyncListener = (partition: string, records: readonly LogRecord[]) => void;

/** A SimDisk that reports the records each completed segment fdatasync made durable. */
export class SyncWatchDisk extends SimDisk {
  constructor(options: SimDiskOptions, private readonly onSynced: SyncListener | undefined) {
    super(options);
  }

  override fdatasync(path: string): void {
    super.fdatasync(path);
    if (this.onSynced === undefined || !path.endsWith(LOG_SUFFIX)) return;
    const parts = path.split("/");
    const streamsAt = parts.lastIndexOf("streams");
    if (streamsAt < 0 || parts.length !== streamsAt + 4) return;
    this.onSynced(`${parts[streamsAt + 1]}/${parts[streamsAt + 2]}`, wholeRecords(this.durableBytes(path)));
  }
}

/** The whole, valid records at the start of a segment's bytes (a torn or preallocated tail ends them). */
function wholeRecords(bytes: Uint8Array): LogRecord[] {
  const view = viewOf(bytes);
  const records: LogRecord[] = [];
  for (let p = 0; p < bytes.length; ) {
    const header = checkRecordAt(bytes, view, p, bytes.length, crc32c);
    if (typeof header === "string") break;
    const record = parseRecordAt(bytes, view, p, header);
    if (typeof record === "string") break;
    records.push(record);
    p += header.recordBytes;
  }
  return records;
}
