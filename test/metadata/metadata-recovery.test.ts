// Startup's accounting of the data directory on the broker core (SimDisk): refuse on missing or
// damaged metadata unless asked to recover; move what the metadata does not describe to
// lost+found/; remove only the leftovers of a DeleteStream the metadata log records. The metadata
// lives in the Raft log (raft/); a directory of the single-node version (metadata/metadata.log, no
// raft/) is checked by the old file's rules before it is migrated, so both paths are tested here.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { Broker, type BrokerOutputs } from "../../src/core/broker/broker.js";
import type { BrokerConfig } from "../../src/core/broker/broker-config.js";
import { applyDiskOp } from "../../src/core/disk.js";
import type { Result } from "../../src/core/errors.js";
import type { MetadataOp } from "../../src/core/metadata/metadata-op.js";
import { bootstrapLog } from "../../src/core/raft/raft-bootstrap.js";
import { RaftDiskLog } from "../../src/core/raft/raft-disk-log.js";
import { nodeId } from "../../src/core/types.js";
import { BrokerHarness, testBrokerConfig } from "../../sim/testing/broker-harness.js";
import { legacyCreateStream, LEGACY_METADATA_LOG, writeLegacyMetadataLog } from "../../sim/testing/legacy-metadata.js";
import { SimRandom } from "../../sim/sim-random.js";
import { MIGRATED_SUFFIX } from "../../src/core/metadata/metadata-raft.js";

const LOG = LEGACY_METADATA_LOG;
const HARD_STATE = "raft/hardstate";
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const createStream = (name: string): ApiRequest => ({ kind: "createStream", name, subject: name, group: "", replicationFactor: 1, partitions: 1, overrides: {} });

/**
 * The single-node version's data directory: its metadata log holds `ops` (default: streams a, b, c),
 * each stream two messages. The streams' data is written by this version (the first open migrates
 * the log into raft/); raft/ is then removed, leaving what the old version left behind.
 */
function legacyPopulated(ops: readonly MetadataOp[] = ["a", "b", "c"].map((n) => legacyCreateStream(n))): BrokerHarness {
  const h = new BrokerHarness(testBrokerConfig(), 1, (disk) => writeLegacyMetadataLog(disk, ops));
  for (const name of h.broker.view.metadata.streams.keys()) {
    h.publish(name, utf8(`${name}1`));
    h.publish(name, utf8(`${name}2`));
  }
  h.restart();
  h.disk.removeTree("raft");
  // The migration renamed the old log once raft/ was durable: put it back as the old version left it.
  h.disk.rename(`${LOG}${MIGRATED_SUFFIX}`, LOG);
  h.disk.syncDir("metadata");
  h.disk.syncDir("");
  return h;
}

/** Three streams with two messages each, created through the API (so in the Raft log), then a clean restart. */
function populated(): BrokerHarness {
  const h = new BrokerHarness();
  for (const name of ["a", "b", "c"]) {
    assert.equal(h.request(createStream(name)).ok, true);
    h.publish(name, utf8(`${name}1`));
    h.publish(name, utf8(`${name}2`));
  }
  h.restart();
  return h;
}

/** Broker.recover on the harness's disk with `overrides`; applies the outputs' disk work when it starts. */
function recover(h: BrokerHarness, overrides: Partial<BrokerConfig> = {}): Result<{ broker: Broker; outputs: BrokerOutputs }> {
  const r = Broker.recover({ reader: h.disk, codec: h.codec, random: new SimRandom(1, "broker") }, { ...h.config, ...overrides }, h.time());
  if (r.ok) for (const op of r.value.outputs.persist) applyDiskOp(h.disk, op);
  return r;
}

/** Reopens the harness with `overrides` (its config is fixed at construction; tests may swap it). */
function reopen(h: BrokerHarness, overrides: Partial<BrokerConfig>): void {
  (h as unknown as { config: BrokerConfig }).config = { ...h.config, ...overrides };
  h.open();
}

