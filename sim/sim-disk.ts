// SimDisk: the simulator's Disk, in memory and deterministic, with power-loss crashes and injected
// faults. Reads see every completed write (the page cache); crash() keeps only what fdatasync and
// syncDir made durable, plus a random, reported subset of the rest (see sim-disk-crash.ts and
// sim-disk-journal.ts). Error codes match what NodeDisk gets from Linux.
import { assert, assertInt } from "../src/core/assert.js";
import { DiskError, parentDir, type Disk, type DiskOp, type FileStat } from "../src/core/disk.js";
import type { Random } from "../src/core/random.js";
import { crashSimDisk, type SimDiskCrashReport } from "./sim-disk-crash.js";
import { mergeSimDiskFaults, NO_SIM_DISK_FAULTS, type SimDiskFaults } from "./sim-disk-faults.js";
import { SimNsJournal } from "./sim-disk-journal.js";
import { applyDataOp, type SimDir, type SimFile, type SimNsChange, type SimNsOp, type SimPendingDataOp } from "./sim-disk-node.js";
import { checkSimPath, SimTree } from "./sim-disk-tree.js";

export type { SimDiskFaults } from "./sim-disk-faults.js";
export type { SimCrashOp, SimCrashWrite, SimDiskCrashReport, SimWriteFate } from "./sim-disk-crash.js";
export type { SimCrashDir } from "./sim-disk-journal.js";

/** How a SimDisk is made: its randomness, its virtual clock (for mtimes) and initial faults. */
export interface SimDiskOptions {
  readonly random: Random;
  readonly nowMs: () => number;
  readonly faults?: Partial<SimDiskFaults>;
}

/** An in-memory Disk with crash semantics and injectable faults, driven by one Random. */
export class SimDisk implements Disk {
  private readonly random: Random;
  private readonly nowMs: () => number;
  private faults: SimDiskFaults;
  private readonly tree: SimTree;
  private readonly journal = new SimNsJournal();
  private seq = 0;
  /** Path prefixes whose writes and fdatasyncs fail with EIO (per-file faults: one partition's disk region failed). */
  private readonly failedPrefixes = new Set<string>();

  constructor(options: SimDiskOptions) {
    this.random = options.random;
    this.nowMs = options.nowMs;
    this.faults = mergeSimDiskFaults(NO_SIM_DISK_FAULTS, options.faults ?? {});
    this.tree = new SimTree(this.nowMs());
  }

  /** Changes some fault knobs; the others keep their values. */
  setFaults(f: Partial<SimDiskFaults>): void {
    this.faults = mergeSimDiskFaults(this.faults, f);
  }

  /** From now on every write and fdatasync of a path starting with `prefix` fails with EIO. */
  failPaths(prefix: string): void {
    this.failedPrefixes.add(prefix);
  }

  /** Writes and fdatasyncs under `prefix` work again. */
  healPaths(prefix: string): void {
    this.failedPrefixes.delete(prefix);
  }

  private failedPath(path: string): boolean {
    for (const prefix of this.failedPrefixes) if (path.startsWith(prefix)) return true;
    return false;
  }

  /** Creates an empty file, or truncates an existing one (a pending data op, like O_TRUNC). */
  create(path: string): void {
    checkSimPath(path, false);
    const { parent, name, node } = this.tree.walk("create", path);
    assert(parent !== undefined, "SimDisk.create: no parent");
    if (node?.kind === "dir") throw new DiskError("EISDIR", "create", path);
    if (node !== undefined) {
      this.addDataOp(node, { kind: "truncate", seq: this.seq++, path, length: 0, doomed: false });
      return;
    }
    const file = this.tree.newFile(this.nowMs());
    this.changeNamespace("create", [this.change(parent, parentDir(path), name, file.id)]);
  }

  /** Writes all chunks at `position`; ENOSPC (changing nothing) past capacityBytes; EIO under a failed path (failPaths). */
  write(path: string, position: number, chunks: readonly Uint8Array[]): void {
    checkSimPath(path, false);
    assertInt(position, "write position", 0);
    const file = this.tree.fileAt("write", path);
    let length = 0;
    for (const c of chunks) length += c.length;
    if (length === 0) return;
    const growth = Math.max(0, position + length - file.current.size);
    const cap = this.faults.capacityBytes;
    if (this.failedPath(path)) throw new DiskError("EIO", "write", path);
    if (cap !== undefined && growth > 0 && this.usedBytes() + growth > cap) throw new DiskError("ENOSPC", "write", path);
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    this.addDataOp(file, { kind: "write", seq: this.seq++, path, position, bytes, doomed: false });
  }

