// The inodes of a SimDisk. A file keeps its current bytes (what reads see: the page cache), its
// synced bytes (what survives a crash) and the data ops issued since its last fdatasync. A directory
// keeps its current entries and its durable entries (what survives a crash); pending namespace ops
// between the two live in the SimNsJournal.
import type { SimBytes } from "./sim-disk-bytes.js";

/** A write or truncate not yet covered by an fdatasync of its file. */
export type SimPendingDataOp =
  | { readonly kind: "write"; readonly seq: number; readonly path: string; readonly position: number; readonly bytes: Uint8Array; doomed: boolean }
  | { readonly kind: "truncate"; readonly seq: number; readonly path: string; readonly length: number; doomed: boolean };

/** A regular file. */
export interface SimFile {
  readonly kind: "file";
  readonly id: number;
  current: SimBytes;
  synced: SimBytes;
  pending: SimPendingDataOp[];
  mtimeMs: number;
}

/** A directory: entry name to inode id. */
export interface SimDir {
  readonly kind: "dir";
  readonly id: number;
  entries: Map<string, number>;
  durable: Map<string, number>;
  mtimeMs: number;
}

/** Any inode. */
export type SimNode = SimFile | SimDir;

/** One directory-entry change: `name` in directory `dirId` now points at `next` (undefined: removed). */
export interface SimNsChange {
  readonly dirId: number;
  readonly dirPath: string;
  readonly name: string;
  readonly next: number | undefined;
}

/** One namespace operation (create, mkdir, rename, remove): one journal entry, atomic. */
export interface SimNsOp {
  readonly seq: number;
  readonly kind: "create" | "mkdir" | "rename" | "remove";
  readonly changes: readonly SimNsChange[];
}

/** Applies one pending data op to `bytes`, keeping only `prefixLength` bytes of a write (a torn write). */
export function applyDataOp(bytes: SimBytes, op: SimPendingDataOp, prefixLength?: number): void {
  if (op.kind === "truncate") bytes.truncate(op.length);
  else bytes.write(op.position, prefixLength === undefined ? op.bytes : op.bytes.subarray(0, prefixLength));
}

/** The distinct directories an op touches, in change order. */
export function nsOpDirs(op: SimNsOp): number[] {
  const dirs: number[] = [];
  for (const c of op.changes) if (!dirs.includes(c.dirId)) dirs.push(c.dirId);
  return dirs;
}
