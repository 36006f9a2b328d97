import { test } from "node:test";
import assert from "node:assert/strict";
import { CommitLog, EPOCH_CHECKPOINT_FILE, HW_CHECKPOINT_FILE } from "../../src/core/log/commit-log.js";
import type { Epoch, Offset, TimeMs, TimestampNs } from "../../src/core/types.js";
import { LogHarness, LOG_DIR, message, testLogConfig } from "../../sim/testing/log-harness.js";
import { crc32c } from "../../src/core/crc32c.js";
import { decodeStoredRecords } from "../../src/core/log/stored-records.js";
import { RECOVERY_POINT_FILE } from "../../src/core/log/recovery-point.js";

const E1 = 1 as Epoch;
const T0 = 1_700_000_000_000_000_000n as TimestampNs;
const NOW = 0 as TimeMs;
const text = (b: Uint8Array | null): string | null => (b === null ? null : new TextDecoder().decode(b));

function appendValues(h: LogHarness, values: readonly string[], epoch = E1, ts = T0): void {
  const r = h.log.appendAsLeader(values.map((v) => message(null, v)), ts, epoch, h.nowMs as TimeMs);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  h.apply(r.value.ops);
}

function readAll(h: LogHarness): { offset: number; value: string | null }[] {
  const r = h.log.read(0 as Offset, Number.MAX_SAFE_INTEGER as Offset, Number.MAX_SAFE_INTEGER);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  return r.value.records.map((rec) => ({ offset: rec.offset, value: text(rec.value) }));
}

test("open on an empty disk creates the directory and segment 0", () => {
  const h = new LogHarness(testLogConfig());
  assert.deepEqual(h.disk.list(LOG_DIR), ["00000000000000000000.index", "00000000000000000000.log"]);
  assert.equal(h.log.logEndOffset, 0);
  assert.equal(h.log.newestOffset, -1);
  assert.equal(h.log.highWatermark, -1);
});

test("append as leader: consecutive offsets, one log write, one trailing fdatasync; index entries buffered until a sync", () => {
  const h = new LogHarness(testLogConfig());
  const r = h.log.appendAsLeader([message("a", "1"), message(null, "2", [["subject", "x"]])], T0, E1, NOW);
  assert.ok(r.ok);
  assert.equal(r.value.firstOffset, 0);
  assert.equal(r.value.lastOffset, 1);
  const kinds = r.value.ops.filter((o) => o.kind !== "create" && o.kind !== "rename" && o.kind !== "syncDir" && !("path" in o && o.path.includes("checkpoint")));
  assert.deepEqual(kinds.map((o) => o.kind), ["write", "fdatasync"]);
  assert.ok(kinds[0]?.kind === "write" && kinds[0].path.endsWith(".log"));
  assert.equal(r.value.ops[r.value.ops.length - 1]?.kind, "fdatasync");
  h.apply(r.value.ops);
  // The buffered index entries go out with the next sync (or roll, truncate, cleanup, close).
  // ... and the recovery point checkpoint, which moved to 2 with the append's fdatasync.
  const flush = h.log.syncOps();
  assert.deepEqual(flush.map((o) => (o.kind === "write" ? `write ${o.path.slice(-6)}` : o.kind)), ["write .index", "create", "write nt.tmp", "fdatasync", "close", "rename"]);
  h.apply(flush);
  assert.equal(h.disk.stat(`${h.log.dir}/00000000000000000000.index`)?.size, 40);
  assert.equal(h.log.recoveryPoint, 2);
  const read = h.log.read(0 as Offset, 1 as Offset, 1 << 20);
  assert.ok(read.ok);
  assert.deepEqual(read.value.records.map((x) => [x.offset, text(x.key), text(x.value), x.leaderEpoch, x.timestampNs]), [
    [0, "a", "1", 1, T0],
    [1, null, "2", 1, T0],
  ]);
  assert.deepEqual(read.value.records[1]?.headers.map(([k, v]) => [k, text(v)]), [["subject", "x"]]);
  assert.equal(read.value.nextOffset, 2);
  assert.equal(read.value.bytes.length, h.log.sizeBytes);
});

