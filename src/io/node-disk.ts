// NodeDisk: the production Disk, real files under one root directory, synchronous node:fs calls.
// Handles are cached per path so the hot path (group commit: one positioned writev of many small
// chunks, then one fdatasync) costs exactly those syscalls and no open/close. The cache is an LRU
// with a cap well below the process's descriptor limit: descriptors are a budget shared with the
// sockets, so with thousands of partitions the inactive segments and indexes are closed and
// reopened on use; running out anyway (EMFILE/ENFILE) evicts and retries once, then is refused
// work (DiskError EMFILE), never taken for a failed disk.
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
  "EMFILE",
]);

/** Errnos that mean "out of descriptors" (process or system), reported as EMFILE. */
const OUT_OF_FDS: ReadonlySet<string> = new Set(["EMFILE", "ENFILE"]);

/** The cache's cap when the soft RLIMIT_NOFILE cannot be read (no /proc). */
export const DEFAULT_MAX_OPEN_FILES = 512;

/**
 * How many file handles NodeDisk keeps open: half the soft RLIMIT_NOFILE (the rest is headroom
 * for sockets, the NATS connection and transient opens), at most 4096 and at least 32.
 */
export function defaultMaxOpenFiles(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = fs.readFileSync("/proc/self/limits", "utf8");
    } catch {
      return DEFAULT_MAX_OPEN_FILES;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (m === null) return DEFAULT_MAX_OPEN_FILES;
  const soft = m[1] === "unlimited" ? Infinity : Number(m[1]);
  return Math.max(32, Math.min(4096, Math.floor(soft / 2)));
}

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
  if (OUT_OF_FDS.has(code)) {
    const out = new DiskError("EMFILE", op, path);
    out.message = `${op} ${path}: ${code} (too many open files: raise the descriptor limit, or fewer partitions/connections)`;
    return out;
  }
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

/** True for a node:fs error that means the process or system is out of descriptors. */
function isOutOfFds(e: unknown): boolean {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" && OUT_OF_FDS.has(e.code);
}

/** The production Disk: files under `rootDir`, every path relative to it. */
export class NodeDisk implements Disk {
  private readonly root: string;
  /** Cached handles, least recently used first (Map keeps insertion order; a use re-inserts). */
  private readonly fds = new Map<string, number>();
  /** The path used last: the hot path skips re-inserting it. */
  private mostRecent: string | undefined = undefined;
  /** Paths whose handle an operation in libuv's thread pool is using: never evicted meanwhile. */
  private readonly pinned = new Map<string, number>();
  /**
   * Handles a read in the thread pool is using, by descriptor: reads do not wait for the lane's
   * closes, removes and renames, so a close of such a handle waits for its reads (the number is
   * never reused under a running read), and the read sees the file it started on.
   */
  private readonly reading = new Map<number, number>();
  /** Handles closed (dropped from the cache) while reads used them: closed when the last read ends. */
  private readonly closeAfterReads = new Set<number>();
  /**
   * How many cached handles each directory has below it: renames and removes of a file (a
   * checkpoint's rename, thousands per tick) skip the scan of every cached handle.
   */
  private readonly handlesUnder = new Map<string, number>();
  /** The most handles kept open at once. */
  readonly maxOpenFiles: number;

  /** `rootDir` should exist (or be made with mkdir("")); nothing is touched until the first call. */
  constructor(rootDir: string, options: { readonly maxOpenFiles?: number } = {}) {
    this.root = nodePath.resolve(rootDir);
    this.maxOpenFiles = options.maxOpenFiles ?? defaultMaxOpenFiles();
    assertInt(this.maxOpenFiles, "maxOpenFiles", 1);
  }

  /** How many handles are cached now (for tests and metrics). */
  get openFiles(): number {
    return this.fds.size;
  }

  /**
   * Runs an fs call that may need a descriptor; out of descriptors, it closes half of the cached
   * handles and tries once more before reporting EMFILE.
   */
  private withFds<T>(op: string, path: string, f: () => T): T {
    try {
      return f();
    } catch (e: unknown) {
      if (!isOutOfFds(e)) throw toDiskError(e, op, path);
      this.evict(Math.max(1, Math.ceil(this.fds.size / 2)));
      return fsCall(op, path, f);
    }
  }

  /** Closes up to `count` least recently used handles that no thread-pool operation is using. */
  private evict(count: number): void {
    let left = count;
    for (const [p, fd] of this.fds) {
      if (left === 0) break;
      if (this.pinned.has(p) || this.reading.has(fd)) continue;
      this.forget(p);
      fs.closeSync(fd);
      left--;
    }
  }

  /** Caches a freshly opened handle as the most recently used, evicting past the cap. */
  private remember(path: string, fd: number): void {
    if (this.fds.size >= this.maxOpenFiles) this.evict(this.fds.size - this.maxOpenFiles + 1);
    this.fds.set(path, fd);
    this.countUnder(path, 1);
    this.mostRecent = path;
  }

  /** Drops the cache entry of `path` (the caller closes or moves its handle). */
  private forget(path: string): void {
    if (!this.fds.delete(path)) return;
    this.countUnder(path, -1);
    if (this.mostRecent === path) this.mostRecent = undefined;
  }

