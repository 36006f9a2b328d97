// Startup's accounting of the data directory on the broker core (SimDisk): refuse on missing or
// damaged metadata unless asked to recover; move what the metadata does not describe to
// lost+found/; remove only the leftovers of a DeleteStream the metadata log records.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { Broker, type BrokerOutputs } from "../../src/core/broker/broker.js";
import type { BrokerConfig } from "../../src/core/broker/broker-config.js";
import { applyDiskOp } from "../../src/core/disk.js";
import type { Result } from "../../src/core/errors.js";
import { nodeId } from "../../src/core/types.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";
import { SimRandom } from "../../sim/sim-random.js";

const LOG = "metadata/metadata.log";
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const createStream = (name: string): ApiRequest => ({ kind: "createStream", name, subject: name, group: "", replicationFactor: 1, partitions: 1, overrides: {} });

/** Three streams with two messages each, then a clean restart (so every file is closed and synced). */
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

test("a fresh, empty data directory starts with no streams", () => {
  const h = new BrokerHarness();
  assert.equal(h.broker.view.metadata.streams.size, 0);
  assert.ok(h.disk.stat(LOG) !== undefined);
});

test("metadata.log missing while streams/ holds data: refused, naming the file and the flag; nothing changed", () => {
  const h = populated();
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
    const h = populated();
    h.disk.truncate(LOG, 0);
    if (damage === "garbage") h.disk.write(LOG, 0, [Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff)]);
    const r = recover(h);
    assert.equal(r.ok, false, damage);
    assert.match(r.ok ? "" : r.error.message, /metadata\/metadata\.log (holds no metadata entries|is damaged)/, damage);
  }
});

test("--metadata-recovery with metadata.log missing: starts empty, every stream directory moved to lost+found, none removed", () => {
  const h = populated();
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
  const h = populated();
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
  const kinds = r.value.outputs.persist.map((op) => op.kind);
  assert.ok(kinds.lastIndexOf("rename") >= 0 && kinds.indexOf("truncate") > kinds.lastIndexOf("rename"));
  const copy = h.disk.files().find((f) => f.endsWith("/metadata/metadata.log") && f.startsWith("lost+found/"));
  assert.ok(copy !== undefined);
  assert.deepEqual(fileBytes(h, copy), damaged, "the whole damaged file is kept");
  assert.ok(fileBytes(h, LOG).length < original.length);
  const kept = filesAccountedFor(h);
  for (const f of streamsBefore) assert.ok(kept.has(f), `${f} kept`);
  reopen(h, { metadataRecovery: false });
  assert.deepEqual(read(h, "a"), ["a1", "a2"]);
});

test("a torn last append after a crash is cut and the broker starts with everything before it", () => {
  const h = populated();
  const size = h.disk.stat(LOG)!.size;
  h.disk.write(LOG, size, [new Uint8Array([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 0x7b, 0x22])]);
  h.disk.fdatasync(LOG);
  const r = recover(h);
  assert.ok(r.ok);
  assert.equal(h.disk.stat(LOG)!.size, size);
  assert.ok(warnings(r.value.outputs).some((w) => w.includes("torn tail")));
  reopen(h, {});
  for (const name of ["a", "b", "c"]) assert.deepEqual(read(h, name), [`${name}1`, `${name}2`]);
});

test("an unknown stream directory is moved to lost+found with a warning naming it; known streams read back", () => {
  const h = populated();
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
  const h = populated();
  h.disk.mkdir("streams/stray/0");
  h.disk.create("streams/stray/0/00000000000000000000.log");
  const r = recover(h, { plantedBugs: { deleteUnknownStreamDirs: true } });
  assert.ok(r.ok);
  assert.equal(h.disk.files().some((f) => f.includes("stray")), false);
});

test("leftovers of a DeleteStream recorded in a complete log are removed; after a damaged log they are moved aside", () => {
  for (const damaged of [false, true]) {
    const h = populated();
    assert.equal(h.request({ kind: "deleteStream", name: "b" }).ok, true);
    assert.equal(h.request(createStream("d")).ok, true);
    assert.equal(h.request(createStream("e")).ok, true);
    h.restart();
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
  const h = populated();
  const r = recover(h, { serverId: nodeId("b2") });
  assert.equal(r.ok, false);
  assert.match(r.ok ? "" : r.error.message, /names server b1 .* this server's id is b2.*"liftbridge".*--server-id b1/);
});