test("sync policy never and interval: no fdatasync on append; interval syncs from syncOps", () => {
  for (const syncPolicy of ["never", "interval"] as const) {
    const h = new LogHarness(testLogConfig({ syncPolicy }));
    const r = h.log.appendAsLeader([message(null, "x")], T0, E1, NOW);
    assert.ok(r.ok);
    assert.ok(!r.value.ops.some((o) => o.kind === "fdatasync" && o.path.endsWith(".log")));
    h.apply(r.value.ops);
    assert.equal(h.log.recoveryPoint, 0);
    const sync = h.log.syncOps();
    // Index, log fdatasync, then the recovery point checkpoint (atomically replaced).
    assert.deepEqual(sync.map((o) => o.kind), ["write", "fdatasync", "create", "write", "fdatasync", "close", "rename"]);
    h.apply(sync);
    assert.equal(h.log.recoveryPoint, 1);
    assert.equal(new TextDecoder().decode(h.disk.read(`${LOG_DIR}/${RECOVERY_POINT_FILE}`, 0, 100)), "1");
    assert.deepEqual(h.log.syncOps(), []);
  }
});

test("bad input gives typed errors and writes nothing", () => {
  const h = new LogHarness(testLogConfig({ maxMessageBytes: 100 }));
  appendValues(h, ["a", "b"]);
  const before = h.disk.files().map((f) => [f, h.disk.stat(f)?.size]);
  const tooBig = h.log.appendAsLeader([message(null, "ok"), message(null, "x".repeat(200))], T0, E1, NOW);
  assert.equal(tooBig.ok ? "" : tooBig.error.code, "MessageTooLarge");
  const wrongOffset = h.log.appendAsLeader([{ ...message(null, "x"), expectedOffset: 7 }], T0, E1, NOW);
  assert.equal(wrongOffset.ok ? "" : wrongOffset.error.code, "IncorrectOffset");
  const rightOffset = h.log.appendAsLeader([{ ...message(null, "x"), expectedOffset: 2 }], T0, E1, NOW);
  assert.ok(rightOffset.ok);
  h.apply(rightOffset.value.ops);
  const stale = h.log.appendAsLeader([message(null, "x")], T0, 0 as Epoch, NOW);
  assert.equal(stale.ok ? "" : stale.error.code, "NotLeader");
  const followerGap = h.log.appendAsFollower(new Uint8Array([1, 2, 3]), NOW);
  assert.equal(followerGap.ok ? "" : followerGap.error.code, "CorruptRecord");
  // A follower batch that starts below the log end (a duplicate) is refused.
  const dup = h.log.read(0 as Offset, 0 as Offset, 1 << 20);
  assert.ok(dup.ok);
  const dupAppend = h.log.appendAsFollower(dup.value.bytes, NOW);
  assert.equal(dupAppend.ok ? "" : dupAppend.error.code, "OffsetOutOfRange");
  const below = h.log.truncateTo(-1 as Offset);
  assert.equal(below.ok ? "" : below.error.code, "OffsetOutOfRange");
  assert.equal(h.log.logEndOffset, 3);
  const after = h.disk.files().map((f) => [f, h.disk.stat(f)?.size]);
  assert.deepEqual(after.filter(([f]) => !String(f).includes("checkpoint")).length, before.filter(([f]) => !String(f).includes("checkpoint")).length);
  assert.deepEqual(readAll(h).map((r) => r.value), ["a", "b", "x"]);
});

test("follower append: verbatim bytes from a leader, epochs go to the cache", () => {
  const leader = new LogHarness(testLogConfig());
  appendValues(leader, ["a", "b"], 1 as Epoch);
  appendValues(leader, ["c"], 3 as Epoch);
  const follower = new LogHarness(testLogConfig(), 2);
  const bytes = leader.log.read(0 as Offset, 2 as Offset, 1 << 20);
  assert.ok(bytes.ok);
  const r = follower.log.appendAsFollower(bytes.value.bytes, NOW);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  assert.equal(r.value.lastOffset, 2);
  follower.apply(r.value.ops);
  assert.deepEqual(readAll(follower), readAll(leader));
  assert.deepEqual(follower.log.leaderEpochCache.entries, [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 2 },
  ]);
  const leaderBytes = leader.disk.read(`${LOG_DIR}/00000000000000000000.log`, 0, 1 << 20);
  assert.deepEqual(follower.disk.read(`${LOG_DIR}/00000000000000000000.log`, 0, 1 << 20), leaderBytes);
});