  /** Adds `delta` to the handle count of every directory above `path`. */
  private countUnder(path: string, delta: number): void {
    for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
      const dir = path.slice(0, i);
      const n = (this.handlesUnder.get(dir) ?? 0) + delta;
      if (n === 0) this.handlesUnder.delete(dir);
      else this.handlesUnder.set(dir, n);
    }
  }

  private pin(path: string): void {
    this.pinned.set(path, (this.pinned.get(path) ?? 0) + 1);
  }

  private unpin(path: string): void {
    const n = (this.pinned.get(path) ?? 1) - 1;
    if (n === 0) this.pinned.delete(path);
    else this.pinned.set(path, n);
  }

  /** The absolute path of a disk-relative path. */
  private abs(path: string): string {
    return path === "" ? this.root : nodePath.join(this.root, path);
  }

  /** The cached read-write handle of an existing file, opened on first use. */
  private fd(op: string, path: string): number {
    // A cached handle's path was checked when it was opened (the hot path skips the split).
    const cached = this.fds.get(path);
    if (cached !== undefined) {
      if (path !== this.mostRecent) {
        this.fds.delete(path);
        this.fds.set(path, cached);
        this.mostRecent = path;
      }
      return cached;
    }
    checkPath(path, false);
    const fd = this.withFds(op, path, () => fs.openSync(this.abs(path), "r+"));
    this.remember(path, fd);
    return fd;
  }

  /** Closes the handles of `path` and of everything under it (for removes and renames of a directory). */
  private closeUnder(path: string): void {
    const own = this.fds.get(path);
    if (own !== undefined) {
      this.forget(path);
      this.closeFd(own);
    }
    if (!this.handlesUnder.has(path)) return;
    const prefix = `${path}/`;
    for (const [p, fd] of [...this.fds]) {
      if (p.startsWith(prefix)) {
        this.forget(p);
        this.closeFd(fd);
      }
    }
  }

  /** Creates an empty file (truncating an existing one) and caches its handle. */
  create(path: string): void {
    checkPath(path, false);
    this.close(path);
    const fd = this.withFds("create", path, () => fs.openSync(this.abs(path), "w+"));
    this.remember(path, fd);
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
    this.pin(path);
    fs.fdatasync(fd, (e) => {
      this.unpin(path);
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
    this.pin(path);
    const step = (written: number): void => {
      const rest = written === 0 ? (chunks as Uint8Array[]) : remainingChunks(chunks, written);
      fs.writev(fd, rest, position + written, (e, n) => {
        if (e !== null || written + n >= total) this.unpin(path);
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
    this.withFds("rename", from, () => fs.renameSync(this.abs(from), this.abs(to)));
    if (from === to) return;
    this.closeUnder(to);
    const own = this.fds.get(from);
    if (own !== undefined) this.move(from, to, own);
    if (!this.handlesUnder.has(from)) return;
    const prefix = `${from}/`;
    for (const [p, fd] of [...this.fds]) {
      if (p.startsWith(prefix)) this.move(p, to + p.slice(from.length), fd);
    }
  }

  /** Moves a cached handle to the path its file was renamed to. */
  private move(from: string, to: string, fd: number): void {
    this.forget(from);
    this.fds.set(to, fd);
    this.countUnder(to, 1);
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
    this.withFds("removeTree", path, () => fs.rmSync(this.abs(path), { recursive: true, force: true }));
  }

  /** Like `mkdir -p`: EEXIST if a file is in the way, ENOTDIR if a parent is a file. */
  mkdir(path: string): void {
    checkPath(path, true);
    this.withFds("mkdir", path, () => fs.mkdirSync(this.abs(path), { recursive: true }));
  }

  /** Directory entries sorted by UTF-16 code unit. */
  list(dir: string): string[] {
    checkPath(dir, true);
    return this.withFds("list", dir, () => fs.readdirSync(this.abs(dir))).sort();
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
    const fd = this.withFds("syncDir", path, () => fs.openSync(this.abs(path), flags));
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
    this.forget(path);
    fsCall("close", path, () => this.closeFd(fd));
  }

  /** Closes a handle no longer cached, or leaves it to the last read still using it. */
  private closeFd(fd: number): void {
    if (this.reading.has(fd)) this.closeAfterReads.add(fd);
    else fs.closeSync(fd);
  }

  /**
   * read() in libuv's thread pool (looping on short reads until end of file), on the cached
   * handle; `done` gets the bytes (short at end of file) or the DiskError it failed with.
   */
  readAsync(path: string, position: number, length: number, done: (result: Uint8Array | DiskError) => void): void {
    assertInt(position, "read position", 0);
    assertInt(length, "read length", 0);
    const fd = this.fd("read", path);
    this.reading.set(fd, (this.reading.get(fd) ?? 0) + 1);
    const unfilled = Buffer.allocUnsafe(length);
    const buf = new Uint8Array(unfilled.buffer, unfilled.byteOffset, length);
    const finish = (result: Uint8Array | DiskError): void => {
      const n = (this.reading.get(fd) ?? 1) - 1;
      if (n > 0) this.reading.set(fd, n);
      else {
        this.reading.delete(fd);
        if (this.closeAfterReads.delete(fd)) fs.close(fd, () => undefined);
      }
      done(result);
    };
    const step = (got: number): void => {
      if (got === length) return finish(buf);
      fs.read(fd, buf, got, length - got, position + got, (e, n) => {
        if (e !== null) {
          const error = toDiskError(e, "read", path);
          if (!(error instanceof DiskError)) throw error;
          return finish(error);
        }
        if (n === 0) return finish(length - got > SHRINK_SHORT_READ_BYTES ? buf.slice(0, got) : buf.subarray(0, got));
        step(got + n);
      });
    };
    step(0);
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