  /** Copies up to `length` bytes at `position`; EIO with probability readErrorPerMille. */
  read(path: string, position: number, length: number): Uint8Array {
    checkSimPath(path, false);
    assertInt(position, "read position", 0);
    assertInt(length, "read length", 0);
    const file = this.tree.fileAt("read", path);
    if (this.draw("simDisk.readError", this.faults.readErrorPerMille)) throw new DiskError("EIO", "read", path);
    return file.current.read(position, length);
  }

  /**
   * Makes the file's pending data durable. With probability fsyncErrorPerMille it fails with EIO
   * instead and dooms those ops: reads still see them, but the next crash drops them, even after a
   * later successful fdatasync (Linux marks the pages clean after a writeback error).
   */
  fdatasync(path: string): void {
    checkSimPath(path, false);
    const file = this.tree.fileAt("fdatasync", path);
    // A failed path draws nothing, so the random streams of other seeds' runs are unchanged.
    if (this.failedPath(path) || this.draw("simDisk.fsyncError", this.faults.fsyncErrorPerMille)) {
      for (const op of file.pending) op.doomed = true;
      throw new DiskError("EIO", "fdatasync", path);
    }
    for (const op of file.pending) if (!op.doomed) applyDataOp(file.synced, op);
    file.pending = [];
  }

  /** The bytes of `path` that a crash now would keep (what fdatasync made durable); for checkers. */
  durableBytes(path: string): Uint8Array {
    const file = this.tree.fileAt("read", path);
    return file.synced.read(0, file.synced.size);
  }

  /** Sets the file's size (a pending data op). */
  truncate(path: string, length: number): void {
    checkSimPath(path, false);
    assertInt(length, "truncate length", 0);
    const file = this.tree.fileAt("truncate", path);
    this.addDataOp(file, { kind: "truncate", seq: this.seq++, path, length, doomed: false });
  }

  /** rename(2) semantics and errors, including directories; one journal entry even across directories. */
  rename(from: string, to: string): void {
    checkSimPath(from, false);
    checkSimPath(to, false);
    const src = this.tree.walk("rename", from);
    if (src.node === undefined) throw new DiskError("ENOENT", "rename", from);
    const dst = this.tree.walk("rename", to);
    assert(src.parent !== undefined && dst.parent !== undefined, "SimDisk.rename: no parent");
    if (from === to) return;
    if (src.node.kind === "dir") {
      if (to.startsWith(`${from}/`)) {
        const e = new DiskError("EIO", "rename", from);
        e.message = `rename ${from} -> ${to}: EIO (EINVAL: into itself)`;
        throw e;
      }
      if (dst.node?.kind === "file") throw new DiskError("ENOTDIR", "rename", from);
      if (dst.node?.kind === "dir" && dst.node.entries.size > 0) throw new DiskError("ENOTEMPTY", "rename", from);
    } else if (dst.node?.kind === "dir") {
      throw new DiskError("EISDIR", "rename", from);
    }
    this.changeNamespace("rename", [
      this.change(dst.parent, parentDir(to), dst.name, src.node.id),
      this.change(src.parent, parentDir(from), src.name, undefined),
    ]);
  }

  /** Unlinks a file: ENOENT if absent, EISDIR for a directory. */
  remove(path: string): void {
    checkSimPath(path, false);
    const { parent, name, node } = this.tree.walk("remove", path);
    assert(parent !== undefined, "SimDisk.remove: no parent");
    if (node === undefined) throw new DiskError("ENOENT", "remove", path);
    if (node.kind === "dir") throw new DiskError("EISDIR", "remove", path);
    this.changeNamespace("remove", [this.change(parent, parentDir(path), name, undefined)]);
  }

  /** Like `rm -rf`, bottom-up, one namespace op per entry (so a crash may undo part of it). */
  removeTree(path: string): void {
    checkSimPath(path, false);
    let walked;
    try {
      walked = this.tree.walk("removeTree", path);
    } catch (e: unknown) {
      if (e instanceof DiskError && e.code === "ENOENT") return;
      throw e;
    }
    const { parent, name, node } = walked;
    if (node === undefined) return;
    assert(parent !== undefined, "SimDisk.removeTree: no parent");
    if (node.kind === "dir") this.emptyDir(node, path);
    this.changeNamespace("remove", [this.change(parent, parentDir(path), name, undefined)]);
  }

  /** Removes everything inside `dir` (at `path`), files before subdirectories, depth first. */
  private emptyDir(dir: SimDir, path: string): void {
    for (const name of [...dir.entries.keys()].sort()) {
      const child = this.tree.node(dir.entries.get(name) ?? -1);
      const childPath = `${path}/${name}`;
      if (child.kind === "dir") this.emptyDir(child, childPath);
      this.changeNamespace("remove", [this.change(dir, path, name, undefined)]);
    }
  }