test("segments roll by size and by age; reads cross segments", () => {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes: 200, segmentMaxAgeMs: 1000 }));
  for (let i = 0; i < 10; i++) appendValues(h, [`value-${i}`]);
  assert.ok(h.log.segmentBaseOffsets.length > 2, `segments ${h.log.segmentBaseOffsets.join(",")}`);
  assert.deepEqual(readAll(h).map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const segs = h.log.segmentBaseOffsets.length;
  h.nowMs = 999;
  assert.deepEqual(h.log.maybeRoll(h.nowMs as TimeMs), []);
  h.nowMs = 5000;
  h.apply(h.log.maybeRoll(h.nowMs as TimeMs));
  assert.equal(h.log.segmentBaseOffsets.length, segs + 1);
  assert.deepEqual(h.log.maybeRoll(h.nowMs as TimeMs), [], "an empty active segment does not roll");
});

test("read bounds: below oldest starts at oldest, beyond the end is empty, maxBytes returns at least one record", () => {
  const h = new LogHarness(testLogConfig());
  appendValues(h, ["a", "b", "c", "d"]);
  const hw = h.log.read(0 as Offset, 1 as Offset, 1 << 20);
  assert.ok(hw.ok);
  assert.deepEqual(hw.value.records.map((r) => r.offset), [0, 1]);
  const beyond = h.log.read(9 as Offset, 100 as Offset, 1 << 20);
  assert.ok(beyond.ok);
  assert.equal(beyond.value.records.length, 0);
  const tiny = h.log.read(1 as Offset, 100 as Offset, 1);
  assert.ok(tiny.ok);
  assert.deepEqual(tiny.value.records.map((r) => r.offset), [1]);
  assert.equal(tiny.value.nextOffset, 2);
});

test("a stored-mode read verifies the same records and returns the same bytes, count and next offset, decoding none", () => {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes: 200 }));
  for (let i = 0; i < 12; i++) appendValues(h, [`value-${i}`]);
  for (const [from, to, maxBytes] of [[0, 11, 1 << 20], [3, 9, 1 << 20], [2, 11, 150], [5, 5, 1], [20, 30, 1 << 20]] as const) {
    const decoded = h.log.read(from as Offset, to as Offset, maxBytes);
    const stored = h.log.read(from as Offset, to as Offset, maxBytes, "stored");
    assert.ok(decoded.ok && stored.ok);
    assert.deepEqual(stored.value.records, []);
    assert.equal(stored.value.count, decoded.value.records.length);
    assert.equal(decoded.value.count, decoded.value.records.length);
    assert.deepEqual(stored.value.bytes, decoded.value.bytes);
    assert.equal(stored.value.nextOffset, decoded.value.nextOffset);
    assert.deepEqual(decodeStoredRecords(stored.value, crc32c), decoded.value.records);
  }
});

test("truncateTo drops offsets >= o, lowers the HW and the epoch cache, and survives reopen", () => {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes: 150 }));
  appendValues(h, ["a", "b", "c"], 1 as Epoch);
  appendValues(h, ["d", "e", "f"], 2 as Epoch);
  h.log.setHighWatermark(5 as Offset);
  const r = h.log.truncateTo(2 as Offset);
  assert.ok(r.ok);
  h.apply(r.value);
  assert.equal(h.log.logEndOffset, 2);
  assert.equal(h.log.highWatermark, 1);
  assert.deepEqual(h.log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }]);
  h.reopen();
  assert.deepEqual(readAll(h).map((x) => x.value), ["a", "b"]);
  assert.deepEqual(h.log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }]);
  appendValues(h, ["z"], 3 as Epoch);
  assert.deepEqual(readAll(h).map((x) => [x.offset, x.value]), [[0, "a"], [1, "b"], [2, "z"]]);
});

