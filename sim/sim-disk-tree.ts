// The inode table and path resolution of a SimDisk's current namespace, with the same error codes
// node:fs gives on Linux (ENOENT for a missing component, ENOTDIR for a file used as a directory,
// EISDIR for a directory used as a file).
import { assert } from "../src/core/assert.js";
import { DiskError } from "../src/core/disk.js";
import { SimBytes } from "./sim-disk-bytes.js";
import type { SimDir, SimFile, SimNode, SimNsOp } from "./sim-disk-node.js";

/** What a path resolves to: its parent directory (undefined for the root), its last name, and the node if present. */
export interface SimWalk {
  readonly parent: SimDir | undefined;
  readonly name: string;
  readonly node: SimNode | undefined;
}

/** Asserts `path` is disk-relative: '/'-separated names, no '.', '..', empty names or leading '/'. */
export function checkSimPath(path: string, allowRoot: boolean): void {
  if (path === "") {
    assert(allowRoot, "SimDisk: this operation needs a non-empty path");
    return;
  }
  for (const name of path.split("/")) {
    assert(name !== "" && name !== "." && name !== "..", `SimDisk: malformed relative path ${JSON.stringify(path)}`);
  }
}

/** Every inode of one SimDisk, the root directory being id 0. */
export class SimTree {
  readonly nodes = new Map<number, SimNode>();
  private nextId = 1;
  readonly root: SimDir;

  constructor(nowMs: number) {
    this.root = { kind: "dir", id: 0, entries: new Map(), durable: new Map(), mtimeMs: nowMs };
    this.nodes.set(0, this.root);
  }

  /** The inode with id `id` (a programmer error if it is gone). */
  node(id: number): SimNode {
    const n = this.nodes.get(id);
    assert(n !== undefined, `SimDisk: inode ${id} is missing`);
    return n;
  }

  /** Makes a new empty file inode. */
  newFile(nowMs: number): SimFile {
    const f: SimFile = { kind: "file", id: this.nextId++, current: new SimBytes(), synced: new SimBytes(), pending: [], mtimeMs: nowMs };
    this.nodes.set(f.id, f);
    return f;
  }

  /** Makes a new empty directory inode. */
  newDir(nowMs: number): SimDir {
    const d: SimDir = { kind: "dir", id: this.nextId++, entries: new Map(), durable: new Map(), mtimeMs: nowMs };
    this.nodes.set(d.id, d);
    return d;
  }

  /** Resolves `path` in the current namespace; the last component may be missing. */
  walk(op: string, path: string): SimWalk {
    if (path === "") return { parent: undefined, name: "", node: this.root };
    const names = path.split("/");
    let dir: SimDir = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      const id = dir.entries.get(names[i] ?? "");
      if (id === undefined) throw new DiskError("ENOENT", op, path);
      const next = this.node(id);
      if (next.kind !== "dir") throw new DiskError("ENOTDIR", op, path);
      dir = next;
    }
    const name = names[names.length - 1] ?? "";
    const id = dir.entries.get(name);
    return { parent: dir, name, node: id === undefined ? undefined : this.node(id) };
  }

  /** The file at `path`: ENOENT if absent, EISDIR if a directory. */
  fileAt(op: string, path: string): SimFile {
    const { node } = this.walk(op, path);
    if (node === undefined) throw new DiskError("ENOENT", op, path);
    if (node.kind === "dir") throw new DiskError("EISDIR", op, path);
    return node;
  }

  /** The directory at `path`: ENOENT if absent, ENOTDIR if a file. */
  dirAt(op: string, path: string): SimDir {
    const { node } = this.walk(op, path);
    if (node === undefined) throw new DiskError("ENOENT", op, path);
    if (node.kind !== "dir") throw new DiskError("ENOTDIR", op, path);
    return node;
  }

  /** The directory with id `id`. */
  private dir(id: number): SimDir {
    const n = this.node(id);
    assert(n.kind === "dir", `SimDisk: inode ${id} is not a directory`);
    return n;
  }

  /** Applies a namespace op to the current entries (and bumps the directories' mtime). */
  applyCurrent(op: SimNsOp, nowMs: number): void {
    for (const c of op.changes) {
      const dir = this.dir(c.dirId);
      if (c.next === undefined) dir.entries.delete(c.name);
      else dir.entries.set(c.name, c.next);
      dir.mtimeMs = nowMs;
    }
  }

  /** Applies a namespace op to the durable entries (it was synced, or survived a crash). */
  applyDurable(op: SimNsOp): void {
    for (const c of op.changes) {
      const dir = this.dir(c.dirId);
      if (c.next === undefined) dir.durable.delete(c.name);
      else dir.durable.set(c.name, c.next);
    }
  }

  /** Every file in the current namespace with its path, depth first. */
  currentFiles(): { path: string; file: SimFile }[] {
    const out: { path: string; file: SimFile }[] = [];
    const visit = (dir: SimDir, prefix: string): void => {
      for (const name of [...dir.entries.keys()].sort()) {
        const n = this.node(dir.entries.get(name) ?? -1);
        const p = prefix === "" ? name : `${prefix}/${name}`;
        if (n.kind === "dir") visit(n, p);
        else out.push({ path: p, file: n });
      }
    };
    visit(this.root, "");
    return out;
  }
}
