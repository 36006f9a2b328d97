// The Disk contract as node:test tests: every Disk implementation (NodeDisk, SimDisk) must pass
// exactly the same suite, so the simulator cannot drift from what production does.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AssertionError } from "../../src/core/assert.js";
import { DiskError, type Disk, type DiskErrorCode } from "../../src/core/disk.js";

/** A fresh disk for one test and how to dispose of it. */
export interface DiskFixture {
  readonly disk: Disk;
  cleanup(): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Bytes of a string. */
function b(s: string): Uint8Array {
  return enc.encode(s);
}

/** A plain Uint8Array copy (NodeDisk and SimDisk may return different Uint8Array subclasses). */
function plain(u: Uint8Array): Uint8Array {
  return new Uint8Array(u);
}

/** Asserts that `f` throws a DiskError with `code`. */
export function assertDiskError(f: () => unknown, code: DiskErrorCode, what: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof DiskError, `${what}: expected DiskError, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return true;
  });
}

/** The whole file as a string. */
function readAll(disk: Disk, path: string): string {
  const size = disk.stat(path)?.size ?? 0;
  return dec.decode(disk.read(path, 0, size));
}

/** Registers the whole contract suite under `name`; `makeDisk` gives each test a fresh, empty disk. */
export function runDiskContract(name: string, makeDisk: () => DiskFixture): void {
  const it = (title: string, body: (disk: Disk) => void): void => {
    void test(title, () => {
      const fx = makeDisk();
      try {
        body(fx.disk);
      } finally {
        fx.cleanup();
      }
    });
  };
  void describe(`Disk contract: ${name}`, () => {
    dataTests(it);
    truncateAndCreateTests(it);
    namespaceTests(it);
    renameTests(it);
    listAndStatTests(it);
    errorTests(it);
  });
}

type It = (title: string, body: (disk: Disk) => void) => void;

/** Writes and reads. */
function dataTests(it: It): void {
  it("create, write, read round trip", (disk) => {
    disk.create("f");
    disk.write("f", 0, [b("hello")]);
    assert.equal(dec.decode(disk.read("f", 0, 5)), "hello");
    assert.equal(dec.decode(disk.read("f", 1, 3)), "ell");
    assert.equal(disk.stat("f")?.size, 5);
    disk.fdatasync("f");
    assert.equal(readAll(disk, "f"), "hello");
  });
  it("positioned writes leave gaps that read as zeros", (disk) => {
    disk.create("f");
    disk.write("f", 4, [b("ab")]);
    disk.write("f", 10, [b("c")]);
    assert.deepEqual(plain(disk.read("f", 0, 11)), new Uint8Array([0, 0, 0, 0, 97, 98, 0, 0, 0, 0, 99]));
    disk.write("f", 1, [b("XYZW")]);
    assert.deepEqual(plain(disk.read("f", 0, 7)), new Uint8Array([0, 88, 89, 90, 87, 98, 0]));
  });
  it("a multi-chunk write lands in order, empty chunks included", (disk) => {
    disk.create("f");
    disk.write("f", 2, [b("ab"), new Uint8Array(0), b("cde"), b("f")]);
    assert.deepEqual(plain(disk.read("f", 0, 8)), new Uint8Array([0, 0, 97, 98, 99, 100, 101, 102]));
    const chunks = Array.from({ length: 1500 }, (_, i) => new Uint8Array(1024).fill(i % 251));
    disk.write("f", 8, chunks);
    assert.equal(disk.stat("f")?.size, 8 + 1500 * 1024);
    for (const i of [0, 1, 777, 1499]) assert.deepEqual(plain(disk.read("f", 8 + i * 1024, 1024)), chunks[i]);
  });
  it("an empty write changes nothing, even past the end", (disk) => {
    disk.create("f");
    disk.write("f", 0, [b("x")]);
    disk.write("f", 100, []);
    disk.write("f", 50, [new Uint8Array(0)]);
    assert.equal(disk.stat("f")?.size, 1);
  });
  it("reads past the end are short, at or after the end empty", (disk) => {
    disk.create("f");
    disk.write("f", 0, [b("abc")]);
    assert.equal(dec.decode(disk.read("f", 1, 100)), "bc");
    assert.equal(disk.read("f", 3, 10).length, 0);
    assert.equal(disk.read("f", 50, 10).length, 0);
    assert.equal(disk.read("f", 0, 0).length, 0);
  });
  it("writes copy their input and reads return copies", (disk) => {
    disk.create("f");
    const src = b("abc");
    disk.write("f", 0, [src]);
    src[0] = 120;
    const got = disk.read("f", 0, 3);
    got[1] = 121;
    assert.equal(readAll(disk, "f"), "abc");
  });
  it("close, then the next operation reopens the file", (disk) => {
    disk.create("f");
    disk.write("f", 0, [b("ab")]);
    disk.close("f");
    assert.equal(readAll(disk, "f"), "ab");
    disk.close("f");
    disk.write("f", 2, [b("c")]);
    disk.fdatasync("f");
    disk.close("f");
    disk.close("never-opened");
    assert.equal(readAll(disk, "f"), "abc");
  });
}

/** truncate, and create over an existing file. */
function truncateAndCreateTests(it: It): void {
  it("truncate shrinks and grows; regrown bytes are zeros", (disk) => {
    disk.create("f");
    disk.write("f", 0, [b("abcdef")]);
    disk.truncate("f", 2);
    assert.equal(disk.stat("f")?.size, 2);
    assert.equal(readAll(disk, "f"), "ab");
    disk.truncate("f", 5);
    assert.deepEqual(plain(disk.read("f", 0, 10)), new Uint8Array([97, 98, 0, 0, 0]));
    disk.truncate("f", 0);
    assert.equal(disk.read("f", 0, 10).length, 0);
  });
  it("create truncates an existing file", (disk) => {
    disk.create("f");
    disk.write("f", 0, [b("old content")]);
    disk.create("f");
    assert.equal(disk.stat("f")?.size, 0);
    disk.write("f", 0, [b("new")]);
    assert.equal(readAll(disk, "f"), "new");
  });
  it("fdatasync and syncDir succeed and change nothing visible", (disk) => {
    disk.mkdir("d");
    disk.create("d/f");
    disk.write("d/f", 0, [b("x")]);
    disk.fdatasync("d/f");
    disk.syncDir("d");
    disk.syncDir("");
    assert.equal(readAll(disk, "d/f"), "x");
    assert.deepEqual(disk.list("d"), ["f"]);
  });
}

/** remove, removeTree, mkdir. */
function namespaceTests(it: It): void {
  it("remove deletes a file; a new file at that path starts empty", (disk) => {
    disk.create("f");
    disk.write("f", 0, [b("abc")]);
    disk.remove("f");
    assert.equal(disk.stat("f"), undefined);
    assert.deepEqual(disk.list(""), []);
    assertDiskError(() => disk.read("f", 0, 1), "ENOENT", "read removed");
    disk.create("f");
    assert.equal(disk.stat("f")?.size, 0);
  });
  it("removeTree removes nested directories and files; absent is fine", (disk) => {
    disk.mkdir("t/a/b");
    disk.create("t/a/b/f");
    disk.write("t/a/b/f", 0, [b("x")]);
    disk.create("t/g");
    disk.mkdir("keep");
    disk.removeTree("t");
    assert.equal(disk.stat("t"), undefined);
    assert.deepEqual(disk.list(""), ["keep"]);
    disk.removeTree("t");
    disk.removeTree("missing/deeper");
    disk.create("file");
    disk.removeTree("file");
    assert.deepEqual(disk.list(""), ["keep"]);
  });
  it("mkdir makes parents and is idempotent", (disk) => {
    disk.mkdir("a/b/c");
    disk.mkdir("a/b/c");
    disk.mkdir("a/b");
    disk.mkdir("");
    assert.equal(disk.stat("a/b/c")?.isDirectory, true);
    assert.deepEqual(disk.list("a"), ["b"]);
    disk.create("a/f");
    assertDiskError(() => disk.mkdir("a/f"), "EEXIST", "mkdir over a file");
    assertDiskError(() => disk.mkdir("a/f/g"), "ENOTDIR", "mkdir under a file");
  });
}

/** rename of files and directories. */
function renameTests(it: It): void {
  it("rename moves a file and replaces the target atomically", (disk) => {
    disk.mkdir("d");
    disk.create("d/new.tmp");
    disk.write("d/new.tmp", 0, [b("fresh")]);
    disk.create("d/current");
    disk.write("d/current", 0, [b("stale data")]);
    disk.rename("d/new.tmp", "d/current");
    assert.deepEqual(disk.list("d"), ["current"]);
    assert.equal(readAll(disk, "d/current"), "fresh");
    disk.write("d/current", 5, [b("!")]);
    assert.equal(readAll(disk, "d/current"), "fresh!");
    assertDiskError(() => disk.read("d/new.tmp", 0, 1), "ENOENT", "read old name");
  });
  it("rename across directories, to itself, and of a directory with its contents", (disk) => {
    disk.mkdir("a");
    disk.mkdir("b");
    disk.create("a/f");
    disk.write("a/f", 0, [b("x")]);
    disk.rename("a/f", "b/g");
    disk.rename("b/g", "b/g");
    assert.deepEqual([disk.list("a"), disk.list("b")], [[], ["g"]]);
    disk.rename("b", "c");
    assert.equal(readAll(disk, "c/g"), "x");
    disk.write("c/g", 1, [b("y")]);
    assert.equal(readAll(disk, "c/g"), "xy");
    disk.rename("c", "a");
    assert.deepEqual(disk.list(""), ["a"]);
    assert.equal(readAll(disk, "a/g"), "xy");
  });
  it("rename errors: missing source or parent, file onto dir, dir onto file or non-empty dir", (disk) => {
    disk.mkdir("d/sub");
    disk.create("d/sub/x");
    disk.mkdir("e");
    disk.create("f");
    assertDiskError(() => disk.rename("missing", "g"), "ENOENT", "missing source");
    assertDiskError(() => disk.rename("f", "nope/g"), "ENOENT", "missing target parent");
    assertDiskError(() => disk.rename("f", "e"), "EISDIR", "file onto directory");
    assertDiskError(() => disk.rename("e", "f"), "ENOTDIR", "directory onto file");
    assertDiskError(() => disk.rename("e", "d"), "ENOTEMPTY", "directory onto non-empty directory");
    assert.deepEqual(disk.list(""), ["d", "e", "f"]);
  });
}

/** list and stat. */
function listAndStatTests(it: It): void {
  it("list is sorted by code unit", (disk) => {
    for (const n of ["b", "a", "B", "a-1", "a.2", "z10", "z9", "_"]) disk.create(n);
    disk.mkdir("c");
    assert.deepEqual(disk.list(""), ["B", "_", "a", "a-1", "a.2", "b", "c", "z10", "z9"]);
    assert.deepEqual(disk.list("c"), []);
  });
  it("stat reports size, kind and a non-decreasing mtime", (disk) => {
    disk.mkdir("d");
    disk.create("d/f");
    const before = disk.stat("d/f");
    assert.ok(before !== undefined && before.size === 0 && !before.isDirectory);
    assert.ok(Number.isFinite(before.mtimeMs) && before.mtimeMs >= 0);
    disk.write("d/f", 0, [b("1234567")]);
    const after = disk.stat("d/f");
    assert.ok(after !== undefined && after.size === 7 && after.mtimeMs >= before.mtimeMs);
    assert.equal(disk.stat("d")?.isDirectory, true);
    assert.equal(disk.stat("")?.isDirectory, true);
    assert.equal(disk.stat("missing"), undefined);
    assert.equal(disk.stat("missing/x"), undefined);
    assert.equal(disk.stat("d/f/x"), undefined);
  });
}

/** Error codes of every operation. */
function errorTests(it: It): void {
  it("operations on a missing file fail with ENOENT", (disk) => {
    assertDiskError(() => disk.read("nope", 0, 1), "ENOENT", "read");
    assertDiskError(() => disk.write("nope", 0, [b("x")]), "ENOENT", "write");
    assertDiskError(() => disk.fdatasync("nope"), "ENOENT", "fdatasync");
    assertDiskError(() => disk.truncate("nope", 0), "ENOENT", "truncate");
    assertDiskError(() => disk.remove("nope"), "ENOENT", "remove");
    assertDiskError(() => disk.list("nope"), "ENOENT", "list");
    assertDiskError(() => disk.syncDir("nope"), "ENOENT", "syncDir");
    assertDiskError(() => disk.create("nope/f"), "ENOENT", "create in a missing directory");
    assert.deepEqual(disk.list(""), []);
  });
  it("file operations on a directory fail with EISDIR, directory operations on a file with ENOTDIR", (disk) => {
    disk.mkdir("d");
    disk.create("f");
    assertDiskError(() => disk.read("d", 0, 1), "EISDIR", "read dir");
    assertDiskError(() => disk.write("d", 0, [b("x")]), "EISDIR", "write dir");
    assertDiskError(() => disk.create("d"), "EISDIR", "create over dir");
    assertDiskError(() => disk.remove("d"), "EISDIR", "remove dir");
    assertDiskError(() => disk.list("f"), "ENOTDIR", "list file");
    assertDiskError(() => disk.syncDir("f"), "ENOTDIR", "syncDir file");
    assertDiskError(() => disk.create("f/g"), "ENOTDIR", "create under file");
    assertDiskError(() => disk.read("f/g", 0, 1), "ENOTDIR", "read under file");
  });
  it("malformed paths are programmer errors", (disk) => {
    for (const p of ["/abs", "a//b", "../x", "a/./b", "a/"]) {
      assert.throws(() => disk.create(p), AssertionError, p);
    }
    assert.throws(() => disk.create(""), AssertionError);
    assert.throws(() => disk.write("f", -1, []), AssertionError);
  });
}
