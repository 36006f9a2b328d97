// NodeDisk: the production Disk, real files under one root directory, synchronous node:fs calls.
// Handles are cached per path so the hot path (group commit: one positioned writev of many small
// chunks, then one fdatasync) costs exactly those syscalls and no open/close.
import fs from "node:fs";
import nodePath from "node:path";
import { assert, assertInt } from "../core/assert.js";
import { DiskError, type Disk, type DiskErrorCode, type FileStat } from "../core/disk.js";

const KNOWN_CODES: ReadonlySet<string> = new Set<DiskErrorCode>([
  "ENOENT",
  "EEXIST",
  "ENOSPC",
  "EIO",
  "ENOTDIR",
  "EISDIR",
  "ENOTEMPTY",
]);

// A short read of a huge request keeps only what was read, not the whole buffer.
const SHRINK_SHORT_READ_BYTES = 64 * 1024;

/** Asserts `path` is a disk-relative path: '/'-separated names, no '.', '..', empty or leading '/'. */
function checkPath(path: string, allowRoot: boolean): void {
  if (path === "") {
    assert(allowRoot, "NodeDisk: this operation needs a non-empty path");
    return;
  }
  for (const name of path.split("/")) {
    assert(name !== "" && name !== "." && name !== "..", `NodeDisk: malformed relative path ${JSON.stringify(path)}`);
  }
}

/** Turns a thrown node:fs error into a DiskError; anything that is not an errno error is rethrown. */
function toDiskError(e: unknown, op: string, path: string): Error {
  const code = typeof e === "object" && e !== null && "code" in e ? e.code : undefined;
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code)) return e instanceof Error ? e : new Error(String(e));
  if (KNOWN_CODES.has(code)) return new DiskError(code as DiskErrorCode, op, path);
  const mapped = new DiskError("EIO", op, path);
  // Keep the real cause (EACCES, EROFS, EMFILE, EINVAL...) visible to whoever reads the log.
  mapped.message = `${op} ${path}: EIO (${code})`;
  return mapped;
}

/** Runs `f`, converting node:fs errno failures into DiskError. */
function fsCall<T>(op: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e: unknown) {
    throw toDiskError(e, op, path);
  }
}

/** The production Disk: files under `rootDir`, every path relative to it. */
export class NodeDisk implements Disk {
  private readonly root: string;
  private readonly fds = new Map<string, number>();

  /** `rootDir` should exist (or be made with mkdir("")); nothing is touched until the first call. */
  constructor(rootDir: string) {
    this.root = nodePath.resolve(rootDir);
  }

  /** The absolute path of a disk-relative path. */
  private abs(path: string): string {
    return path === "" ? this.root : nodePath.join(this.root, path);
  }

  /** The cached read-write handle of an existing file, opened on first use. */
  private fd(op: string, path: string): number {
    // A cached handle's path was checked when it was opened (the hot path skips the split).
    const cached = this.fds.get(path);
    if (cached !== undefined) return cached;
    checkPath(path, false);
    const fd = fsCall(op, path, () => fs.openSync(this.abs(path), "r+"));
    this.fds.set(path, fd);
    return fd;
  }

  /** Closes the handles of `path` and of everything under it (for removes and renames of a directory). */
  private closeUnder(path: string): void {
    const prefix = `${path}/`;
    for (const [p, fd] of [...this.fds]) {
      if (p === path || p.startsWith(prefix)) {
        this.fds.delete(p);
        fs.closeSync(fd);
      }
    }
  }

  /** Creates an empty file (truncating an existing one) and caches its handle. */
  create(path: string): void {
    checkPath(path, false);
    this.close(path);
    const fd = fsCall("create", path, () => fs.openSync(this.abs(path), "w+"));
    this.fds.set(path, fd);
  }

  /** One positioned writev of all chunks (no copy); loops only if the kernel writes short. */
  write(path: string, position: number, chunks: readonly Uint8Array[]): void {
    assertInt(position, "write position", 0);
    const fd = this.fd("write", path);
    let total = 0;
    for (const c of chunks) total += c.length;
    let done = fsCall("write", path, () => fs.writevSync(fd, chunks as Uint8Array[], position));
    while (done < total) {
      const rest = remainingChunks(chunks, done);
      const at = position + done;
      const n = fsCall("write", path, () => fs.writevSync(fd, rest, at));
      assert(n > 0, `NodeDisk: writev of ${path} made no progress`);
      done += n;
    }
  }

  /** Reads up to `length` bytes at `position` into a fresh Uint8Array; short at end of file. */
  read(path: string, position: number, length: number): Uint8Array {
    assertInt(position, "read position", 0);
    assertInt(length, "read length", 0);
    const fd = this.fd("read", path);
    // Not zero-filled (only the bytes read are ever exposed), and a plain Uint8Array: the log
    // reader slices it per record, and Buffer's subarray costs more than the built-in one.
    const unfilled = Buffer.allocUnsafe(length);
    const buf = new Uint8Array(unfilled.buffer, unfilled.byteOffset, length);
    let done = 0;
    while (done < length) {
      const n = fsCall("read", path, () => fs.readSync(fd, buf, done, length - done, position + done));
      if (n === 0) break;
      done += n;
    }
    if (done === length) return buf;
    return length - done > SHRINK_SHORT_READ_BYTES ? buf.slice(0, done) : buf.subarray(0, done);
  }

