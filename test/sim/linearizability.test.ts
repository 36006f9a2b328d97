// The linearizability checker against hand-made histories, a brute-force oracle on small random
// histories, and histories generated from real sequential runs (always linearizable).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { checkLinearizable, type Operation } from "../../sim/checkers/linearizability.js";
import { streamRegistryModel, type StreamRegistryInput, type StreamRegistryOutput } from "../../sim/checkers/stream-registry-model.js";

type Op = Operation<StreamRegistryInput, StreamRegistryOutput>;

function op(clientId: string, kind: StreamRegistryInput["kind"], output: StreamRegistryOutput | undefined, callMs: number, returnMs: number | undefined, name = "s"): Op {
  return { clientId, input: { kind, name }, output, callMs, returnMs };
}

const verdict = (history: Op[]): string => checkLinearizable(streamRegistryModel, history).result;

test("two overlapping creates of one name may not both succeed; one success and one AlreadyExists is fine", () => {
  assert.equal(verdict([op("a", "create", "ok", 0, 10), op("b", "create", "ok", 5, 15)]), "illegal");
  assert.equal(verdict([op("a", "create", "ok", 0, 10), op("b", "create", "exists", 5, 15)]), "ok");
  // AlreadyExists may even return first, if the other create's linearization point came earlier.
  assert.equal(verdict([op("a", "create", "ok", 0, 20), op("b", "create", "exists", 5, 10)]), "ok");
  // ... but not when it completed before the successful create began.
  assert.equal(verdict([op("b", "create", "exists", 0, 4), op("a", "create", "ok", 5, 10)]), "illegal");
  // Different names never interact.
  assert.equal(verdict([op("a", "create", "ok", 0, 10, "x"), op("b", "create", "ok", 5, 15, "y")]), "ok");
});

test("real-time order: a read that begins after a create succeeded must see the stream", () => {
  assert.equal(verdict([op("a", "create", "ok", 0, 10), op("b", "read", "notFound", 11, 15)]), "illegal");
  assert.equal(verdict([op("a", "create", "ok", 0, 10), op("b", "read", "notFound", 5, 15)]), "ok");
  assert.equal(verdict([op("a", "create", "ok", 0, 10), op("b", "read", "found", 11, 15), op("c", "read", "notFound", 16, 20)]), "illegal");
  assert.equal(verdict([op("a", "create", "ok", 0, 10), op("d", "delete", "ok", 12, 14), op("c", "read", "notFound", 16, 20)]), "ok");
});

test("an op with an unknown outcome may or may not have taken effect, at any time after its call", () => {
  assert.equal(verdict([op("a", "create", undefined, 0, undefined), op("b", "read", "found", 50, 60)]), "ok");
  assert.equal(verdict([op("a", "create", undefined, 0, undefined), op("b", "read", "notFound", 50, 60)]), "ok");
  assert.equal(verdict([op("a", "create", undefined, 0, undefined), op("b", "read", "found", 50, 60), op("b", "read", "notFound", 70, 80)]), "illegal");
  // Not before its call.
  assert.equal(verdict([op("b", "read", "found", 0, 5), op("a", "create", undefined, 10, undefined)]), "illegal");
  // A rejected op changed nothing and is legal anywhere.
  assert.equal(verdict([op("a", "create", "rejected", 0, 5), op("b", "read", "notFound", 10, 15)]), "ok");
});

test("an illegal part names the longest linearizable prefix and the op that could not follow", () => {
  const report = checkLinearizable(streamRegistryModel, [op("a", "create", "ok", 0, 10), op("b", "read", "notFound", 11, 15, "s"), op("c", "create", "ok", 0, 1, "t")]);
  assert.equal(report.result, "illegal");
  const s = report.partitions.find((p) => p.partition === "s")!;
  const t = report.partitions.find((p) => p.partition === "t")!;
  assert.equal(s.result, "illegal");
  assert.equal(t.result, "ok");
  assert.deepEqual(s.explanation, ["a create(s) -> ok [0, 10]", "then not: b read(s) -> notFound [11, 15]"]);
});

