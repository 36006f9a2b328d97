// The Raft log on disk, case by case: what each change writes, what reopening recovers, the read
// side the node consults, and every refusal naming its file. Crash properties: raft-disk-log-crash.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyDiskOp } from "../../src/core/disk.js";
import { RaftDiskLog } from "../../src/core/raft/raft-disk-log.js";
import { encodeFrame } from "../../src/core/raft/raft-frame.js";
import { encodeEntry } from "../../src/core/raft/raft-record.js";
import type { RaftSnapshot } from "../../src/core/raft/raft-types.js";
import { crc32c } from "../../src/core/crc32c.js";
import { NodeDisk } from "../../src/io/node-disk.js";
import { RAFT_DIR, RaftLogHarness, textEntry, textOf } from "../../sim/testing/raft-log-harness.js";

const HS = `${RAFT_DIR}/hardstate`;

function entries(from: number, to: number, term: number, tag = "e"): ReturnType<typeof textEntry>[] {
  return Array.from({ length: to - from + 1 }, (_, i) => textEntry(from + i, term, `${tag}${from + i}`));
}

function snapshot(index: number, term: number, data = `state@${index}`): RaftSnapshot {
  return { meta: { index, term, confState: { voters: ["b1", "b2", "b3"], learners: ["b4"] } }, data: new TextEncoder().encode(data) };
}

function summary(h: RaftLogHarness): { first: number; last: number; terms: number[]; texts: string[] } {
  const log = h.log;
  const list = log.lastIndex() >= log.firstIndex() ? log.entries(log.firstIndex(), log.lastIndex() + 1, Infinity) : [];
  return { first: log.firstIndex(), last: log.lastIndex(), terms: list.map((e) => e.term), texts: list.map((e) => textOf(e.data)) };
}

function reopened(h: RaftLogHarness): ReturnType<typeof summary> {
  h.crash();
  h.open();
  return summary(h);
}

test("a fresh directory opens empty; entries, hard state and snapshot survive a reopen", () => {
  const h = new RaftLogHarness();
  const opened = h.open();
  assert.deepEqual(opened.hardState, { term: 0, vote: "", commit: 0 });
  assert.deepEqual(h.disk.list(RAFT_DIR), ["00000000000000000001.raft", "hardstate"]);
  assert.equal(h.log.firstIndex(), 1);
  assert.equal(h.log.lastIndex(), 0);
  assert.equal(h.log.term(0), 0);
  h.apply(h.log.persist({ entries: entries(1, 5, 1), hardState: { term: 1, vote: "b2", commit: 3 } }));
  h.apply(h.log.saveSnapshot(snapshot(3, 1)));
  const before = summary(h);
  h.crash();
  const again = h.open();
  assert.deepEqual(summary(h), { ...before, first: 4, terms: before.terms.slice(3), texts: before.texts.slice(3) });
  assert.deepEqual(again.hardState, { term: 1, vote: "b2", commit: 3 });
  assert.deepEqual(h.log.initialState().confState, { voters: ["b1", "b2", "b3"], learners: ["b4"] });
  assert.equal(textOf(again.snapshot!.data), "state@3");
  assert.equal(h.log.term(3), 1);
  assert.equal(h.log.term(2), undefined);
  assert.equal(h.log.term(6), undefined);
});

test("every change ends in fdatasync of what it wrote, and syncDir after creates, renames and removes", () => {
  const h = new RaftLogHarness({ segmentMaxBytes: 80 });
  h.open();
  const changes = [
    h.log.append(entries(1, 3, 1)),
    h.log.append(entries(4, 6, 1)), // rolls: the first segment is full
    h.log.setHardState({ term: 1, vote: "", commit: 6 }),
    h.log.saveSnapshot(snapshot(5, 1)),
    h.log.compact(5),
    h.log.append(entries(7, 7, 2)),
  ];
  for (const ops of changes) {
    const written = new Set(ops.filter((o) => o.kind === "write" || o.kind === "truncate").map((o) => ("path" in o ? o.path : "")));
    for (const path of written) {
      const lastWrite = ops.findLastIndex((o) => (o.kind === "write" || o.kind === "truncate") && o.path === path);
      assert.ok(ops.slice(lastWrite).some((o) => o.kind === "fdatasync" && o.path === path), `fdatasync of ${path} after its write`);
    }
    const lastNs = ops.findLastIndex((o) => o.kind === "create" || o.kind === "rename" || o.kind === "remove");
    if (lastNs >= 0) assert.ok(ops.slice(lastNs).some((o) => o.kind === "syncDir"), "syncDir after the last namespace change");
    h.apply(ops);
  }
  assert.ok(changes[1]!.some((o) => o.kind === "create"), "the second append started a segment");
  assert.ok(changes[4]!.some((o) => o.kind === "remove"), "compaction dropped the full segment");
});