function read(h: BrokerHarness, stream: string): (string | null)[] {
  return h.subscribe({ stream }).sub.records.map((r) => text(r.value));
}

function fileBytes(h: BrokerHarness, path: string): Uint8Array {
  return h.disk.read(path, 0, h.disk.stat(path)!.size);
}

/** Every file, with moved-aside files mapped back to their original paths. */
function filesAccountedFor(h: BrokerHarness): Set<string> {
  return new Set(h.disk.files().map((f) => f.replace(/^lost\+found\/[^/]+\//, "")));
}

function streamFiles(h: BrokerHarness): string[] {
  return h.disk.files().filter((f) => f.startsWith("streams/"));
}

function flipMiddleEntry(h: BrokerHarness): void {
  // Entry 2 ("b") starts right after entry 1; flip a byte inside its payload.
  const bytes = fileBytes(h, LOG);
  const first = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0) + 8;
  h.disk.flipBit(LOG, first + 30, 2);
}

function warnings(outputs: BrokerOutputs): string[] {
  return outputs.log.filter((e) => e.level === "warn").map((e) => `${e.msg} ${JSON.stringify(e.fields ?? {})}`);
}

test("a fresh, empty data directory starts with no streams; its metadata goes to the Raft log only", () => {
  const h = new BrokerHarness();
  assert.equal(h.broker.view.metadata.streams.size, 0);
  assert.equal(h.disk.stat(LOG), undefined, "no legacy metadata log is created");
  assert.ok(h.disk.stat(HARD_STATE) !== undefined);
  assert.equal(h.request(createStream("a")).ok, true);
  assert.equal(h.disk.stat(LOG), undefined);
  h.restart();
  assert.deepEqual([...h.broker.view.metadata.streams.keys()], ["a"]);
});

test("metadata.log missing while streams/ holds data: refused, naming the file and the flag; nothing changed", () => {
  const h = legacyPopulated();
  h.disk.remove(LOG);
  const before = h.disk.files();
  const r = recover(h);
  assert.equal(r.ok, false);
  const message = r.ok ? "" : r.error.message;
  assert.match(message, /metadata\/metadata\.log is missing, but streams\/ holds 3 stream directories \(a, b, c\)/);
  assert.match(message, /--metadata-recovery/);
  assert.deepEqual(h.disk.files(), before);
});

test("metadata.log emptied or all garbage: refused", () => {
  for (const damage of ["empty", "garbage"] as const) {
    const h = legacyPopulated();
    h.disk.truncate(LOG, 0);
    if (damage === "garbage") h.disk.write(LOG, 0, [Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff)]);
    const r = recover(h);
    assert.equal(r.ok, false, damage);
    assert.match(r.ok ? "" : r.error.message, /metadata\/metadata\.log (holds no metadata entries|is damaged)/, damage);
  }
});

test("--metadata-recovery with metadata.log missing: starts empty, every stream directory moved to lost+found, none removed", () => {
  const h = legacyPopulated();
  h.disk.remove(LOG);
  const before = streamFiles(h);
  const r = recover(h, { metadataRecovery: true });
  assert.ok(r.ok);
  assert.equal(r.value.broker.view.metadata.streams.size, 0);
  assert.deepEqual(streamFiles(h), []);
  const kept = filesAccountedFor(h);
  for (const f of before) assert.ok(kept.has(f), `${f} kept`);
  assert.ok(h.disk.files().some((f) => /^lost\+found\/\d{8}T\d{6}Z\/streams\/a\/0\//.test(f)));
  assert.equal(warnings(r.value.outputs).filter((w) => w.startsWith("moved a stream directory")).length, 3);
});

test("bad bytes in the middle: refused with the intact prefix named; recovery keeps the prefix and a copy, moves the rest", () => {
  const h = legacyPopulated();
  const original = fileBytes(h, LOG);
  flipMiddleEntry(h);
  const damaged = fileBytes(h, LOG);
  const refused = recover(h);
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? "" : refused.error.message, /metadata\/metadata\.log is damaged at byte \d+ of \d+ \(bad CRC\).*the 1 entry before it is intact/);
  assert.deepEqual(fileBytes(h, LOG), damaged, "a refusal changes nothing");

  const streamsBefore = streamFiles(h);
  const r = recover(h, { metadataRecovery: true });
  assert.ok(r.ok);
  assert.deepEqual([...r.value.broker.view.metadata.streams.keys()], ["a"]);
  // The log is cut only after every directory was moved: a crash in between leaves it corrupt (refused again).
  const ops = r.value.outputs.persist;
  const lastMove = ops.map((op) => op.kind === "rename" && op.from.startsWith("streams/")).lastIndexOf(true);
  const cut = ops.findIndex((op) => op.kind === "truncate" && op.path === LOG);
  assert.ok(lastMove >= 0 && cut > lastMove, "the stream directories are moved before the log is cut");
  const copy = h.disk.files().find((f) => f.endsWith("/metadata/metadata.log") && f.startsWith("lost+found/"));
  assert.ok(copy !== undefined);
  assert.deepEqual(fileBytes(h, copy), damaged, "the whole damaged file is kept");
  // Cut, then (migrated into raft/) renamed aside.
  assert.ok(fileBytes(h, `${LOG}${MIGRATED_SUFFIX}`).length < original.length);
  const kept = filesAccountedFor(h);
  for (const f of streamsBefore) assert.ok(kept.has(f), `${f} kept`);
  reopen(h, { metadataRecovery: false });
  assert.deepEqual(read(h, "a"), ["a1", "a2"]);
});

test("a torn last append after a crash is cut and the broker starts with everything before it", () => {
  const h = legacyPopulated();
  const size = h.disk.stat(LOG)!.size;
  h.disk.write(LOG, size, [new Uint8Array([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 0x7b, 0x22])]);
  h.disk.fdatasync(LOG);
  const r = recover(h);
  assert.ok(r.ok);
  assert.equal(h.disk.stat(`${LOG}${MIGRATED_SUFFIX}`)!.size, size, "cut, then renamed aside once migrated");
  assert.ok(warnings(r.value.outputs).some((w) => w.includes("torn tail")));
  reopen(h, {});
  for (const name of ["a", "b", "c"]) assert.deepEqual(read(h, name), [`${name}1`, `${name}2`]);
});

test("an unknown stream directory is moved to lost+found with a warning naming it; known streams read back", () => {
  const h = legacyPopulated();
  h.disk.mkdir("streams/stray/0");
  h.disk.create("streams/stray/0/00000000000000000000.log");
  h.disk.write("streams/stray/0/00000000000000000000.log", 0, [utf8("precious")]);
  const r = recover(h);
  assert.ok(r.ok);
  assert.ok(warnings(r.value.outputs).some((w) => w.startsWith("moved a stream directory") && w.includes('"stream":"stray"')));
  const moved = h.disk.files().find((f) => f.startsWith("lost+found/") && f.endsWith("/streams/stray/0/00000000000000000000.log"));
  assert.ok(moved !== undefined);
  assert.equal(text(fileBytes(h, moved)), "precious");
  reopen(h, {});
  for (const name of ["a", "b", "c"]) assert.deepEqual(read(h, name), [`${name}1`, `${name}2`]);
});

test("planted bug deleteUnknownStreamDirs: the unknown directory is removed (the old behaviour)", () => {
  const h = legacyPopulated();
  h.disk.mkdir("streams/stray/0");
  h.disk.create("streams/stray/0/00000000000000000000.log");
  const r = recover(h, { plantedBugs: { deleteUnknownStreamDirs: true } });
  assert.ok(r.ok);
  assert.equal(h.disk.files().some((f) => f.includes("stray")), false);
});

test("leftovers of a DeleteStream recorded in a complete log are removed; after a damaged log they are moved aside", () => {
  for (const damaged of [false, true]) {
    const ops: MetadataOp[] = [...["a", "b", "c"].map((n) => legacyCreateStream(n)), { op: "deleteStream", name: "b" }, legacyCreateStream("d"), legacyCreateStream("e")];
    const h = legacyPopulated(ops);
    // A crash interrupted the DeleteStream's removeTree: part of the directory is still there.
    h.disk.mkdir("streams/b/0");
    h.disk.create("streams/b/0/00000000000000000000.log");
    if (damaged) {
      // Damage entry 5 (create "d", not the last): the intact prefix ends with the delete.
      const bytes = fileBytes(h, LOG);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      let pos = 0;
      for (let i = 0; i < 4; i++) pos += view.getUint32(pos) + 8;
      h.disk.flipBit(LOG, pos + 12, 0);
    }
    const r = recover(h, { metadataRecovery: damaged });
    assert.ok(r.ok, damaged ? "recovers" : "starts");
    const leftover = h.disk.files().filter((f) => f.includes("streams/b/"));
    if (damaged) assert.ok(leftover.length === 1 && leftover[0]!.startsWith("lost+found/"), leftover.join());
    else assert.deepEqual(leftover, []);
  }
});

test("a server id the metadata does not name (its file lost, a new id generated): refused, naming the file and the id", () => {
  const h = legacyPopulated();
  const r = recover(h, { serverId: nodeId("b2") });
  assert.equal(r.ok, false);
  assert.match(r.ok ? "" : r.error.message, /names server b1 .* this server's id is b2.*"liftbridge".*--server-id b1/);
});

// --- The Raft log (raft/): what a broker of this version wrote. ---

/** Every file with its bytes: a refusal must leave all of them as they were. */
function diskImage(h: BrokerHarness): Map<string, string> {
  return new Map(h.disk.files().map((f) => [f, Buffer.from(fileBytes(h, f)).toString("hex")]));
}

function raftSegments(h: BrokerHarness): string[] {
  return h.disk.files().filter((f) => /^raft\/\d{20}\.raft$/.test(f)).sort();
}

/** Byte positions where each frame ([u32 length][u32 CRC][payload]) of `path` starts, and the end. */
function frameStarts(h: BrokerHarness, path: string): number[] {
  const bytes = fileBytes(h, path);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const starts = [0];
  for (let pos = 0; pos < bytes.length; ) starts.push((pos += view.getUint32(pos) + 8));
  return starts;
}

function refusedUnchanged(h: BrokerHarness, overrides: Partial<BrokerConfig> = {}): string {
  const before = diskImage(h);
  const r = recover(h, overrides);
  assert.equal(r.ok, false, "refused");
  assert.deepEqual(diskImage(h), before, "a refusal changes nothing, deletes nothing");
  return r.ok ? "" : r.error.message;
}

test("Raft log: a damaged entry with intact entries after it is refused, naming the segment and the byte; nothing changed", () => {
  const h = populated();
  const [segment] = raftSegments(h);
  assert.ok(segment !== undefined && raftSegments(h).length === 1);
  const starts = frameStarts(h, segment);
  assert.ok(starts.length > 4, "several entries");
  h.disk.flipBit(segment, (starts[2] as number) + 10, 3);
  const message = refusedUnchanged(h);
  assert.match(message, new RegExp(`${segment.replace(".", "\\.")} at byte ${starts[2]}: bad CRC, and it is not an unfinished last write`));
  assert.match(refusedUnchanged(h, { metadataRecovery: true }), /Raft log cannot be trusted/, "--metadata-recovery does not skip Raft entries");
});

test("Raft log: the hard state file missing is refused, naming it; nothing changed", () => {
  const h = populated();
  h.disk.remove(HARD_STATE);
  assert.match(refusedUnchanged(h), /raft\/hardstate at byte 0: the hard state file \(term, vote, commit\) is missing/);
});

test("Raft log: the segment missing while the hard state commits entries is refused, naming the hard state; nothing changed", () => {
  const h = populated();
  for (const s of raftSegments(h)) h.disk.remove(s);
  assert.match(refusedUnchanged(h), /raft\/hardstate at byte \d+: the commit index \d+ is past the last entry 0: durable entries are missing/);
});

test("Raft log: a torn last write is cut and the broker starts with every stream", () => {
  const h = populated();
  const [segment] = raftSegments(h);
  assert.ok(segment !== undefined);
  const size = h.disk.stat(segment)!.size;
  const starts = frameStarts(h, segment);
  // The first 12 bytes of a copy of the last frame: an append cut short by a crash.
  const last = fileBytes(h, segment).slice(starts[starts.length - 2], size);
  h.disk.write(segment, size, [last.slice(0, 12)]);
  h.disk.fdatasync(segment);
  const r = recover(h);
  assert.ok(r.ok);
  assert.ok(warnings(r.value.outputs).some((w) => w.includes("torn tail")));
  // The torn bytes are gone: the frame after the last intact one (this start's entries) begins where they were.
  assert.ok(frameStarts(h, segment).includes(size));
  assert.equal(frameStarts(h, segment).at(-1), h.disk.stat(segment)!.size, "whole frames only");
  reopen(h, {});
  for (const name of ["a", "b", "c"]) assert.deepEqual(read(h, name), [`${name}1`, `${name}2`]);
});

test("raft/ missing while streams/ holds data: refused naming raft/, nothing changed; --metadata-recovery moves every stream aside", () => {
  const h = populated();
  h.disk.removeTree("raft");
  const message = refusedUnchanged(h);
  assert.match(message, /^there is no Raft log in raft and metadata\/metadata\.log is missing/);
  assert.match(message, /streams\/ holds 3 stream directories \(a, b, c\)/);
  assert.match(message, /--metadata-recovery/);
  const before = streamFiles(h);
  const r = recover(h, { metadataRecovery: true });
  assert.ok(r.ok);
  assert.equal(r.value.broker.view.metadata.streams.size, 0);
  const kept = filesAccountedFor(h);
  for (const f of before) assert.ok(kept.has(f), `${f} kept`);
});

test("Raft log: a server id the log's membership does not name is refused, naming the ids", () => {
  const h = populated();
  const message = refusedUnchanged(h, { serverId: nodeId("b2") });
  assert.match(message, /the Raft log in raft names server b1 .* this server's id is b2.*"liftbridge".*--server-id b1/);
});

test("Raft log: a crash that kept the bootstrap entries but not the hard state: the bootstrap is redone, the broker elects itself", () => {
  const h = new BrokerHarness(testBrokerConfig(), 1, (disk) => {
    // What broker seed 28 left: the segment's bootstrap entry synced, the hard state's write lost.
    const opened = RaftDiskLog.open(disk, "raft");
    assert.ok(opened.ok);
    for (const op of [...opened.value.ops, ...opened.value.log.append(bootstrapLog([nodeId("b1")]).entries)]) applyDiskOp(disk, op);
  });
  assert.equal(h.broker.view.raft.node.role, "leader");
  assert.deepEqual(h.request(createStream("a")), { ok: true, value: { kind: "done" } });
  h.restart();
  assert.deepEqual([...h.broker.view.metadata.streams.keys()], ["a"]);
});

test("raft/ lost after a migration: refused (the renamed old log is not metadata to fall back on); nothing removed", () => {
  const h = new BrokerHarness(testBrokerConfig(), 1, (disk) => writeLegacyMetadataLog(disk, [legacyCreateStream("a")]));
  assert.ok(h.disk.stat(LOG) === undefined && h.disk.stat(`${LOG}${MIGRATED_SUFFIX}`) !== undefined, "the old log is renamed once migrated");
  h.restart();
  h.disk.removeTree("raft");
  h.disk.syncDir("");
  const before = new Set(h.disk.files());
  const r = Broker.recover({ reader: h.disk, codec: h.codec, random: new SimRandom(1, "broker") }, h.config, h.time());
  assert.equal(r.ok, false, "refused");
  assert.deepEqual(new Set(h.disk.files()), before, "nothing changed");
});
