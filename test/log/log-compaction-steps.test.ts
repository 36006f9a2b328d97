// Compaction as bounded work (issue 11): a cleaner run reads at most compactionStepBytes of
// records per step (chunking within a segment, in the scan and in the rewrite) and resumes on
// the next, ending with exactly the log one whole run leaves; a log unchanged since its last
// compaction is not read at all; a rewrite whose segment goes meanwhile removes its temp file.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32c } from "../../src/core/crc32c.js";
import type { DiskOp, DiskReader } from "../../src/core/disk.js";
import { CLEANED_SUFFIX, compactLog, LogCompaction, type CompactionStep } from "../../src/core/log/log-compactor.js";
import { recoverSegments } from "../../src/core/log/log-recovery.js";
import type { Segment } from "../../src/core/log/segment.js";
import type { Offset, TimeMs, TimestampNs } from "../../src/core/types.js";
import { LOG_DIR, LogHarness, message, testLogConfig } from "../../sim/testing/log-harness.js";

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

test("compaction in bounded steps (one record each) ends with the same log as compaction in one step", () => {
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

/** One appended record of a generated log: its key (null: keyless) and value length. */
interface GenRecord {
  readonly key: string | null;
  readonly valueBytes: number;
}

/** A closed log on its own disk holding `records`, its segments as recovery loads them, and a high watermark. */
function closedLog(records: readonly GenRecord[], segmentMaxBytes: number, hw: number): { h: LogHarness; segments: Segment[] } {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes }));
  records.forEach((r, i) => {
    const appended = h.log.appendAsLeader([message(r.key, `${i}:`.padEnd(r.valueBytes, "x"))], BigInt(i) as TimestampNs, 0 as never, 0 as TimeMs);
    assert.ok(appended.ok);
    h.apply(appended.value.ops);
  });
  h.log.setHighWatermark(hw as Offset);
  h.apply(h.log.close());
  const recovered = recoverSegments(h.disk, LOG_DIR, 0, crc32c, { recoveryPoint: undefined, compactEnabled: true, truncateBeforeRecoveryPoint: false });
  h.apply(recovered.ops);
  return { h, segments: recovered.segments };
}

/** Every file of the log directory and its bytes. */
function files(h: LogHarness): Map<string, Uint8Array> {
  return new Map(h.disk.list(LOG_DIR).map((name) => [name, h.disk.read(`${LOG_DIR}/${name}`, 0, 1 << 24)]));
}

/** A reader that records the bytes of each read call. */
function countingReader(inner: DiskReader, reads: number[]): DiskReader {
  return {
    read: (path, position, length) => {
      const bytes = inner.read(path, position, length);
      reads.push(bytes.length);
      return bytes;
    },
    list: (dir) => inner.list(dir),
    stat: (path) => inner.stat(path),
  };
}

/** Largest record of any segment, in bytes. */
function largestRecord(segments: readonly Segment[]): number {
  let max = 0;
  for (const s of segments) for (let i = 0; i < s.entries; i++) max = Math.max(max, s.recordBytesAt(i));
  return max;
}

/** Runs a compaction to its end in steps of `budgetBytes`, applying each step's ops; checks each step's reads. */
function stepToEnd(h: LogHarness, run: LogCompaction, live: Segment[], budgetBytes: number, largest: number): { steps: number; last: CompactionStep } {
  let steps = 0;
  for (;;) {
    const reads: number[] = [];
    const ops: DiskOp[] = [];
    const r = run.step(countingReader(h.disk, reads), live, ops, budgetBytes);
    h.apply(ops);
    steps++;
    const bytes = reads.reduce((a, b) => a + b, 0);
    assert.ok(bytes <= Math.max(budgetBytes, largest), `step ${steps} read ${bytes} bytes (budget ${budgetBytes}, largest record ${largest})`);
    if (bytes > budgetBytes) assert.equal(reads.length, 1, "over the budget only by reading one record alone");
    if (r.kind !== "more") return { steps, last: r };
  }
}

const genRecord: fc.Arbitrary<GenRecord> = fc.record({
  key: fc.option(fc.constantFrom("a", "b", "c", "d", "e"), { freq: 4 }),
  valueBytes: fc.integer({ min: 0, max: 180 }),
});

