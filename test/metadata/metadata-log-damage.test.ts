// The metadata log's reading of damage: a torn last append (cut) versus corruption of fsynced
// entries (reported, never cut by open()).
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeRecord, isTornTail, MetadataLog } from "../../src/core/metadata/metadata-log.js";
import type { MetadataOp } from "../../src/core/metadata/metadata-op.js";
import { LostAndFound, utcStamp } from "../../src/core/metadata/lost-and-found.js";
import { nodeId, timestampNs } from "../../src/core/types.js";
import { SimDisk } from "../../sim/sim-disk.js";
import { SimRandom } from "../../sim/sim-random.js";

const create = (name: string): MetadataOp => ({
  op: "createStream", name, subject: name, group: "", replicationFactor: 1, partitions: 1, overrides: {}, creationTimestampNs: "1", replicas: [[nodeId("b1")]],
});
const records = ["a", "b", "c"].map((n) => encodeRecord(create(n)));
const whole = concat(...records);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function openBytes(bytes: Uint8Array): ReturnType<typeof MetadataLog.open> {
  const disk = new SimDisk({ random: new SimRandom(1, "disk"), nowMs: () => 0 });
  disk.mkdir("metadata");
  disk.create("metadata/metadata.log");
  disk.write("metadata/metadata.log", 0, [bytes]);
  return MetadataLog.open(disk, "metadata");
}

function condition(bytes: Uint8Array): { kind: string; entries: number } {
  const opened = openBytes(bytes);
  return { kind: opened.condition.kind, entries: opened.entries.length };
}

const r0 = records[0]!.length;
const r1 = records[1]!.length;

test("an intact log replays every entry and changes nothing", () => {
  const opened = openBytes(whole);
  assert.deepEqual({ kind: opened.condition.kind, entries: opened.entries.length, ops: opened.ops.length }, { kind: "intact", entries: 3, ops: 0 });
});

test("a torn last append is cut: short header, short payload, bad CRC up to EOF, zeros", () => {
  const last = records[2]!;
  const prefix = concat(records[0]!, records[1]!);
  for (const [what, bytes] of [
    ["3 bytes of a header", concat(prefix, last.subarray(0, 3))],
    ["header and half a payload", concat(prefix, last.subarray(0, last.length >> 1))],
    ["full length, payload not landed (zeros)", concat(prefix, last.subarray(0, 8), new Uint8Array(last.length - 8))],
    ["file grown with zeros only", concat(prefix, new Uint8Array(4096))],
  ] as const) {
    const opened = openBytes(bytes);
    assert.equal(opened.condition.kind, "tornTail", what);
    assert.equal(opened.entries.length, 2, what);
    assert.deepEqual(opened.ops[0], { kind: "truncate", path: "metadata/metadata.log", length: prefix.length }, what);
  }
});

test("damage followed by further entries or bytes is corruption, reported with the intact prefix and not cut", () => {
  const flipped = whole.slice();
  flipped[r0 + 20] = flipped[r0 + 20]! ^ 0x10; // inside entry 2's payload
  const lengthFlip = whole.slice();
  lengthFlip[r0 + 1] = 0xff; // entry 2's length now runs past the end of the file: looks torn, but entry 3 is intact
  const cutMiddle = concat(whole.subarray(0, r0 + 10), whole.subarray(r0 + r1 - 5));
  const garbageThenEntry = concat(records[0]!, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), records[2]!);
  for (const [what, bytes] of [["flipped byte", flipped], ["flipped length", lengthFlip], ["middle cut out", cutMiddle], ["garbage between entries", garbageThenEntry]] as const) {
    const opened = openBytes(bytes);
    assert.equal(opened.condition.kind, "corrupt", what);
    assert.equal(opened.entries.length, 1, what);
    assert.deepEqual(opened.ops, [], what);
    assert.equal(opened.log.nextIndex, 2, what);
  }
});

test("all garbage never yields an entry; a missing file is reported as missing", () => {
  const random = new SimRandom(7, "garbage");
  for (let i = 0; i < 50; i++) {
    const garbage = Uint8Array.from({ length: 200 + i * 13 }, () => random.int("byte", 256));
    assert.equal(condition(garbage).entries, 0);
  }
  const disk = new SimDisk({ random: new SimRandom(1, "disk"), nowMs: () => 0 });
  assert.equal(MetadataLog.open(disk, "metadata").condition.kind, "missing");
});

test("isTornTail: a CRC-valid record after the damage makes it corruption", () => {
  const damaged = concat(records[0]!, new Uint8Array([0, 0, 0, 9]), records[1]!);
  assert.equal(isTornTail(damaged, r0), false);
  assert.equal(isTornTail(concat(records[0]!, new Uint8Array([0, 0, 0, 9])), r0), true);
});

test("utcStamp names lost+found folders in UTC", () => {
  assert.equal(utcStamp(timestampNs(1_700_000_000_000_000_000n)), "20231114T221320Z");
  assert.equal(utcStamp(timestampNs(951_782_400_000_000_000n)), "20000229T000000Z");
  assert.equal(utcStamp(timestampNs(0n)), "19700101T000000Z");
});

test("a second recovery in the same second gets its own lost+found folder", () => {
  const disk = new SimDisk({ random: new SimRandom(1, "disk"), nowMs: () => 0 });
  const at = timestampNs(1_700_000_000_000_000_000n);
  disk.mkdir("lost+found/20231114T221320Z");
  assert.equal(new LostAndFound(disk, "", at).folder(), "lost+found/20231114T221320Z-2");
  assert.equal(new LostAndFound(disk, "data", at).folder(), "data/lost+found/20231114T221320Z");
});
