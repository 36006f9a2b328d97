// The SimDisk crash property: after a crash at any point, every file is explained by an independent
// per-write model (sim/testing/disk-crash-model.ts) replaying the crash report.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DiskError, type DiskErrorCode } from "../../src/core/disk.js";
import { SimDisk, type SimDiskCrashReport, type SimDiskFaults } from "../../sim/sim-disk.js";
import { SimRandom } from "../../sim/sim-random.js";
import { DiskCrashModel, type CrashModelOp } from "../../sim/testing/disk-crash-model.js";

const pathArb = fc.constantFrom("a/x", "a/y", "b/x");
const dirArb = fc.constantFrom("a", "b");

const opArb: fc.Arbitrary<CrashModelOp> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("mkdir" as const), dir: dirArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("create" as const), path: pathArb }) },
  {
    weight: 7,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      path: pathArb,
      position: fc.integer({ min: 0, max: 20 }),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("fdatasync" as const), path: pathArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), path: pathArb, length: fc.integer({ min: 0, max: 24 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("rename" as const), from: pathArb, to: pathArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const), path: pathArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("syncDir" as const), dir: fc.constantFrom("", "a", "b") }) },
  { weight: 1, arbitrary: fc.constant({ kind: "crash" as const }) },
);

const faultsArb: fc.Arbitrary<Partial<SimDiskFaults>> = fc.record({
  fsyncErrorPerMille: fc.constantFrom(0, 0, 300, 700),
  tornWritePerMille: fc.constantFrom(0, 0, 200, 500),
  droppedWritePerMille: fc.constantFrom(0, 0, 300, 500),
  lostDirEntryPerMille: fc.constantFrom(0, 0, 300),
});

const prologue: CrashModelOp[] = [{ kind: "mkdir", dir: "a" }, { kind: "mkdir", dir: "b" }, { kind: "syncDir", dir: "" }];

/** Runs one op on the disk and returns the DiskError code it failed with, if any. */
function runOnDisk(disk: SimDisk, op: Exclude<CrashModelOp, { kind: "crash" }>): DiskErrorCode | undefined {
  try {
    switch (op.kind) {
      case "mkdir":
        return void disk.mkdir(op.dir);
      case "create":
        return void disk.create(op.path);
      case "write":
        return void disk.write(op.path, op.position, [op.bytes]);
      case "fdatasync":
        return void disk.fdatasync(op.path);
      case "truncate":
        return void disk.truncate(op.path, op.length);
      case "rename":
        return void disk.rename(op.from, op.to);
      case "remove":
        return void disk.remove(op.path);
      case "syncDir":
        return void disk.syncDir(op.dir);
    }
  } catch (e: unknown) {
    if (e instanceof DiskError) return e.code;
    throw e;
  }
}

/** Runs `ops` against a SimDisk and the model, checking after every op; returns the crash reports. */
function check(seed: number, faults: Partial<SimDiskFaults>, ops: readonly CrashModelOp[]): SimDiskCrashReport[] {
  let now = 0;
  const disk = new SimDisk({ random: new SimRandom(seed, "disk"), nowMs: () => now++, faults });
  const model = new DiskCrashModel();
  const reports: SimDiskCrashReport[] = [];
  ops.forEach((op, i) => {
    const context = `op ${i} ${JSON.stringify(op)}`;
    if (op.kind === "crash") {
      const report = disk.crash();
      reports.push(report);
      model.crash(report);
    } else {
      const expected = model.expectedError(op);
      const got = runOnDisk(disk, op);
      const eioAllowed = (op.kind === "fdatasync" || op.kind === "syncDir") && (faults.fsyncErrorPerMille ?? 0) > 0;
      const injected = got === "EIO" && expected === undefined && eioAllowed;
      if (!injected) assert.equal(got, expected, context);
      if (got === undefined || injected) model.apply(op, injected);
    }
    model.assertMatches(disk, context);
  });
  return reports;
}

test("after a crash at any point, every file is explained by the per-write model", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      faultsArb,
      fc.boolean(),
      fc.array(opArb, { maxLength: 40, size: "max" }),
      (seed, faults, withPrologue, ops) => {
        check(seed, faults, [...(withPrologue ? prologue : []), ...ops, { kind: "crash" }]);
      },
    ),
    { numRuns: 3000 },
  );
});

test("the property exercises every crash decision", () => {
  // Guards the property above against a generator that never reaches the interesting cases.
  const seen = new Set<string>();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), faultsArb, fc.array(opArb, { maxLength: 40, size: "max" }), (seed, faults, ops) => {
      for (const r of check(seed, faults, [...prologue, ...ops, { kind: "crash" }])) {
        for (const w of r.writes) seen.add(w.fate.kind === "dropped" && w.fate.afterFsyncError ? "doomed" : w.fate.kind);
        for (const d of r.dirs) seen.add(d.survived < d.pending ? "nsLost" : "nsKept");
      }
    }),
    { numRuns: 200, seed: 42 },
  );
  assert.deepEqual([...seen].sort(), ["applied", "doomed", "dropped", "nsKept", "nsLost", "torn"]);
});

test("the same seed gives the same crash outcome; different seeds differ", () => {
  const ops: CrashModelOp[] = [...prologue];
  for (let i = 0; i < 12; i++) {
    ops.push({ kind: "create", path: i % 2 === 0 ? "a/x" : "a/y" });
    ops.push({ kind: "write", path: i % 2 === 0 ? "a/x" : "a/y", position: i, bytes: new Uint8Array([1, 2, 3, 4, i]) });
    ops.push({ kind: "rename", from: "a/x", to: "b/x" });
  }
  ops.push({ kind: "crash" });
  const outcome = (seed: number): string => JSON.stringify(check(seed, {}, ops));
  assert.equal(outcome(7), outcome(7));
  const distinct = new Set([1, 2, 3, 4, 5, 6, 7, 8].map(outcome));
  assert.ok(distinct.size > 1, "eight seeds all crashed identically");
});