test("high watermark and epoch checkpoints: written atomically, a garbage or empty file is tolerated (Liftbridge #333)", () => {
  const h = new LogHarness(testLogConfig());
  appendValues(h, ["a", "b", "c"]);
  h.log.setHighWatermark(1 as Offset);
  h.log.setHighWatermark(0 as Offset);
  const ops = h.log.checkpointHighWatermark();
  // No directory sync: both checkpoints may lag (the rename is atomic either way).
  const atomic = ["create", "write", "fdatasync", "close", "rename"];
  // The recovery point (3, after the appends' fdatasyncs) rides along the first time.
  assert.deepEqual(ops.map((o) => o.kind), [...atomic, ...atomic]);
  // Unchanged since the last checkpoint: nothing is written (issue 11: 1,024 partitions, 1.5 s stalls).
  assert.deepEqual(h.log.checkpointHighWatermark(), []);
  h.log.setHighWatermark(2 as Offset);
  assert.deepEqual(h.log.checkpointHighWatermark().map((o) => o.kind), atomic);
  h.apply(ops);
  h.reopen();
  assert.equal(h.log.highWatermark, 1);
  for (const garbage of ["", "not a number", "\u0000\u0000"]) {
    const path = `${LOG_DIR}/${HW_CHECKPOINT_FILE}`;
    h.disk.create(path);
    h.disk.write(path, 0, [new TextEncoder().encode(garbage)]);
    const epochPath = `${LOG_DIR}/${EPOCH_CHECKPOINT_FILE}`;
    h.disk.create(epochPath);
    h.disk.write(epochPath, 0, [new TextEncoder().encode(garbage)]);
    const opened = CommitLog.open(h.disk, LOG_DIR, h.config, NOW);
    h.apply(opened.ops);
    assert.equal(opened.log.highWatermark, -1);
    assert.ok(opened.events.some((e) => e.msg.includes("high watermark")));
    // The epoch cache is rebuilt from the records when its checkpoint is unreadable.
    assert.deepEqual(opened.log.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }]);
    assert.equal(opened.log.logEndOffset, 3);
    h.log = opened.log;
  }
});

test("a missing or corrupt index is rebuilt from the log", () => {
  const h = new LogHarness(testLogConfig());
  appendValues(h, ["a", "b", "c"]);
  h.apply(h.log.close());
  const index = `${LOG_DIR}/00000000000000000000.index`;
  const good = h.disk.read(index, 0, 1000);
  h.disk.remove(index);
  h.open();
  assert.deepEqual(h.disk.read(index, 0, 1000), good);
  h.apply(h.log.close());
  h.disk.write(index, 3, [new Uint8Array([0xff, 0xff])]);
  h.open();
  assert.ok(h.events.some((e) => e.msg.includes("rebuilt")));
  assert.deepEqual(h.disk.read(index, 0, 1000), good);
  assert.deepEqual(readAll(h).map((x) => x.value), ["a", "b", "c"]);
});

test("a torn tail after the recovery point is cut on an unclean open, with a warning", () => {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes: 120, syncPolicy: "never" }));
  for (const v of ["a", "b", "c", "d", "e", "f"]) appendValues(h, [v]);
  const bases = h.log.segmentBaseOffsets;
  const rp = h.log.recoveryPoint;
  assert.equal(rp, bases[bases.length - 1], "under sync never the recovery point is where the last roll synced");
  const active = `${LOG_DIR}/${String(rp).padStart(20, "0")}.log`;
  const size = h.disk.stat(active)?.size ?? 0;
  h.disk.truncate(active, size - 3);
  h.open(); // unclean: no close
  assert.equal(h.log.logEndOffset, 5, "the torn record 5 is cut");
  assert.deepEqual(h.log.segmentBaseOffsets, bases);
  assert.deepEqual(readAll(h).map((x) => x.value), ["a", "b", "c", "d", "e"]);
  assert.ok(h.events.some((e) => e.level === "warn" && e.msg.includes("torn")));
});