test("the search budget gives unknown, never a wrong verdict", () => {
  const many: Op[] = [];
  for (let i = 0; i < 12; i++) many.push(op(`c${i}`, "read", "notFound", 0, 100));
  many.push(op("x", "create", "ok", 0, 100), op("y", "create", "ok", 0, 100));
  assert.equal(checkLinearizable(streamRegistryModel, many, { maxSearchSteps: 50 }).result, "unknown");
  assert.equal(checkLinearizable(streamRegistryModel, many).result, "illegal");
});

/** Every order of the ops that respects real time and the model, tried one by one. */
function bruteForce(history: readonly Op[]): boolean {
  const n = history.length;
  const used = history.map(() => false);
  const go = (state: boolean, placed: number): boolean => {
    if (placed === n) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      // i may go next only if no unplaced op completed before i was called.
      const blocked = history.some((o, j) => j !== i && !used[j] && o.returnMs !== undefined && o.returnMs < history[i]!.callMs);
      if (blocked) continue;
      for (const next of streamRegistryModel.step(state, history[i]!.input, history[i]!.output)) {
        used[i] = true;
        const ok = go(next, placed + 1);
        used[i] = false;
        if (ok) return true;
      }
    }
    return false;
  };
  return go(false, 0);
}

const arbOp = fc.record({
  kind: fc.constantFrom<StreamRegistryInput["kind"]>("create", "delete", "read"),
  output: fc.constantFrom<StreamRegistryOutput | undefined>("ok", "exists", "notFound", "found", "rejected", undefined),
  callMs: fc.integer({ min: 0, max: 20 }),
  lengthMs: fc.integer({ min: 0, max: 10 }),
});

test("property: the checker agrees with a brute-force search on small random histories", () => {
  let illegal = 0;
  fc.assert(
    fc.property(fc.array(arbOp, { minLength: 1, maxLength: 6 }), (ops) => {
      const history = ops.map((o, i) => op(`c${i}`, o.kind, o.output, o.callMs, o.output === undefined ? undefined : o.callMs + o.lengthMs));
      const expected = bruteForce(history);
      if (!expected) illegal++;
      assert.equal(verdict(history), expected ? "ok" : "illegal");
    }),
    { numRuns: 3000, seed: 1205 },
  );
  // The generator must produce both kinds, or the property proves little.
  assert.ok(illegal > 300, `only ${illegal} illegal histories generated`);
});

test("property: a history recorded from a sequential run, with each op's interval around its point, is linearizable", () => {
  fc.assert(
    fc.property(fc.array(fc.record({ kind: fc.constantFrom<StreamRegistryInput["kind"]>("create", "delete", "read"), name: fc.constantFrom("a", "b"), before: fc.integer({ min: 0, max: 30 }), after: fc.integer({ min: 0, max: 30 }), lost: fc.boolean() }), { maxLength: 40 }), (ops) => {
      const exists = new Map<string, boolean>();
      const history = ops.map((o, i): Op => {
        const point = i * 10;
        const had = exists.get(o.name) ?? false;
        let output: StreamRegistryOutput;
        if (o.kind === "create") output = had ? "exists" : "ok";
        else if (o.kind === "delete") output = had ? "ok" : "notFound";
        else output = had ? "found" : "notFound";
        if (o.kind === "create") exists.set(o.name, true);
        if (o.kind === "delete") exists.set(o.name, false);
        return o.lost ? op(`c${i}`, o.kind, undefined, point - o.before, undefined, o.name) : op(`c${i}`, o.kind, output, point - o.before, point + o.after, o.name);
      });
      assert.equal(checkLinearizable(streamRegistryModel, history).result, "ok");
    }),
    { numRuns: 500, seed: 1206 },
  );
});

test("10,000 operations over 500 names are checked, and one double success among them is found", () => {
  const history: Op[] = [];
  for (let n = 0; n < 500; n++) {
    for (let i = 0; i < 20; i++) history.push(op(`c${i}`, i === 0 ? "create" : "read", i === 0 ? "ok" : "found", n * 100 + i * 3 + 10, n * 100 + i * 3 + 12, `s${n}`));
  }
  assert.equal(checkLinearizable(streamRegistryModel, history).result, "ok");
  history.push(op("late", "create", "ok", 100 * 250 + 11, 100 * 250 + 90, "s250"));
  const report = checkLinearizable(streamRegistryModel, history);
  assert.equal(report.result, "illegal");
  assert.deepEqual(report.partitions.filter((p) => p.result === "illegal").map((p) => p.partition), ["s250"]);
});
