// An independent model of SimDisk's crash contract, for a two-level namespace (top-level
// directories holding files). It knows nothing of SimDisk's internals: it tracks, per file, the
// bytes a reader sees, the synced bytes and the unsynced writes in issue order, and per directory
// the pending namespace ops; given a crash report it checks that every decision is one the contract
// allows, replays them, and so predicts every file's bytes after the crash.
import assert from "node:assert/strict";
import type { Disk, DiskErrorCode } from "../../src/core/disk.js";
import type { SimCrashOp, SimDiskCrashReport, SimWriteFate } from "../sim-disk.js";

/** One operation of a generated workload. */
export type CrashModelOp =
  | { readonly kind: "mkdir"; readonly dir: string }
  | { readonly kind: "create"; readonly path: string }
  | { readonly kind: "write"; readonly path: string; readonly position: number; readonly bytes: Uint8Array }
  | { readonly kind: "fdatasync"; readonly path: string }
  | { readonly kind: "truncate"; readonly path: string; readonly length: number }
  | { readonly kind: "rename"; readonly from: string; readonly to: string }
  | { readonly kind: "remove"; readonly path: string }
  | { readonly kind: "syncDir"; readonly dir: string }
  | { readonly kind: "crash" };

interface MFile {
  bytes: number[];
  synced: number[];
}

interface MDir {
  entries: Map<string, MFile>;
  durable: Map<string, MFile>;
}

interface MData {
  readonly file: MFile;
  readonly desc: SimCrashOp;
  readonly bytes: readonly number[];
  doomed: boolean;
}

interface MNs {
  /** Directory paths this op touches ("" is the root). */
  readonly dirs: readonly string[];
  /** Writes the op into the durable entries. */
  readonly commit: () => void;
}

/** Applies a data op (optionally only a prefix of a write) to a byte array. */
function applyData(target: number[], d: MData, prefixLength?: number): void {
  if (d.desc.kind === "truncate") {
    target.length = Math.min(target.length, d.desc.length);
    while (target.length < d.desc.length) target.push(0);
    return;
  }
  const position = d.desc.position;
  const bytes = prefixLength === undefined ? d.bytes : d.bytes.slice(0, prefixLength);
  while (target.length < position) target.push(0);
  bytes.forEach((v, i) => (target[position + i] = v));
}

/** Splits "dir/name". */
function split(path: string): [string, string] {
  const [dir, name, ...rest] = path.split("/");
  assert.ok(dir !== undefined && name !== undefined && rest.length === 0, `model paths are dir/name: ${path}`);
  return [dir, name];
}

/** The model: current and durable namespace, files, unsynced data ops and pending namespace ops. */
export class DiskCrashModel {
  private readonly root = { entries: new Map<string, MDir>(), durable: new Map<string, MDir>() };
  private data: MData[] = [];
  private ns: MNs[] = [];

  /** The error the contract demands for `op` in the current state (fault-free), or undefined. */
  expectedError(op: CrashModelOp): DiskErrorCode | undefined {
    switch (op.kind) {
      case "mkdir":
      case "crash":
        return undefined;
      case "syncDir":
        return op.dir === "" || this.root.entries.has(op.dir) ? undefined : "ENOENT";
      case "create":
        return this.root.entries.has(split(op.path)[0]) ? undefined : "ENOENT";
      case "rename":
        if (this.file(op.from) === undefined) return "ENOENT";
        return this.root.entries.has(split(op.to)[0]) ? undefined : "ENOENT";
      case "write":
      case "fdatasync":
      case "truncate":
      case "remove":
        return this.file(op.path) === undefined ? "ENOENT" : undefined;
    }
  }

  /** The file at `path` in the current namespace. */
  private file(path: string): MFile | undefined {
    const [dir, name] = split(path);
    return this.root.entries.get(dir)?.entries.get(name);
  }

  /** Applies a successful op (or a failed fdatasync/syncDir when `failedWithEio`). */
  apply(op: Exclude<CrashModelOp, { kind: "crash" }>, failedWithEio: boolean): void {
    switch (op.kind) {
      case "mkdir":
        return this.mkdir(op.dir);
      case "create":
        return this.create(op.path);
      case "write":
        return this.addData(op.path, { kind: "write", path: op.path, position: op.position, length: op.bytes.length }, [...op.bytes]);
      case "truncate":
        return this.addData(op.path, { kind: "truncate", path: op.path, length: op.length }, []);
      case "fdatasync":
        return this.fdatasync(op.path, failedWithEio);
      case "rename":
        return this.rename(op.from, op.to);
      case "remove":
        return this.remove(op.path);
      case "syncDir":
        if (!failedWithEio) this.syncDir(op.dir);
        return;
    }
  }

  private mkdir(dir: string): void {
    if (this.root.entries.has(dir)) return;
    const made: MDir = { entries: new Map(), durable: new Map() };
    this.root.entries.set(dir, made);
    this.ns.push({ dirs: [""], commit: () => this.root.durable.set(dir, made) });
  }

  private create(path: string): void {
    if (this.file(path) !== undefined) {
      this.addData(path, { kind: "truncate", path, length: 0 }, []);
      return;
    }
    const [dir, name] = split(path);
    const d = this.root.entries.get(dir);
    assert.ok(d !== undefined);
    const f: MFile = { bytes: [], synced: [] };
    d.entries.set(name, f);
    this.ns.push({ dirs: [dir], commit: () => d.durable.set(name, f) });
  }

  private addData(path: string, desc: SimCrashOp, bytes: number[]): void {
    const file = this.file(path);
    assert.ok(file !== undefined);
    const d: MData = { file, desc, bytes, doomed: false };
    applyData(file.bytes, d);
    this.data.push(d);
  }

