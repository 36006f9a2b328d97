// Small checkpoint files (high watermark, leader epochs) are replaced atomically: write a temp
// file, fdatasync it, rename it over the old one, then sync the directory so the rename survives.
import type { DiskOp, DiskReader } from "../disk.js";
import { parentDir } from "../disk.js";

/** Suffix of a checkpoint being written; leftovers are removed on open. */
export const TEMP_SUFFIX = ".tmp";

/**
 * The ops that atomically replace `path` with `bytes`. With `syncDir` false the rename is not made
 * durable at once: after a crash the file holds the new bytes or the old ones (whole either way),
 * which is enough for a checkpoint that may lag (the next syncDir of the directory settles it).
 */
export function atomicWriteOps(path: string, bytes: Uint8Array, syncDir = true): DiskOp[] {
  const temp = path + TEMP_SUFFIX;
  const ops: DiskOp[] = [
    { kind: "create", path: temp },
    { kind: "write", path: temp, position: 0, chunks: [bytes] },
    { kind: "fdatasync", path: temp },
    { kind: "close", path: temp },
    { kind: "rename", from: temp, to: path },
  ];
  if (syncDir) ops.push({ kind: "syncDir", path: parentDir(path) });
  return ops;
}

/** Reads a whole (small) file as text, or undefined when it does not exist or is not UTF-8. */
export function readTextFile(reader: DiskReader, path: string): string | undefined {
  const stat = reader.stat(path);
  if (stat === undefined || stat.isDirectory) return undefined;
  const bytes = reader.read(path, 0, stat.size);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** UTF-8 bytes of `text`. */
export function textBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