test("append at or below the last index cuts the conflicting suffix first, durably, across segments", () => {
  const h = new RaftLogHarness({ segmentMaxBytes: 60 });
  h.open();
  for (let i = 1; i <= 9; i += 3) h.apply(h.log.append(entries(i, i + 2, 1)));
  assert.equal(h.log.segmentPaths().length, 3);
  const ops = h.log.append(entries(3, 4, 2, "new"));
  const kinds = ops.map((o) => o.kind);
  // Newest segments removed first, then the cut synced, and only then the new entries written.
  assert.deepEqual(kinds, ["remove", "syncDir", "remove", "syncDir", "truncate", "fdatasync", "write", "fdatasync"]);
  h.apply(ops);
  const expected = { first: 1, last: 4, terms: [1, 1, 2, 2], texts: ["e1", "e2", "new3", "new4"] };
  assert.deepEqual(summary(h), expected);
  assert.deepEqual(reopened(h), expected);
  // A conflict exactly at a segment's first index keeps that segment, emptied.
  h.apply(h.log.append(entries(5, 10, 2)));
  const texts = summary(h).texts;
  const bases = h.log.segmentPaths();
  const secondBase = Number(bases[1]!.slice(RAFT_DIR.length + 1, RAFT_DIR.length + 21));
  h.apply(h.log.append(entries(secondBase, secondBase, 3, "x")));
  assert.equal(h.log.segmentPaths()[1], bases[1]);
  assert.deepEqual(reopened(h).texts.slice(-2), [texts[secondBase - 2], `x${secondBase}`]);
});

test("segments roll at the size limit and compaction drops whole segments only", () => {
  const h = new RaftLogHarness({ segmentMaxBytes: 100 });
  h.open();
  for (let i = 1; i <= 30; i += 2) h.apply(h.log.append(entries(i, i + 1, 1)));
  const segments = h.log.segmentPaths().length;
  assert.ok(segments >= 5, `${segments} segments`);
  for (const path of h.log.segmentPaths().slice(0, -1)) assert.ok(h.disk.stat(path)!.size >= 100 && h.disk.stat(path)!.size < 200);
  h.apply(h.log.setHardState({ term: 1, vote: "", commit: 30 }));
  h.apply(h.log.saveSnapshot(snapshot(20, 1)));
  h.apply(h.log.compact(20));
  assert.equal(h.log.firstIndex(), 21);
  assert.ok(h.log.segmentPaths().length < segments);
  assert.equal(h.disk.list(RAFT_DIR).filter((n) => n.endsWith(".raft")).length, h.log.segmentPaths().length);
  assert.deepEqual(reopened(h).texts, entries(21, 30, 1).map((e) => textOf(e.data)));
});

test("a leader's snapshot past the log, or with another term, replaces every entry", () => {
  const h = new RaftLogHarness({ segmentMaxBytes: 60 });
  h.open();
  h.apply(h.log.append(entries(1, 8, 1)));
  h.apply(h.log.setHardState({ term: 2, vote: "", commit: 2 }));
  h.apply(h.log.persist({ snapshot: snapshot(6, 2), hardState: { term: 2, vote: "", commit: 6 } }));
  assert.deepEqual(summary(h), { first: 7, last: 6, terms: [], texts: [] });
  assert.equal(h.log.term(6), 2);
  assert.deepEqual(h.disk.list(RAFT_DIR), ["00000000000000000007.raft", "hardstate", "snapshot"]);
  h.apply(h.log.append(entries(7, 7, 2)));
  assert.deepEqual(reopened(h), { first: 7, last: 7, terms: [2], texts: ["e7"] });
  h.apply(h.log.persist({ snapshot: snapshot(20, 3), hardState: { term: 3, vote: "", commit: 20 } }));
  assert.deepEqual(reopened(h), { first: 21, last: 20, terms: [], texts: [] });
});

