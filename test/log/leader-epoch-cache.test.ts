import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LeaderEpochCache, parseEpochCheckpoint } from "../../src/core/log/leader-epoch-cache.js";
import type { Epoch, Offset } from "../../src/core/types.js";

type Entry = { epoch: number; startOffset: number };
type Op = { kind: "assign"; epoch: number; offset: number } | { kind: "clearLatest"; offset: number } | { kind: "clearEarliest"; offset: number };

// The list model: the rules written as plainly as possible.
function applyModel(list: Entry[], op: Op): Entry[] {
  const last = list[list.length - 1];
  switch (op.kind) {
    case "assign":
      return last === undefined || (op.epoch > last.epoch && op.offset >= last.startOffset) ? [...list, { epoch: op.epoch, startOffset: op.offset }] : list;
    case "clearLatest":
      return list.filter((e) => e.startOffset < op.offset);
    case "clearEarliest": {
      const below = list.filter((e) => e.startOffset <= op.offset);
      const above = list.filter((e) => e.startOffset > op.offset);
      const spanning = below[below.length - 1];
      return spanning === undefined ? above : [{ epoch: spanning.epoch, startOffset: Math.max(spanning.startOffset, op.offset) }, ...above];
    }
  }
}

// KIP-101 by brute force over offsets: the first offset whose epoch is greater than `epoch`.
function modelEndOffset(list: readonly Entry[], epoch: number, leo: number): { epoch: number; endOffset: number } {
  const epochAt = (o: number): number => list.filter((e) => e.startOffset <= o).reduce((_, e) => e.epoch, -1);
  let end = leo;
  for (let o = 0; o < leo; o++) {
    if (epochAt(o) > epoch) {
      end = o;
      break;
    }
  }
  // Entries that start exactly at the log end (a new leader's epoch with no record yet).
  if (end === leo) end = list.find((e) => e.epoch > epoch)?.startOffset ?? leo;
  const floor = list.filter((e) => e.epoch <= epoch).reduce((_, e) => e.epoch, -1);
  return { epoch: floor, endOffset: end };
}

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("assign" as const), epoch: fc.nat(12), offset: fc.nat(40) }),
  fc.record({ kind: fc.constant("clearLatest" as const), offset: fc.nat(40) }),
  fc.record({ kind: fc.constant("clearEarliest" as const), offset: fc.nat(40) }),
);

test("leader epoch cache agrees with a list model; endOffsetForEpoch matches a brute-force scan", () => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 25 }), (ops) => {
      let model: Entry[] = [];
      const leo = 41;
      const cache = new LeaderEpochCache("d/leader-epoch-checkpoint", [], () => leo);
      for (const op of ops) {
        const before = JSON.stringify(cache.entries);
        const diskOps =
          op.kind === "assign" ? cache.assign(op.epoch as Epoch, op.offset as Offset) : op.kind === "clearLatest" ? cache.clearLatest(op.offset) : cache.clearEarliest(op.offset);
        model = applyModel(model, op);
        assert.deepEqual(cache.entries, model);
        assert.equal(diskOps.length > 0, JSON.stringify(cache.entries) !== before, "a checkpoint is written iff the entries changed");
        for (let e = 0; e <= 13; e++) assert.deepEqual(cache.endOffsetForEpoch(e), modelEndOffset(model, e, leo), `epoch ${e} in ${JSON.stringify(model)}`);
        const text = new TextDecoder().decode((diskOps.find((o) => o.kind === "write") as { readonly chunks: readonly Uint8Array[] } | undefined)?.chunks[0] ?? new Uint8Array());
        if (diskOps.length > 0) assert.deepEqual(parseEpochCheckpoint(text), model);
      }
    }),
  );
});

test("checkpoint format is Liftbridge's: version 0, count, then 'epoch startOffset' lines", () => {
  const cache = new LeaderEpochCache("d/c", [], () => 10);
  const ops = cache.assign(3 as Epoch, 0 as Offset).concat(cache.assign(5 as Epoch, 7 as Offset));
  const writes = ops.filter((o) => o.kind === "write");
  const last = writes[writes.length - 1] as { readonly chunks: readonly Uint8Array[] };
  assert.equal(new TextDecoder().decode(last.chunks[0]), "0\n2\n3 0\n5 7\n");
  for (const bad of ["", "1\n0\n", "0\n2\n3 0\n", "0\n2\n5 0\n3 1\n", "0\n1\nx y\n"]) assert.equal(parseEpochCheckpoint(bad), undefined, JSON.stringify(bad));
});