test("corrupt bytes before the recovery point are kept: reads stop at them with CorruptRecord, later records stay readable, no offset is reused", () => {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes: 120 }));
  for (const v of ["a", "b", "c", "d", "e", "f"]) appendValues(h, [v]);
  const bases = h.log.segmentBaseOffsets;
  assert.ok(bases.length >= 3);
  const second = `${LOG_DIR}/${String(bases[1]).padStart(20, "0")}.log`;
  const sizes = bases.map((b) => h.disk.stat(`${LOG_DIR}/${String(b).padStart(20, "0")}.log`)?.size);
  h.disk.flipBit(second, 40, 3);
  const read = h.log.read(bases[1]!, 100 as Offset, 1 << 20);
  assert.equal(read.ok ? "" : read.error.code, "CorruptRecord", "a corrupt record is never returned");
  for (const planted of [false, true]) {
    // Unclean open (no close), with and without the planted bug that restores the old behaviour.
    const config = testLogConfig({ segmentMaxBytes: 120, ...(planted ? { truncateBeforeRecoveryPoint: true } : {}) });
    const opened = CommitLog.open(h.disk, LOG_DIR, config, NOW);
    if (planted) {
      assert.equal(opened.log.logEndOffset, bases[1], "the planted bug cuts the log at the corrupt record");
      continue;
    }
    h.apply(opened.ops);
    h.log = opened.log;
    assert.equal(h.log.logEndOffset, 6);
    assert.deepEqual(h.log.segmentBaseOffsets, bases, "no segment is deleted");
    assert.deepEqual(bases.map((b) => h.disk.stat(`${LOG_DIR}/${String(b).padStart(20, "0")}.log`)?.size), sizes, "no byte is cut");
    const first = h.log.read(0 as Offset, 100 as Offset, 1 << 20);
    assert.deepEqual(first.ok ? first.value.records.map((r) => text(r.value)) : [], ["a", "b", "c", "d", "e", "f"].slice(0, bases[1]));
    const bad = h.log.read(bases[1]!, 100 as Offset, 1 << 20);
    assert.equal(bad.ok ? "" : bad.error.code, "CorruptRecord");
    assert.match(bad.ok ? "" : bad.error.message, new RegExp(`offset ${bases[1]}`));
    const after = h.log.read((bases[1]! + 1) as Offset, 100 as Offset, 1 << 20);
    assert.ok(after.ok);
    assert.deepEqual(after.value.records.map((r) => text(r.value)), ["a", "b", "c", "d", "e", "f"].slice(bases[1]! + 1));
    appendValues(h, ["g"]);
    assert.equal(h.log.logEndOffset, 7, "appends continue after the last offset");
  }
});

test("a truncated middle segment and a missing middle .log are damaged ranges, not silent gaps; later segments are kept", () => {
  for (const damage of ["truncate", "remove"] as const) {
    const h = new LogHarness(testLogConfig({ segmentMaxBytes: 120 }));
    for (const v of ["a", "b", "c", "d", "e", "f", "g", "h"]) appendValues(h, [v]);
    const bases = h.log.segmentBaseOffsets;
    assert.ok(bases.length >= 4);
    const mid = `${LOG_DIR}/${String(bases[1]).padStart(20, "0")}.log`;
    if (damage === "truncate") h.disk.truncate(mid, (h.disk.stat(mid)?.size ?? 0) - 5);
    else h.disk.remove(mid);
    h.open();
    assert.equal(h.log.logEndOffset, 8, damage);
    const gapStart = damage === "truncate" ? bases[2]! - 1 : bases[1]!;
    const upTo = h.log.read(0 as Offset, 100 as Offset, 1 << 20);
    assert.ok(upTo.ok);
    assert.equal(upTo.value.nextOffset, gapStart, `${damage}: a read stops before the damage`);
    const bad = h.log.read(gapStart as Offset, 100 as Offset, 1 << 20);
    assert.equal(bad.ok ? "" : bad.error.code, "CorruptRecord", damage);
    const later = h.log.read(bases[2]!, 100 as Offset, 1 << 20);
    assert.deepEqual(later.ok ? later.value.records.map((r) => r.offset) : [], [2, 3, 4, 5, 6, 7].filter((o) => o >= bases[2]!), damage);
    appendValues(h, ["i"]);
    assert.equal(h.log.logEndOffset, 9);
  }
});

