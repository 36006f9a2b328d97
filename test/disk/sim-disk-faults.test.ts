// SimDisk's injected faults and crash knobs, one behaviour per test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimDisk, type SimDiskFaults } from "../../sim/sim-disk.js";
import { SimRandom } from "../../sim/sim-random.js";
import { assertDiskError } from "../../sim/testing/disk-contract.js";

/** A SimDisk on a virtual clock that advances 1 ms per reading. */
function makeDisk(faults: Partial<SimDiskFaults> = {}, seed = 1): SimDisk {
  let now = 100;
  return new SimDisk({ random: new SimRandom(seed, "disk"), nowMs: () => now++, faults });
}

/** A disk with a durable, empty file d/f. */
function withDurableFile(faults: Partial<SimDiskFaults> = {}): SimDisk {
  const disk = makeDisk(faults);
  disk.mkdir("d");
  disk.create("d/f");
  disk.syncDir("d");
  disk.syncDir("");
  return disk;
}

const bytes = (...v: number[]): Uint8Array => new Uint8Array(v);
const content = (disk: SimDisk, path: string): number[] => [...disk.read(path, 0, 1 << 20)];

test("fdatasync EIO: reads still see the data, a crash drops it, even after a later successful fdatasync", () => {
  const disk = withDurableFile();
  disk.write("d/f", 0, [bytes(1, 2, 3)]);
  disk.setFaults({ fsyncErrorPerMille: 1000 });
  assertDiskError(() => disk.fdatasync("d/f"), "EIO", "fdatasync");
  assert.deepEqual(content(disk, "d/f"), [1, 2, 3]);
  disk.setFaults({ fsyncErrorPerMille: 0 });
  disk.write("d/f", 3, [bytes(4)]);
  disk.fdatasync("d/f");
  assert.deepEqual(disk.crash(), { writes: [], dirs: [] });
  // Linux marks the pages clean after a writeback error: the lost write leaves a zero-filled gap.
  assert.deepEqual(content(disk, "d/f"), [0, 0, 0, 4]);
});

test("fdatasync EIO: doomed writes still pending at a crash are reported dropped", () => {
  const disk = withDurableFile();
  disk.write("d/f", 0, [bytes(9, 9)]);
  disk.setFaults({ fsyncErrorPerMille: 1000 });
  assertDiskError(() => disk.fdatasync("d/f"), "EIO", "fdatasync");
  const report = disk.crash();
  assert.deepEqual(report.writes.map((w) => w.fate), [{ kind: "dropped", afterFsyncError: true }]);
  assert.deepEqual(content(disk, "d/f"), []);
});

test("syncDir EIO leaves the namespace ops pending", () => {
  const disk = makeDisk({ fsyncErrorPerMille: 1000 });
  disk.mkdir("d");
  assertDiskError(() => disk.syncDir(""), "EIO", "syncDir");
  assert.equal(disk.pendingCounts().namespaceOps, 1);
});

test("ENOSPC: a write past capacity fails and changes nothing", () => {
  const disk = withDurableFile({ capacityBytes: 10 });
  disk.create("d/g");
  disk.write("d/f", 0, [bytes(1, 2, 3, 4, 5, 6)]);
  disk.write("d/g", 0, [bytes(7, 7)]);
  const pendingBefore = disk.pendingCounts();
  assertDiskError(() => disk.write("d/f", 6, [bytes(1, 1), bytes(1, 1, 1)]), "ENOSPC", "write");
  assert.deepEqual(content(disk, "d/f"), [1, 2, 3, 4, 5, 6]);
  assert.equal(disk.usedBytes(), 8);
  assert.deepEqual(disk.pendingCounts(), pendingBefore);
  disk.write("d/f", 0, [bytes(0, 0, 0, 0, 0, 0)]);
  disk.write("d/f", 6, [bytes(5, 5)]);
  assert.equal(disk.usedBytes(), 10);
  disk.remove("d/g");
  disk.write("d/f", 8, [bytes(8, 8)]);
  assert.equal(disk.usedBytes(), 10);
});

test("read EIO fails the read and changes nothing", () => {
  const disk = withDurableFile();
  disk.write("d/f", 0, [bytes(1, 2)]);
  disk.setFaults({ readErrorPerMille: 1000 });
  assertDiskError(() => disk.read("d/f", 0, 2), "EIO", "read");
  disk.setFaults({ readErrorPerMille: 0 });
  assert.deepEqual(content(disk, "d/f"), [1, 2]);
});

test("a bit flip is visible at once and survives a crash", () => {
  const disk = withDurableFile();
  disk.write("d/f", 0, [bytes(0b0000_0000, 0b1111_1111)]);
  disk.fdatasync("d/f");
  disk.flipBit("d/f", 1, 3);
  assert.deepEqual(content(disk, "d/f"), [0, 0b1111_0111]);
  disk.crash();
  assert.deepEqual(content(disk, "d/f"), [0, 0b1111_0111]);
});