  private fdatasync(path: string, failed: boolean): void {
    const file = this.file(path);
    const mine = this.data.filter((d) => d.file === file);
    if (failed) {
      // After a failed fsync those writes are lost for good (Linux marks the pages clean).
      for (const d of mine) d.doomed = true;
      return;
    }
    for (const d of mine) if (!d.doomed) applyData(d.file.synced, d);
    this.data = this.data.filter((d) => d.file !== file);
  }

  private rename(from: string, to: string): void {
    if (from === to) return;
    const [fromDir, fromName] = split(from);
    const [toDir, toName] = split(to);
    const src = this.root.entries.get(fromDir);
    const dst = this.root.entries.get(toDir);
    const f = this.file(from);
    assert.ok(src !== undefined && dst !== undefined && f !== undefined);
    dst.entries.set(toName, f);
    src.entries.delete(fromName);
    const dirs = fromDir === toDir ? [toDir] : [toDir, fromDir];
    this.ns.push({ dirs, commit: () => (dst.durable.set(toName, f), src.durable.delete(fromName)) });
  }

  private remove(path: string): void {
    const [dir, name] = split(path);
    const d = this.root.entries.get(dir);
    assert.ok(d !== undefined);
    d.entries.delete(name);
    this.ns.push({ dirs: [dir], commit: () => d.durable.delete(name) });
  }

  /**
   * Commits every pending op of `dir` and, the journal being ordered, the other directory's ops up to
   * the last cross-directory rename among them (the model has only two directories below the root).
   */
  private syncDir(dir: string): void {
    const mine = this.ns.filter((op) => op.dirs.includes(dir));
    const lastCross = mine.filter((op) => op.dirs.length > 1).pop();
    const cutoff = lastCross === undefined ? -1 : this.ns.indexOf(lastCross);
    const committed = this.ns.filter((op, i) => op.dirs.includes(dir) || (i <= cutoff && op.dirs.some((d) => d !== "")));
    for (const op of committed) op.commit();
    this.ns = this.ns.filter((op) => !committed.includes(op));
  }

  /** Checks every decision of `report` against the contract, replays it, and makes the result current. */
  crash(report: SimDiskCrashReport): void {
    assert.equal(report.writes.length, this.data.length, "one decision per unsynced write or truncate");
    report.writes.forEach((w, i) => {
      const d = this.data[i];
      assert.ok(d !== undefined);
      assert.deepEqual(w.op, d.desc, `decision ${i} is about the write issued at that position`);
      checkFate(w.fate, d);
      if (w.fate.kind === "applied") applyData(d.file.synced, d);
      if (w.fate.kind === "torn") applyData(d.file.synced, d, w.fate.prefixLength);
    });
    this.replayNamespace(report);
    this.root.entries = new Map(this.root.durable);
    for (const dir of this.root.entries.values()) {
      dir.entries = new Map(dir.durable);
      for (const f of dir.entries.values()) f.bytes = [...f.synced];
    }
    this.data = [];
    this.ns = [];
  }

  /** Checks the per-directory survivor counts (prefixes, cross-directory renames atomic) and commits the survivors. */
  private replayNamespace(report: SimDiskCrashReport): void {
    const perDir = new Map<string, MNs[]>();
    for (const op of this.ns) for (const d of op.dirs) perDir.set(d, [...(perDir.get(d) ?? []), op]);
    const reported = new Map(report.dirs.map((d) => [d.dirPath, d]));
    assert.equal(reported.size, report.dirs.length, "one report entry per directory");
    assert.deepEqual([...reported.keys()].sort(), [...perDir.keys()].sort(), "directories with pending namespace ops");
    for (const [dir, ops] of perDir) {
      const r = reported.get(dir);
      assert.ok(r !== undefined && r.pending === ops.length, `pending namespace ops of ${JSON.stringify(dir)}`);
      assert.ok(r.survived >= 0 && r.survived <= r.pending);
    }
    for (const op of this.ns) {
      const kept = op.dirs.map((d) => (perDir.get(d) ?? []).indexOf(op) < (reported.get(d)?.survived ?? 0));
      assert.ok(kept.every((k) => k === kept[0]), "a cross-directory rename survives in both directories or in neither");
      if (kept[0] === true) op.commit();
    }
  }

  /** Asserts that `disk` shows exactly the model's current namespace and bytes. */
  assertMatches(disk: Disk, context: string): void {
    assert.deepEqual(disk.list(""), [...this.root.entries.keys()].sort(), `${context}: top-level directories`);
    for (const [dirName, dir] of this.root.entries) {
      assert.deepEqual(disk.list(dirName), [...dir.entries.keys()].sort(), `${context}: files of ${dirName}`);
      for (const [name, f] of dir.entries) {
        const path = `${dirName}/${name}`;
        assert.equal(disk.stat(path)?.size, f.bytes.length, `${context}: size of ${path}`);
        assert.deepEqual([...disk.read(path, 0, f.bytes.length + 1)], f.bytes, `${context}: bytes of ${path}`);
      }
    }
  }
}

/** Asserts `fate` is one the contract allows for `d`. */
function checkFate(fate: SimWriteFate, d: MData): void {
  if (d.doomed) {
    assert.deepEqual(fate, { kind: "dropped", afterFsyncError: true }, "a write doomed by a failed fdatasync is dropped");
    return;
  }
  if (fate.kind === "dropped") assert.equal(fate.afterFsyncError, false);
  if (fate.kind === "torn") {
    assert.equal(d.desc.kind, "write", "only writes tear");
    assert.ok(fate.prefixLength >= 1 && fate.prefixLength < d.bytes.length, `torn prefix ${fate.prefixLength} of ${d.bytes.length}`);
  }
}