test("compaction in steps of 1..300 bytes leaves byte-identical files and the same segments as compactLog at once", () => {
  fc.assert(
    fc.property(fc.array(genRecord, { minLength: 1, maxLength: 60 }), fc.integer({ min: 150, max: 700 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 300 }), (records, segmentMaxBytes, hwFraction, budgetBytes) => {
      const hw = Math.floor(hwFraction * (records.length - 1));
      const whole = closedLog(records, segmentMaxBytes, hw);
      const once = compactLog(whole.h.disk, LOG_DIR, whole.segments, hw, crc32c);
      whole.h.apply(once.ops);
      const stepped = closedLog(records, segmentMaxBytes, hw);
      const live = [...stepped.segments];
      const largest = largestRecord(live);
      const { steps, last } = stepToEnd(stepped.h, new LogCompaction(LOG_DIR, live, hw, crc32c), live, budgetBytes, largest);
      assert.equal(last.kind, "done");
      if (records.length > 1 && budgetBytes < largest) assert.ok(steps > 1, "several steps");
      assert.deepEqual(live.map((s) => [s.baseOffset, s.sizeBytes, s.entries]), once.segments.map((s) => [s.baseOffset, s.sizeBytes, s.entries]));
      assert.deepEqual(files(stepped.h), files(whole.h));
    }),
    { numRuns: 150 },
  );
});

/** 16 records: every third has key a (superseded but for the last), the others are keyless (kept). */
function sparseKeys(): GenRecord[] {
  return Array.from({ length: 16 }, (_, i) => ({ key: i % 3 === 0 ? "a" : null, valueBytes: 40 }));
}

test("a rewrite whose segment retention removes between steps is abandoned, its temp file removed", () => {
  const { h, segments } = closedLog(sparseKeys(), 400, sparseKeys().length - 1);
  const live = [...segments];
  assert.ok(live.length > 2 && (live[0] as Segment).entries > 2, "several segments, the first with several records");
  const first = live[0] as Segment;
  const temp = first.logPath + CLEANED_SUFFIX;
  const run = new LogCompaction(LOG_DIR, live, sparseKeys().length - 1, crc32c);
  // Step one record at a time until the first segment's rewrite has created its temp file.
  let r: CompactionStep = { kind: "more" };
  for (let n = 0; h.disk.stat(temp) === undefined; n++) {
    assert.ok(n < 100 && r.kind === "more", "the rewrite of segment 0 starts");
    const ops: DiskOp[] = [];
    r = run.step(h.disk, live, ops, 1);
    h.apply(ops);
  }
  live.shift(); // retention removed segment 0 (its files stay: only the live list matters here)
  const ops: DiskOp[] = [];
  r = run.step(h.disk, live, ops, 1);
  assert.ok(ops.some((op) => op.kind === "remove" && op.path === temp), "the temp file is removed");
  assert.ok(!ops.some((op) => op.kind === "rename" && op.to === first.logPath), "segment 0 is not replaced");
  h.apply(ops);
  assert.equal(h.disk.stat(temp), undefined);
  r = stepToEnd(h, run, live, 1, largestRecord(live)).last;
  assert.equal(r.kind, "done");
  assert.ok(!live.includes(first));
  assert.deepEqual(h.disk.list(LOG_DIR).filter((n) => n.endsWith(CLEANED_SUFFIX)), []);
});

test("truncation in the middle of a chunked rewrite removes its temp file", () => {
  const h = new LogHarness(testLogConfig({ compactEnabled: true, segmentMaxBytes: 400, compactionStepBytes: 1 }));
  sparseKeys().forEach((r, i) => {
    const appended = h.log.appendAsLeader([message(r.key, `${i}:`.padEnd(r.valueBytes, "x"))], 1n as TimestampNs, 0 as never, 0 as TimeMs);
    assert.ok(appended.ok);
    h.apply(appended.value.ops);
  });
  h.log.setHighWatermark(h.log.newestOffset);
  const temps = (): string[] => h.disk.list("streams/s/0").filter((n) => n.endsWith(CLEANED_SUFFIX));
  let r = h.log.cleanup(0 as TimeMs, 0n as TimestampNs);
  h.apply(r.ops);
  while (r.more && temps().length === 0) {
    r = h.log.continueCompaction();
    h.apply(r.ops);
  }
  assert.ok(r.more && temps().length === 1, "a rewrite is under way with its temp file");
  const cut = h.log.truncateTo(h.log.newestOffset);
  assert.ok(cut.ok);
  h.apply(cut.value);
  assert.deepEqual(temps(), []);
  assert.equal(h.log.continueCompaction().more, false);
});