test("latency is drawn within 0..latencyMsMax, every value reachable, and 0 when off", () => {
  const disk = makeDisk({ latencyMsMax: 7 });
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) seen.add(disk.latencyMs(i % 2 === 0 ? "write" : "fdatasync"));
  assert.deepEqual([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
  disk.setFaults({ latencyMsMax: 0 });
  assert.equal(disk.latencyMs("write"), 0);
});

test("crash knobs: droppedWritePerMille 1000 drops every unsynced op, tornWritePerMille 1000 tears every write", () => {
  const dropAll = withDurableFile({ droppedWritePerMille: 1000 });
  dropAll.write("d/f", 0, [bytes(1, 2, 3)]);
  dropAll.truncate("d/f", 1);
  assert.ok(dropAll.crash().writes.every((w) => w.fate.kind === "dropped"));
  assert.deepEqual(content(dropAll, "d/f"), []);
  const tearAll = withDurableFile({ tornWritePerMille: 1000 });
  tearAll.write("d/f", 0, [bytes(1, 2, 3, 4)]);
  const [fate] = tearAll.crash().writes.map((w) => w.fate);
  assert.ok(fate?.kind === "torn" && fate.prefixLength >= 1 && fate.prefixLength <= 3);
  assert.deepEqual(content(tearAll, "d/f"), [1, 2, 3, 4].slice(0, fate.prefixLength));
});

test("a crash keeps synced data and durable entries, whatever the knobs", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const disk = makeDisk({ droppedWritePerMille: 500, lostDirEntryPerMille: 500 }, seed);
    disk.mkdir("d");
    disk.create("d/f");
    disk.write("d/f", 0, [bytes(1, 2)]);
    disk.fdatasync("d/f");
    disk.syncDir("d");
    disk.syncDir("");
    disk.write("d/f", 2, [bytes(3)]);
    disk.create("d/tmp");
    disk.crash();
    assert.deepEqual(content(disk, "d/f").slice(0, 2), [1, 2]);
  }
});

test("lostDirEntryPerMille 1000: an unsynced create, rename, remove, mkdir and removeTree are all undone", () => {
  const disk = withDurableFile({ lostDirEntryPerMille: 1000 });
  disk.write("d/f", 0, [bytes(5)]);
  disk.fdatasync("d/f");
  disk.mkdir("t/u");
  disk.create("t/u/g");
  disk.syncDir("t/u");
  disk.syncDir("t");
  disk.syncDir("");
  disk.rename("d/f", "d/renamed");
  disk.create("d/new");
  disk.mkdir("e");
  disk.removeTree("t");
  const report = disk.crash();
  assert.ok(report.dirs.every((d) => d.survived === 0));
  assert.deepEqual(disk.files(), ["d/f", "t/u/g"]);
  assert.deepEqual(content(disk, "d/f"), [5]);
});

test("syncDir of one side of a cross-directory rename makes the rename and the other side's earlier ops durable", () => {
  const disk = makeDisk({ lostDirEntryPerMille: 1000 });
  disk.mkdir("a");
  disk.mkdir("b");
  disk.syncDir("");
  disk.create("a/x");
  disk.syncDir("a");
  disk.create("b/early");
  disk.rename("a/x", "b/x");
  disk.create("b/late");
  disk.syncDir("a");
  disk.crash();
  assert.deepEqual(disk.files(), ["b/early", "b/x"]);
});

test("a renamed file not made durable may come back under its old name with its synced bytes", () => {
  const disk = withDurableFile({ lostDirEntryPerMille: 1000 });
  disk.write("d/f", 0, [bytes(1)]);
  disk.fdatasync("d/f");
  disk.rename("d/f", "d/g");
  disk.write("d/g", 1, [bytes(2)]);
  disk.fdatasync("d/g");
  disk.crash();
  assert.deepEqual(disk.files(), ["d/f"]);
  assert.deepEqual(content(disk, "d/f"), [1, 2]);
});

test("mtime follows the virtual clock", () => {
  let now = 5_000;
  const disk = new SimDisk({ random: new SimRandom(3, "disk"), nowMs: () => now });
  disk.create("f");
  now = 6_000;
  disk.write("f", 0, [bytes(1)]);
  assert.equal(disk.stat("f")?.mtimeMs, 6_000);
  now = 7_000;
  disk.create("g");
  assert.equal(disk.stat("")?.mtimeMs, 7_000);
});

test("fault knobs are validated", () => {
  assert.throws(() => makeDisk({ fsyncErrorPerMille: 1001 }));
  assert.throws(() => makeDisk({ tornWritePerMille: 600, droppedWritePerMille: 600 }));
  assert.throws(() => makeDisk({ latencyMsMax: -1 }));
  makeDisk({ capacityBytes: undefined }).setFaults({ capacityBytes: 0 });
});