  /** fdatasync(2) on the cached handle. */
  fdatasync(path: string): void {
    const fd = this.fd("fdatasync", path);
    fsCall("fdatasync", path, () => fs.fdatasyncSync(fd));
  }

  /**
   * fdatasync(2) on the cached handle in libuv's thread pool, so the event loop keeps reading
   * the network meanwhile; `done` gets undefined, or the DiskError it failed with.
   */
  fdatasyncAsync(path: string, done: (error: DiskError | undefined) => void): void {
    const fd = this.fd("fdatasync", path);
    fs.fdatasync(fd, (e) => {
      if (e === null) return done(undefined);
      const error = toDiskError(e, "fdatasync", path);
      if (!(error instanceof DiskError)) throw error;
      done(error);
    });
  }

  /**
   * The positioned writev of write(), in libuv's thread pool (looping on short writes), so the
   * event loop keeps reading the network while the kernel takes the bytes (or throttles the
   * writer); `done` gets undefined, or the DiskError it failed with.
   */
  writeAsync(path: string, position: number, chunks: readonly Uint8Array[], done: (error: DiskError | undefined) => void): void {
    assertInt(position, "write position", 0);
    const fd = this.fd("write", path);
    let total = 0;
    for (const c of chunks) total += c.length;
    const step = (written: number): void => {
      const rest = written === 0 ? (chunks as Uint8Array[]) : remainingChunks(chunks, written);
      fs.writev(fd, rest, position + written, (e, n) => {
        if (e !== null) {
          const error = toDiskError(e, "write", path);
          if (!(error instanceof DiskError)) throw error;
          return done(error);
        }
        assert(n > 0 || total === written, `NodeDisk: writev of ${path} made no progress`);
        if (written + n < total) return step(written + n);
        done(undefined);
      });
    };
    step(0);
  }

  /** ftruncate(2) on the cached handle. */
  truncate(path: string, length: number): void {
    assertInt(length, "truncate length", 0);
    const fd = this.fd("truncate", path);
    fsCall("truncate", path, () => fs.ftruncateSync(fd, length));
  }

  /** rename(2); cached handles follow the file (or every file under a renamed directory). */
  rename(from: string, to: string): void {
    checkPath(from, false);
    checkPath(to, false);
    fsCall("rename", from, () => fs.renameSync(this.abs(from), this.abs(to)));
    if (from === to) return;
    this.closeUnder(to);
    const prefix = `${from}/`;
    for (const [p, fd] of [...this.fds]) {
      if (p === from || p.startsWith(prefix)) {
        this.fds.delete(p);
        this.fds.set(to + p.slice(from.length), fd);
      }
    }
  }

  /** unlink(2) of a file (EISDIR for a directory). */
  remove(path: string): void {
    checkPath(path, false);
    fsCall("remove", path, () => fs.unlinkSync(this.abs(path)));
    this.close(path);
  }

  /** Like `rm -rf`: removes a directory (or file) and everything under it; absent is fine. */
  removeTree(path: string): void {
    checkPath(path, false);
    this.closeUnder(path);
    fsCall("removeTree", path, () => fs.rmSync(this.abs(path), { recursive: true, force: true }));
  }

  /** Like `mkdir -p`: EEXIST if a file is in the way, ENOTDIR if a parent is a file. */
  mkdir(path: string): void {
    checkPath(path, true);
    fsCall("mkdir", path, () => fs.mkdirSync(this.abs(path), { recursive: true }));
  }

  /** Directory entries sorted by UTF-16 code unit. */
  list(dir: string): string[] {
    checkPath(dir, true);
    return fsCall("list", dir, () => fs.readdirSync(this.abs(dir))).sort();
  }

  /** stat(2); undefined when nothing is at `path` (including a path under a file). */
  stat(path: string): FileStat | undefined {
    checkPath(path, true);
    try {
      const s = fs.statSync(this.abs(path), { throwIfNoEntry: false });
      if (s === undefined) return undefined;
      return { size: s.size, mtimeMs: Math.floor(s.mtimeMs), isDirectory: s.isDirectory() };
    } catch (e: unknown) {
      const mapped = toDiskError(e, "stat", path);
      if (mapped instanceof DiskError && mapped.code === "ENOTDIR") return undefined;
      throw mapped;
    }
  }

  /** fsync(2) of the directory itself, which makes its creates, renames and removes durable. */
  syncDir(path: string): void {
    checkPath(path, true);
    const flags = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY;
    const fd = fsCall("syncDir", path, () => fs.openSync(this.abs(path), flags));
    try {
      fsCall("syncDir", path, () => fs.fsyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Closes the cached handle of `path`, if any. */
  close(path: string): void {
    const fd = this.fds.get(path);
    if (fd === undefined) return;
    this.fds.delete(path);
    fsCall("close", path, () => fs.closeSync(fd));
  }

  /** Closes every cached handle (shutdown). */
  closeAll(): void {
    for (const path of [...this.fds.keys()]) this.close(path);
  }
}

/** The chunks still to write after `skip` bytes went out, as views (no copying). */
function remainingChunks(chunks: readonly Uint8Array[], skip: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let left = skip;
  for (const c of chunks) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    rest.push(left > 0 ? c.subarray(left) : c);
    left = 0;
  }
  return rest;
}