  /** Like `mkdir -p`: EEXIST if a file is at `path`, ENOTDIR if one is on the way. */
  mkdir(path: string): void {
    checkSimPath(path, true);
    if (path === "") return;
    const names = path.split("/");
    let dir = this.tree.root;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] ?? "";
      const id = dir.entries.get(name);
      if (id === undefined) {
        const made = this.tree.newDir(this.nowMs());
        this.changeNamespace("mkdir", [this.change(dir, names.slice(0, i).join("/"), name, made.id)]);
        dir = made;
        continue;
      }
      const next = this.tree.node(id);
      if (next.kind !== "dir") throw new DiskError(i === names.length - 1 ? "EEXIST" : "ENOTDIR", "mkdir", path);
      dir = next;
    }
  }

  /** Entry names sorted by code unit. */
  list(dir: string): string[] {
    checkSimPath(dir, true);
    return [...this.tree.dirAt("list", dir).entries.keys()].sort();
  }

  /** Size, mtime and kind; undefined if nothing is at `path` (or a file is on the way). */
  stat(path: string): FileStat | undefined {
    checkSimPath(path, true);
    let node;
    try {
      node = this.tree.walk("stat", path).node;
    } catch (e: unknown) {
      if (e instanceof DiskError && (e.code === "ENOENT" || e.code === "ENOTDIR")) return undefined;
      throw e;
    }
    if (node === undefined) return undefined;
    if (node.kind === "dir") return { size: 0, mtimeMs: node.mtimeMs, isDirectory: true };
    return { size: node.current.size, mtimeMs: node.mtimeMs, isDirectory: false };
  }

  /** Makes the directory's pending namespace ops durable; EIO (nothing made durable) with fsyncErrorPerMille. */
  syncDir(path: string): void {
    checkSimPath(path, true);
    const dir = this.tree.dirAt("syncDir", path);
    if (this.draw("simDisk.syncDirError", this.faults.fsyncErrorPerMille)) throw new DiskError("EIO", "syncDir", path);
    this.journal.commitDir(dir.id, (op) => this.tree.applyDurable(op));
  }

  /** Nothing to release: SimDisk keeps no handles. */
  close(path: string): void {
    checkSimPath(path, false);
  }

  /** Power loss: see sim-disk-crash.ts; returns every decision made. */
  crash(): SimDiskCrashReport {
    return crashSimDisk(this.tree, this.journal, this.random, this.faults);
  }

  /** Bit rot: inverts `bit` of the byte at `position` in the current and the synced content. */
  flipBit(path: string, position: number, bit: number): void {
    checkSimPath(path, false);
    assertInt(bit, "flipBit bit", 0, 7);
    const file = this.tree.fileAt("flipBit", path);
    assertInt(position, "flipBit position", 0, file.current.size - 1);
    file.current.flipBit(position, bit);
    if (position < file.synced.size) file.synced.flipBit(position, bit);
  }

  /** A latency for an op of `kind`, uniform in 0..latencyMsMax (no draw when the maximum is 0). */
  latencyMs(kind: DiskOp["kind"] | "read"): number {
    const max = this.faults.latencyMsMax;
    return max === 0 ? 0 : this.random.int(`simDisk.latency.${kind}`, max + 1);
  }

  /** Total size of the files in the current namespace. */
  usedBytes(): number {
    let total = 0;
    for (const { file } of this.tree.currentFiles()) total += file.current.size;
    return total;
  }

  /** Paths of every file in the current namespace, sorted (for debugging and tests). */
  files(): string[] {
    return this.tree.currentFiles().map((f) => f.path).sort();
  }

  /** How many namespace ops and data ops are not yet durable (for debugging and tests). */
  pendingCounts(): { namespaceOps: number; dataOps: number } {
    let dataOps = 0;
    for (const n of this.tree.nodes.values()) if (n.kind === "file") dataOps += n.pending.length;
    return { namespaceOps: this.journal.size, dataOps };
  }

  /** True with probability perMille/1000; no draw at all when it is 0, so streams stay stable. */
  private draw(label: string, perMille: number): boolean {
    return perMille > 0 && this.random.chance(label, perMille, 1000);
  }

  /** Applies a data op to the current bytes and remembers it until fdatasync. */
  private addDataOp(file: SimFile, op: SimPendingDataOp): void {
    applyDataOp(file.current, op);
    file.pending.push(op);
    file.mtimeMs = this.nowMs();
  }

  /** One change of directory `dir` (at `dirPath`): `name` now points at `next` (undefined: removed). */
  private change(dir: SimDir, dirPath: string, name: string, next: number | undefined): SimNsChange {
    return { dirId: dir.id, dirPath, name, next };
  }

  /** Applies changes to the current entries and journals them as one op. */
  private changeNamespace(kind: SimNsOp["kind"], changes: SimNsChange[]): void {
    const op: SimNsOp = { seq: this.seq++, kind, changes };
    this.tree.applyCurrent(op, this.nowMs());
    this.journal.record(op);
  }
}