test("the read side: term at the compaction point, entries limited by size (always one)", () => {
  const h = new RaftLogHarness();
  h.open();
  h.apply(h.log.append([textEntry(1, 1, "aaaa"), textEntry(2, 1, "bbbb"), textEntry(3, 2, "cccc"), { index: 4, term: 2, type: "confChange", data: new Uint8Array([1, 2]) }]));
  assert.deepEqual(h.log.entries(1, 5, 0).map((e) => e.index), [1]);
  assert.deepEqual(h.log.entries(1, 5, 8).map((e) => e.index), [1, 2]);
  assert.deepEqual(h.log.entries(2, 5, 100).map((e) => e.index), [2, 3, 4]);
  assert.deepEqual(h.log.entries(3, 3, 100), []);
  h.apply(h.log.setHardState({ term: 2, vote: "b1", commit: 3 }));
  h.apply(h.log.saveSnapshot(snapshot(2, 1)));
  h.apply(h.log.compact(2));
  assert.equal(h.log.term(2), 1);
  assert.equal(h.log.term(1), undefined);
  assert.throws(() => h.log.entries(2, 4, 100), /outside/);
  assert.throws(() => h.log.compact(3), /beyond the snapshot/);
  assert.deepEqual(h.log.saveSnapshot(snapshot(2, 1, "again")), [], "a snapshot not newer than the one held writes nothing");
  const reopenedLog = (h.crash(), h.open());
  assert.equal(reopenedLog.entries[1]!.type, "confChange");
  assert.deepEqual([...reopenedLog.entries[1]!.data], [1, 2]);
});

test("the hard state file is replaced by one record once it grows past its limit", () => {
  const h = new RaftLogHarness({ hardStateRewriteBytes: 200 });
  h.open();
  h.apply(h.log.append(entries(1, 1, 1)));
  let renames = 0;
  for (let term = 1; term <= 40; term++) {
    const ops = h.log.setHardState({ term, vote: `b${term % 3}`, commit: 1 });
    renames += ops.filter((o) => o.kind === "rename").length;
    h.apply(ops);
    assert.ok(h.disk.stat(HS)!.size <= 200);
  }
  assert.ok(renames >= 5, `${renames} rewrites`);
  assert.deepEqual(h.log.setHardState({ term: 40, vote: "b1", commit: 1 }), [], "an unchanged hard state writes nothing");
  assert.deepEqual((h.crash(), h.open()).hardState, { term: 40, vote: "b1", commit: 1 });
});

function refusal(h: RaftLogHarness): { file: string; message: string } {
  const r = RaftDiskLog.open(h.disk, RAFT_DIR);
  assert.ok(!r.ok, "open refuses");
  return { file: r.error.file, message: r.error.message };
}

function filled(): RaftLogHarness {
  const h = new RaftLogHarness({ segmentMaxBytes: 60 });
  h.open();
  for (let i = 1; i <= 9; i += 3) h.apply(h.log.append(entries(i, i + 2, 1)));
  h.apply(h.log.setHardState({ term: 1, vote: "b1", commit: 2 }));
  h.apply(h.log.setHardState({ term: 2, vote: "b2", commit: 2 }));
  return h;
}

test("a torn last write is cut: segment tail and hard state tail", () => {
  const h = filled();
  const last = h.log.segmentPaths().at(-1)!;
  const frame = encodeFrame(encodeEntry(textEntry(10, 1, "e10")), crc32c);
  h.disk.write(last, h.disk.stat(last)!.size, [frame.subarray(0, 11)]);
  h.disk.write(HS, h.disk.stat(HS)!.size, [new Uint8Array(5)]);
  const opened = h.open();
  assert.equal(h.log.lastIndex(), 9);
  assert.deepEqual(opened.hardState, { term: 2, vote: "b2", commit: 2 });
  assert.equal(h.events.filter((e) => e.msg.includes("torn tail")).length, 2);
  // The cut is applied and durable: the next open has nothing to do.
  h.crash();
  const again = h.open();
  assert.deepEqual(again.ops, []);
});

test("damage followed by intact records, or in a segment with a successor, is refused with the file named", () => {
  const h = filled();
  h.disk.flipBit(HS, 12, 0); // inside the first of two hard state records
  assert.equal(refusal(h).file, HS);
  assert.match(refusal(h).message, /hardstate at byte 0: bad CRC, and it is not an unfinished last write/);
  const g = filled();
  const first = g.log.segmentPaths()[0]!;
  g.disk.flipBit(first, g.disk.stat(first)!.size - 2, 3); // the last entry of a sealed segment
  assert.equal(refusal(g).file, first);
  assert.match(refusal(g).message, /synced whole/);
  const before = g.disk.list(RAFT_DIR);
  assert.deepEqual(g.disk.list(RAFT_DIR), before, "a refusal changes nothing");
});

