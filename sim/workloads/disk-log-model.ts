// The disk-log workload's checker: what the writer appended (id -> exact payload) and which ids it
// promised are durable (acknowledged, or recovered and re-synced). After every recovery the records
// read back must be exact copies of appended payloads, in strictly increasing id order, and must
// include every promised id.

/** A record payload starts with its id, u32 little-endian; the rest is filler. */
export const RECORD_ID_BYTES = 4;

/** Reads the id of a payload (undefined when too short to hold one). */
export function payloadId(payload: Uint8Array): number | undefined {
  if (payload.length < RECORD_ID_BYTES) return undefined;
  const [b0, b1, b2, b3] = payload as unknown as [number, number, number, number];
  return (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Model of the record file: appended payloads and the ids that must survive any crash. */
export class DiskLogModel {
  /** Payloads by id (ids are dense from 0). */
  private readonly appended: Uint8Array[] = [];
  /** Ids that must be present after recovery, increasing. */
  private promised: number[] = [];
  private nextRecordId = 0;
  /** The first violation found, which stops the run through an invariant. */
  failure: string | undefined;

  /** Ids handed out so far. */
  get appendedCount(): number {
    return this.nextRecordId;
  }

  /** The highest promised id, or -1. */
  get lastPromisedId(): number {
    return this.promised[this.promised.length - 1] ?? -1;
  }

  /** Hands out the next record id. */
  nextId(): number {
    return this.nextRecordId++;
  }

  /** Remembers the exact payload written for `id`. */
  appendedRecord(id: number, payload: Uint8Array): void {
    this.appended[id] = payload;
  }

  /** The writer acknowledged `ids` (increasing): they must survive every later crash. */
  acknowledged(ids: readonly number[]): void {
    for (const id of ids) {
      if (id <= this.lastPromisedId) this.failure ??= `record ${id} acknowledged out of order (after ${this.lastPromisedId})`;
      this.promised.push(id);
    }
  }

  /**
   * Checks what recovery read back; returns the recovered ids (undefined after a violation, which
   * is also kept in `failure`).
   */
  checkRecovered(records: readonly Uint8Array[]): number[] | undefined {
    const ids: number[] = [];
    for (const payload of records) {
      const id = payloadId(payload);
      const expected = id === undefined ? undefined : this.appended[id];
      if (id === undefined || expected === undefined) return this.fail(`recovered a record that was never appended (id ${id})`);
      if (!sameBytes(payload, expected)) return this.fail(`recovered record ${id} with corrupt content`);
      const previous = ids[ids.length - 1];
      if (previous !== undefined && id <= previous) return this.fail(`recovered record ${id} after record ${previous}`);
      ids.push(id);
    }
    let at = 0;
    for (const id of this.promised) {
      while (at < ids.length && (ids[at] as number) < id) at++;
      if (ids[at] !== id) {
        const last = ids[ids.length - 1] ?? "none";
        return this.fail(`acknowledged record ${id} missing after recovery (${ids.length} records recovered, last id ${last})`);
      }
    }
    return ids;
  }

  /** Recovery made the recovered records durable again: from now on exactly they are promised. */
  recovered(ids: number[]): void {
    this.promised = ids;
  }

  private fail(message: string): undefined {
    this.failure ??= message;
    return undefined;
  }
}
