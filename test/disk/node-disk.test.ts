// NodeDisk specifics beyond the shared contract: real files under the root, errno mapping, handles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskError } from "../../src/core/disk.js";
import { NodeDisk } from "../../src/io/node-disk.js";

/** Open file descriptors of this process (Linux), or undefined where /proc is absent. */
function openFds(): number | undefined {
  return existsSync("/proc/self/fd") ? readdirSync("/proc/self/fd").length : undefined;
}

/** Runs `body` with a NodeDisk on a fresh temporary directory, removed afterwards. */
function withDisk(body: (disk: NodeDisk, root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), "liftbridge-node-disk-"));
  const disk = new NodeDisk(root);
  try {
    body(disk, root);
  } finally {
    disk.closeAll();
    rmSync(root, { recursive: true, force: true });
  }
}

test("paths map under the root and the bytes are real files", () => {
  withDisk((disk, root) => {
    disk.mkdir("s/p0");
    disk.create("s/p0/00000000000000000000.log");
    disk.write("s/p0/00000000000000000000.log", 0, [new TextEncoder().encode("abc"), new TextEncoder().encode("def")]);
    disk.fdatasync("s/p0/00000000000000000000.log");
    disk.syncDir("s/p0");
    assert.equal(readFileSync(join(root, "s/p0/00000000000000000000.log"), "utf8"), "abcdef");
  });
});

test("an errno outside the contract becomes EIO naming the original code", () => {
  withDisk((disk) => {
    const long = "x".repeat(300);
    assert.throws(
      () => disk.create(long),
      (e: unknown) => e instanceof DiskError && e.code === "EIO" && e.message.includes("ENAMETOOLONG"),
    );
  });
});

test("cached handles follow renames of files and directories and are released by removeTree and closeAll", () => {
  withDisk((disk, root) => {
    disk.mkdir("d");
    disk.create("d/f");
    disk.write("d/f", 0, [new Uint8Array([1])]);
    const fdsWithOneCached = openFds();
    disk.rename("d", "e");
    disk.write("e/f", 1, [new Uint8Array([2])]);
    assert.equal(openFds(), fdsWithOneCached, "the renamed file's handle was reused, not reopened");
    assert.deepEqual([...readFileSync(join(root, "e/f"))], [1, 2]);
    disk.removeTree("e");
    if (fdsWithOneCached !== undefined) assert.equal(openFds(), fdsWithOneCached - 1, "removeTree closed the handle");
    assert.equal(existsSync(join(root, "e")), false);
    disk.mkdir("e");
    disk.create("e/f");
    disk.closeAll();
    if (fdsWithOneCached !== undefined) assert.equal(openFds(), fdsWithOneCached - 1, "closeAll closed the handle");
    disk.closeAll();
    disk.write("e/f", 0, [new Uint8Array([3])]);
    assert.deepEqual([...disk.read("e/f", 0, 10)], [3]);
  });
});

test("a missing root reports ENOENT until mkdir('') creates it", () => {
  const root = join(mkdtempSync(join(tmpdir(), "liftbridge-node-disk-")), "data");
  const disk = new NodeDisk(root);
  try {
    assert.throws(() => disk.list(""), (e: unknown) => e instanceof DiskError && e.code === "ENOENT");
    disk.mkdir("");
    assert.deepEqual(disk.list(""), []);
  } finally {
    disk.closeAll();
    rmSync(join(root, ".."), { recursive: true, force: true });
  }
});
