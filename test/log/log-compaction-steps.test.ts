// Compaction as bounded work (issue 11): a cleaner run reads at most compactionStepBytes of
// segments per step and resumes on the next, ending with exactly the log one whole run leaves;
// a log unchanged since its last compaction is not read at all.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { TimeMs, TimestampNs } from "../../src/core/types.js";
import { LogHarness, message, testLogConfig } from "../../sim/testing/log-harness.js";

/** Appends 30 keyed records (keys k0..k4) across many small segments and commits them. */
function keyedLog(stepBytes?: number): LogHarness {
  const h = new LogHarness(testLogConfig({ compactEnabled: true, segmentMaxBytes: 256, ...(stepBytes !== undefined ? { compactionStepBytes: stepBytes } : {}) }));
  for (let i = 0; i < 30; i++) {
    const r = h.log.appendAsLeader([message(`k${i % 5}`, `v${i}`)], 1n as TimestampNs, 0 as never, 0 as TimeMs);
    assert.ok(r.ok);
    h.apply(r.value.ops);
  }
  h.log.setHighWatermark(h.log.newestOffset);
  return h;
}

function contents(h: LogHarness): string[] {
  const read = h.log.read(h.log.oldestOffset, h.log.newestOffset, 1 << 20);
  assert.ok(read.ok);
  return read.value.records.map((r) => `${r.offset}:${new TextDecoder().decode(r.value ?? new Uint8Array())}`);
}

test("compaction in bounded steps (one segment each) ends with the same log as compaction in one step", () => {
  const whole = keyedLog();
  const once = whole.log.cleanup(0 as TimeMs, 0n as TimestampNs);
  assert.equal(once.more, false);
  whole.apply(once.ops);
  const stepped = keyedLog(1);
  let r = stepped.log.cleanup(0 as TimeMs, 0n as TimestampNs);
  stepped.apply(r.ops);
  let steps = 1;
  while (r.more) {
    r = stepped.log.continueCompaction();
    stepped.apply(r.ops);
    steps++;
  }
  assert.ok(steps > 3, `several steps (${steps})`);
  assert.deepEqual(stepped.log.segmentBaseOffsets, whole.log.segmentBaseOffsets);
  assert.deepEqual(contents(stepped), contents(whole));
  assert.deepEqual(contents(whole).slice(-5), ["25:v25", "26:v26", "27:v27", "28:v28", "29:v29"]);
  // Both logs read back the same after a restart, too.
  stepped.reopen();
  whole.reopen();
  assert.deepEqual(contents(stepped), contents(whole));
});

test("compaction of a log unchanged since its last compaction reads nothing", () => {
  const h = keyedLog();
  h.apply(h.log.cleanup(0 as TimeMs, 0n as TimestampNs).ops);
  // Every read would fail now: an unchanged log must not read a segment (no error event).
  h.disk.setFaults({ readErrorPerMille: 1000 });
  const again = h.log.cleanup(0 as TimeMs, 0n as TimestampNs);
  assert.deepEqual(again.events, []);
  assert.deepEqual(again.ops, []);
  h.disk.setFaults({ readErrorPerMille: 0 });
  const r = h.log.appendAsLeader([message("k0", "new")], 1n as TimestampNs, 0 as never, 0 as TimeMs);
  assert.ok(r.ok);
  h.apply(r.value.ops);
  h.log.setHighWatermark(h.log.newestOffset);
  h.disk.setFaults({ readErrorPerMille: 1000 });
  const changed = h.log.cleanup(0 as TimeMs, 0n as TimestampNs);
  assert.ok(changed.events.some((e) => e.msg.includes("could not be read")), "a changed log is compacted again (and reads)");
});
