// Regression (broker-admin seed 165, broker seeds 124 and 127): index entries of a tail a crash
// lost must not come back after a later crash. Recovery rewrote the index without syncing it; a
// second crash brought the old entries back, and below the recovery point recovery trusts the
// index, so a stale entry (same offset and position, a shorter record's size) made the acked,
// fdatasync'ed record written there unreadable.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DiskOp } from "../../src/core/disk.js";
import type { Epoch, Offset, TimeMs, TimestampNs } from "../../src/core/types.js";
import { LogHarness, LOG_DIR, message, testLogConfig } from "../../sim/testing/log-harness.js";

const INDEX = `${LOG_DIR}/00000000000000000000.index`;

function append(h: LogHarness, value: string): DiskOp[] {
  const r = h.log.appendAsLeader([message(null, value)], 0n as TimestampNs, 1 as Epoch, h.nowMs as TimeMs);
  assert.ok(r.ok);
  return r.value.ops;
}

function valueAt(h: LogHarness, at: number): string | undefined {
  const read = h.log.read(at as Offset, at as Offset, 1 << 20);
  if (!read.ok) return `${read.error.code}: ${read.error.message}`;
  const value = read.value.records[0]?.value;
  return value === undefined || value === null ? undefined : new TextDecoder().decode(value);
}

for (const how of ["recovery rebuilds the index", "truncateTo cuts the index"] as const) {
  test(`a cut index entry does not come back after a crash to hide the record later written at its offset (${how})`, () => {
    // Every write not covered by an fdatasync is lost by a crash.
    const h = new LogHarness(testLogConfig({ syncPolicy: "interval", segmentMaxBytes: 1 << 20 }), 1, { droppedWritePerMille: 1000, tornWritePerMille: 0 });
    h.apply([...append(h, "a0"), ...append(h, "a1")]);
    h.apply(h.log.syncOps());
    // Offset 2 is written, and its index entry reaches the disk (the kernel may write any dirty page
    // back) while the record itself does not.
    h.apply(append(h, "b2"));
    if (how === "recovery rebuilds the index") {
      h.apply(h.log.syncOps().filter((op) => op.kind !== "fdatasync"));
      h.disk.fdatasync(INDEX);
      h.disk.crash();
      h.open();
      assert.equal(h.log.logEndOffset, 2, "the unsynced record is gone");
    } else {
      h.apply(h.log.syncOps());
      h.disk.fdatasync(INDEX);
      const cut = h.log.truncateTo(2 as Offset);
      assert.ok(cut.ok);
      h.apply(cut.value);
    }
    // Another record takes offset 2 and position; it is synced and the recovery point passes it.
    h.apply(append(h, "c2-a-longer-value-than-b2"));
    h.apply(h.log.syncOps());
    assert.equal(h.log.recoveryPoint, 3);
    h.disk.crash();
    h.open();
    assert.equal(valueAt(h, 2), "c2-a-longer-value-than-b2");
    assert.deepEqual(h.log.damagedRanges, []);
  });
}
