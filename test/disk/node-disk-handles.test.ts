// NodeDisk's descriptor budget: an LRU of open handles under a cap derived from RLIMIT_NOFILE,
// and out-of-descriptor errors that are EMFILE (refused work), never EIO (a failed disk).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiskError } from "../../src/core/disk.js";
import { DEFAULT_MAX_OPEN_FILES, defaultMaxOpenFiles, NodeDisk } from "../../src/io/node-disk.js";

const openFds = (): number => readdirSync("/proc/self/fd").length;
const linux = existsSync("/proc/self/fd");

test("the cap is half the soft descriptor limit, within 32..4096, and 512 when unknown", () => {
  const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 1048576              files\n`;
  assert.equal(defaultMaxOpenFiles(limits("1024")), 512);
  assert.equal(defaultMaxOpenFiles(limits("20000")), 4096);
  assert.equal(defaultMaxOpenFiles(limits("40")), 32);
  assert.equal(defaultMaxOpenFiles(limits("unlimited")), 4096);
  assert.equal(defaultMaxOpenFiles("garbage"), DEFAULT_MAX_OPEN_FILES);
  assert.ok(new NodeDisk(tmpdir()).maxOpenFiles >= 32);
});

test("an LRU keeps at most maxOpenFiles handles open; evicted files reopen on use with their bytes intact", { skip: !linux && "needs /proc/self/fd" }, () => {
  const root = mkdtempSync(join(tmpdir(), "lbts-fd-lru-"));
  const disk = new NodeDisk(root, { maxOpenFiles: 8 });
  try {
    const before = openFds();
    for (let i = 0; i < 100; i++) {
      disk.create(`f${i}`);
      disk.write(`f${i}`, 0, [new Uint8Array([i])]);
    }
    assert.equal(disk.openFiles, 8);
    assert.ok(openFds() - before <= 8, `open descriptors grew by ${openFds() - before}`);
    for (let i = 0; i < 100; i++) {
      disk.write(`f${i}`, 1, [new Uint8Array([i + 1])]);
      assert.deepEqual([...disk.read(`f${i}`, 0, 2)], [i, i + 1]);
    }
    assert.equal(disk.openFiles, 8);
    // The most recently used stays cached: using f99 again opens nothing.
    const cached = openFds();
    disk.read("f99", 0, 1);
    assert.equal(openFds(), cached);
  } finally {
    disk.closeAll();
    rmSync(root, { recursive: true, force: true });
  }
});

// A child under a tiny descriptor limit: NodeDisk told it may keep 1000 handles hits EMFILE,
// evicts and goes on; a burst of raw opens that leaves no descriptor at all is EMFILE, not EIO.
const CHILD = `
import { NodeDisk } from ${JSON.stringify(new URL("../../src/io/node-disk.js", import.meta.url).href)};
import { DiskError } from ${JSON.stringify(new URL("../../src/core/disk.js", import.meta.url).href)};
import fs from "node:fs";
const disk = new NodeDisk(process.argv[1], { maxOpenFiles: 1000 });
for (let i = 0; i < 200; i++) { disk.create("f" + i); disk.write("f" + i, 0, [new Uint8Array([i])]); }
let ok = 0;
for (let i = 0; i < 200; i++) if (disk.read("f" + i, 0, 1)[0] === i) ok++;
disk.closeAll();
const hog = [];
try { for (;;) hog.push(fs.openSync("/dev/null", "r")); } catch {}

let code = "none";
try { for (let i = 0; i < 10; i++) disk.read("f" + i, 0, 1); } catch (e) { code = e instanceof DiskError ? e.code + " " + e.message : String(e); }
console.log(JSON.stringify({ ok, code }));
`;

test("out of descriptors: NodeDisk evicts and retries; when none can be had it is EMFILE, not EIO", { skip: !linux && "needs /proc" }, () => {
  const root = mkdtempSync(join(tmpdir(), "lbts-fd-emfile-"));
  try {
    const out = execFileSync("prlimit", ["--nofile=64:64", process.execPath, "--input-type=module", "-e", CHILD, root], { encoding: "utf8", cwd: fileURLToPath(new URL(".", import.meta.url)) });
    const result = JSON.parse(out.trim()) as { ok: number; code: string };
    assert.equal(result.ok, 200, "every file written and read back under a 64-descriptor limit");
    assert.match(result.code, /^EMFILE .*EMFILE.*too many open files/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.ok(new DiskError("EMFILE", "open", "x") instanceof DiskError);
});

test("readAsync reads in the thread pool; a remove, a close or an eviction while it runs leaves its descriptor open until it ends", { skip: !linux && "needs /proc/self/fd" }, async () => {
  const root = mkdtempSync(join(tmpdir(), "lbts-fd-read-"));
  const disk = new NodeDisk(root, { maxOpenFiles: 2 });
  const readAsync = (path: string, position: number, length: number) =>
    new Promise<Uint8Array | DiskError>((resolve) => disk.readAsync(path, position, length, resolve));
  try {
    const bytes = new Uint8Array(1 << 20).map((_, i) => i % 251);
    disk.create("a");
    disk.write("a", 0, [bytes]);
    const before = openFds();
    const reading = readAsync("a", 0, bytes.length + 10); // past the end: short
    disk.remove("a"); // the cached handle is dropped now, its descriptor closed after the read
    for (let i = 0; i < 4; i++) disk.create(`b${i}`); // evictions, new descriptors: never the read's number
    const got = await reading;
    assert.ok(got instanceof Uint8Array);
    assert.equal(got.length, bytes.length, "short at end of file");
    assert.deepEqual(got, bytes, "the file it started on, whole");
    await new Promise((r) => setTimeout(r, 50)); // the deferred close runs in the thread pool
    assert.ok(openFds() - before <= 2, `descriptors left open: ${openFds() - before}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("readAsync of a missing file is a DiskError ENOENT thrown at once (the driver makes it the read's outcome)", () => {
  const root = mkdtempSync(join(tmpdir(), "lbts-fd-read-"));
  try {
    const disk = new NodeDisk(root);
    assert.throws(() => disk.readAsync("missing", 0, 1, () => undefined), (e: unknown) => e instanceof DiskError && e.code === "ENOENT");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
