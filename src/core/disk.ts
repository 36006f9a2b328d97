// The Disk contract: what the drivers (NodeDisk in production, SimDisk in the simulator) execute
// on behalf of the core. The core never calls a mutating method itself: it returns DiskOps, the
// driver applies them in order and reports back. Reads may be called synchronously by the core
// only where docs/runtime.md ("Reads") says so (recovery, bounded compaction and repair steps); a
// subscriber's chunk leaves the core as a ReadRequest output instead.
//
// Paths are relative, '/'-separated, and rooted at the disk (NodeDisk maps them under its data
// directory). Every method is synchronous and throws DiskError on failure.

/**
 * The errno-style codes a Disk may fail with. EMFILE stands for both EMFILE and ENFILE: the
 * process (or the system) is out of file descriptors, so nothing was opened or written.
 */
export type DiskErrorCode = "ENOENT" | "EEXIST" | "ENOSPC" | "EIO" | "ENOTDIR" | "EISDIR" | "ENOTEMPTY" | "EMFILE";

/** A failed disk operation; the only exception a Disk method may throw. */
export class DiskError extends Error {
  override name = "DiskError";
  constructor(
    readonly code: DiskErrorCode,
    readonly op: string,
    readonly path: string,
  ) {
    super(`${op} ${path}: ${code}`);
  }
}

/**
 * True for a failure that means "no room now" rather than "the disk is broken": ENOSPC from an
 * operation that writes data or directory entries (nothing durable was lost, the caller cuts back
 * what it wrote), and EMFILE (nothing was opened). Both are refused work, retried when resources
 * return. ENOSPC from fdatasync, a directory sync or close is a writeback failure like EIO: after
 * it the kernel may have dropped pages that reads still return (PostgreSQL panics on it too).
 */
export function isOutOfResources(error: DiskError): boolean {
  if (error.code === "EMFILE") return true;
  // close(2) may report a deferred writeback error too (NFS): the same as a failed fsync.
  return error.code === "ENOSPC" && error.op !== "fdatasync" && error.op !== "syncDir" && error.op !== "close";
}

/** What stat reports about a file or directory. */
export interface FileStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly isDirectory: boolean;
}

/** The read half of the contract: safe for the core to call synchronously. */
export interface DiskReader {
  /** Reads up to `length` bytes at `position`; shorter (possibly empty) at end of file. */
  read(path: string, position: number, length: number): Uint8Array;
  /** Names in a directory, sorted by code unit; ENOENT if it does not exist. */
  list(dir: string): string[];
  /** Size, modification time and kind, or undefined when nothing is at `path`. */
  stat(path: string): FileStat | undefined;
}

/** The whole contract, implemented by NodeDisk (src/io) and SimDisk (sim). */
export interface Disk extends DiskReader {
  /** Creates an empty file, truncating an existing one; the parent directory must exist. */
  create(path: string): void;
  /** Writes all bytes of `chunks`, in order, starting at `position` (a gap reads as zeros). */
  write(path: string, position: number, chunks: readonly Uint8Array[]): void;
  /** Makes the file's written data durable (fdatasync). Does not make its directory entry durable. */
  fdatasync(path: string): void;
  /** Sets the file's size to `length` (shrinking drops bytes, growing adds zeros). */
  truncate(path: string, length: number): void;
  /** Atomically replaces `to` with `from`; durable only after syncDir of both parents. */
  rename(from: string, to: string): void;
  /** Removes a file. */
  remove(path: string): void;
  /** Removes a directory and everything under it; nothing happens if it does not exist. */
  removeTree(path: string): void;
  /** Creates a directory and any missing parents; nothing happens if it exists. */
  mkdir(path: string): void;
  /** Makes the directory's entries (creates, renames, removes) durable. */
  syncDir(path: string): void;
  /** Releases any handle the disk keeps for `path`; the next operation reopens it. */
  close(path: string): void;
}

/** One mutating disk operation, as the core emits it. */
export type DiskOp =
  | { readonly kind: "create"; readonly path: string }
  | { readonly kind: "write"; readonly path: string; readonly position: number; readonly chunks: readonly Uint8Array[] }
  | { readonly kind: "fdatasync"; readonly path: string }
  | { readonly kind: "truncate"; readonly path: string; readonly length: number }
  | { readonly kind: "rename"; readonly from: string; readonly to: string }
  | { readonly kind: "remove"; readonly path: string }
  | { readonly kind: "removeTree"; readonly path: string }
  | { readonly kind: "mkdir"; readonly path: string }
  | { readonly kind: "syncDir"; readonly path: string }
  | { readonly kind: "close"; readonly path: string };

/** Applies one DiskOp to a Disk (shared by every driver so they cannot disagree). */
export function applyDiskOp(disk: Disk, op: DiskOp): void {
  switch (op.kind) {
    case "create":
      return disk.create(op.path);
    case "write":
      return disk.write(op.path, op.position, op.chunks);
    case "fdatasync":
      return disk.fdatasync(op.path);
    case "truncate":
      return disk.truncate(op.path, op.length);
    case "rename":
      return disk.rename(op.from, op.to);
    case "remove":
      return disk.remove(op.path);
    case "removeTree":
      return disk.removeTree(op.path);
    case "mkdir":
      return disk.mkdir(op.path);
    case "syncDir":
      return disk.syncDir(op.path);
    case "close":
      return disk.close(op.path);
  }
}

/** Joins path segments with '/', dropping empty ones (the core has no node:path). */
export function joinPath(...parts: readonly string[]): string {
  return parts.filter((p) => p.length > 0).join("/");
}

/** The parent directory of a path ('' for a top-level name). */
export function parentDir(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** Reads a whole file in 1 MiB chunks (start-up recovery only: the one place a step may read synchronously). */
export function readWholeFile(reader: DiskReader, path: string, size: number): Uint8Array {
  const chunkBytes = 1024 * 1024;
  const out = new Uint8Array(size);
  let pos = 0;
  while (pos < size) {
    const chunk = reader.read(path, pos, Math.min(chunkBytes, size - pos));
    if (chunk.length === 0) break;
    out.set(chunk, pos);
    pos += chunk.length;
  }
  return out.subarray(0, pos);
}