test("an unclean open reads only the log after the recovery point (plus index files and a few record headers before it)", () => {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes: 2000 }));
  for (let i = 0; i < 200; i++) appendValues(h, [`value-${i}-${"x".repeat(40)}`]);
  const logBytesRead = new Map<string, number>();
  const counting = {
    read: (path: string, position: number, length: number) => {
      const out = h.disk.read(path, position, length);
      if (path.endsWith(".log")) logBytesRead.set(path, (logBytesRead.get(path) ?? 0) + out.length);
      return out;
    },
    list: (dir: string) => h.disk.list(dir),
    stat: (path: string) => h.disk.stat(path),
  };
  const bases = h.log.segmentBaseOffsets;
  assert.ok(bases.length >= 5);
  const opened = CommitLog.open(counting, LOG_DIR, h.config, NOW);
  assert.equal(opened.log.logEndOffset, 200);
  const active = `${LOG_DIR}/${String(bases[bases.length - 1]).padStart(20, "0")}.log`;
  for (const [path, n] of logBytesRead) if (path !== active) assert.ok(n <= 4 * 28, `${path}: ${n} bytes read`);
});

test("offsetForTimestamp: first offset with timestamp >= ts, even when clocks step back", () => {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes: 100 }));
  const stamps = [10n, 20n, 15n, 30n, 30n, 5n, 40n];
  stamps.forEach((ts) => appendValues(h, ["v"], E1, ts as TimestampNs));
  for (let q = 0n; q <= 45n; q++) {
    const linear = stamps.findIndex((ts) => ts >= q);
    assert.equal(h.log.offsetForTimestamp(q as TimestampNs), linear < 0 ? stamps.length : linear, `ts ${q}`);
  }
});

test("the recovery point checkpoint: under sync never it moves only at rolls and close, never ahead of what was synced", () => {
  const h = new LogHarness(testLogConfig({ segmentMaxBytes: 120, syncPolicy: "never" }));
  const rpPath = `${LOG_DIR}/${RECOVERY_POINT_FILE}`;
  const onDisk = (): number | undefined => (h.disk.stat(rpPath) === undefined ? undefined : Number(new TextDecoder().decode(h.disk.read(rpPath, 0, 100))));
  appendValues(h, ["a"]);
  assert.equal(h.log.recoveryPoint, 0);
  h.apply(h.log.checkpointHighWatermark());
  assert.equal(onDisk(), undefined, "nothing synced yet: no recovery point written");
  for (const v of ["b", "c", "d", "e"]) appendValues(h, [v]);
  const bases = h.log.segmentBaseOffsets;
  assert.ok(bases.length >= 2);
  const last = bases[bases.length - 1]!;
  assert.equal(h.log.recoveryPoint, last, "the last roll synced everything before the active segment");
  assert.equal(onDisk(), last, "and wrote it after the sealed segment's fdatasync");
  // Every roll's checkpoint comes after that roll's fdatasync of the sealed segment.
  const roll = h.log.forceRoll(h.nowMs as TimeMs);
  const syncAt = roll.findIndex((o) => o.kind === "fdatasync" && o.path.endsWith(".log"));
  const renameAt = roll.findIndex((o) => o.kind === "rename" && o.to.endsWith(RECOVERY_POINT_FILE));
  assert.ok(syncAt >= 0 && renameAt > syncAt, "checkpoint after fdatasync");
  h.apply(roll);
  assert.equal(onDisk(), 5);
  appendValues(h, ["f"]);
  h.apply(h.log.close());
  assert.equal(onDisk(), 6, "close syncs and checkpoints the end");
});