test("missing pieces are refused: hard state, a middle segment, entries behind the commit index; a damaged snapshot", () => {
  const a = filled();
  a.disk.remove(HS);
  assert.match(refusal(a).message, /hard state file .* is missing/);
  const b = filled();
  b.disk.remove(b.log.segmentPaths()[1]!);
  assert.match(refusal(b).message, /entries are missing/);
  const c = filled();
  c.apply(c.log.setHardState({ term: 2, vote: "b2", commit: 9 }));
  c.disk.remove(c.log.segmentPaths()[2]!);
  const refused = refusal(c);
  assert.equal(refused.file, HS);
  assert.match(refused.message, /commit index 9 is past the last entry/);
  const d = filled();
  d.apply(d.log.saveSnapshot(snapshot(2, 1)));
  d.disk.flipBit(`${RAFT_DIR}/snapshot`, 20, 1);
  assert.equal(refusal(d).file, `${RAFT_DIR}/snapshot`);
  const f = filled();
  const inside = `${RAFT_DIR}/00000000000000000005.raft`;
  f.disk.create(inside);
  f.disk.write(inside, 0, [encodeFrame(encodeEntry(textEntry(5, 1, "again")), crc32c)]);
  assert.equal(refusal(f).file, inside);
  assert.match(refusal(f).message, /inside the previous one/);
  // A last record of a newer version is refused, not cut as a torn write.
  const g = filled();
  const newer = encodeEntry(textEntry(10, 1, "v2"));
  newer[0] = 2;
  const tail = g.log.segmentPaths().at(-1)!;
  g.disk.write(tail, g.disk.stat(tail)!.size, [encodeFrame(newer, crc32c)]);
  assert.match(refusal(g).message, /version or kind this server cannot read/);
  // An out-of-order entry that is itself intact is no torn write.
  const e = filled();
  const last = e.log.segmentPaths().at(-1)!;
  e.disk.write(last, e.disk.stat(last)!.size, [encodeFrame(encodeEntry(textEntry(3, 1, "stale")), crc32c)]);
  assert.match(refusal(e).message, /out of order/);
});

test("a crash between a leader snapshot's rename and the removal of the old entries drops them at open", () => {
  const h = new RaftLogHarness();
  h.open();
  h.apply(h.log.append(entries(1, 5, 1)));
  const ops = h.log.saveSnapshot(snapshot(4, 2));
  h.apply(ops.slice(0, ops.findIndex((o) => o.kind === "remove")));
  h.crash();
  const opened = h.open();
  assert.deepEqual(opened.entries, []);
  assert.equal(h.log.lastIndex(), 4);
  assert.ok(h.events.some((e) => e.msg.includes("snapshot replaced")));
});

test("NodeDisk: one round trip through real files", () => {
  const root = mkdtempSync(join(tmpdir(), "raft-log-"));
  try {
    const disk = new NodeDisk(root);
    const open = (): ReturnType<typeof RaftDiskLog.open> => {
      const r = RaftDiskLog.open(disk, "metadata/raft", { segmentMaxBytes: 80, hardStateRewriteBytes: 100 });
      if (r.ok) for (const op of r.value.ops) applyDiskOp(disk, op);
      return r;
    };
    const first = open();
    assert.ok(first.ok);
    const log = first.value.log;
    for (const op of log.persist({ entries: entries(1, 6, 1), hardState: { term: 1, vote: "b1", commit: 4 } })) applyDiskOp(disk, op);
    for (let t = 2; t < 8; t++) for (const op of log.setHardState({ term: t, vote: "", commit: 4 })) applyDiskOp(disk, op);
    for (const op of log.saveSnapshot(snapshot(3, 1))) applyDiskOp(disk, op);
    for (const op of log.compact(3)) applyDiskOp(disk, op);
    for (const op of log.append(entries(5, 6, 7, "n"))) applyDiskOp(disk, op);
    disk.closeAll();
    const second = open();
    assert.ok(second.ok, second.ok ? "" : second.error.message);
    assert.deepEqual(second.value.hardState, { term: 7, vote: "", commit: 4 });
    assert.deepEqual(second.value.entries.map((e) => `${e.index}:${e.term}:${textOf(e.data)}`), ["4:1:e4", "5:7:n5", "6:7:n6"]);
    assert.equal(second.value.snapshot?.meta.index, 3);
    assert.deepEqual(second.value.ops, []);
    disk.closeAll();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
