// The timer queue against a plain model (a Map scanned linearly): same deadlines, same firing
// order, equal deadlines in key order whatever order they were armed in.
import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { TimerQueue } from "../../src/core/timers/timer-queue.js";
import { brokerTimerId, brokerTimers, type BrokerTimer } from "../../src/core/timers/broker-timer.js";

type Op =
  | { readonly op: "set"; readonly key: number; readonly atMs: number }
  | { readonly op: "delete"; readonly key: number }
  | { readonly op: "pop"; readonly nowMs: number }
  | { readonly op: "clear" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), key: fc.integer({ min: 0, max: 30 }), atMs: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("pop" as const), nowMs: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: "clear" as const }) },
);

const name = (key: number): string => `k${String(key).padStart(2, "0")}`;

function modelDue(model: Map<number, number>, nowMs: number): { key: number; atMs: number }[] {
  return [...model].filter(([, at]) => at <= nowMs)
    .sort(([ka, a], [kb, b]) => a - b || (name(ka) < name(kb) ? -1 : 1))
    .map(([key, atMs]) => ({ key, atMs }));
}

test("timer queue matches a linear-scan model (property)", () => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
    const q = new TimerQueue<number>(name);
    const model = new Map<number, number>();
    for (const o of ops) {
      if (o.op === "set") { q.set(o.key, o.atMs); model.set(o.key, o.atMs); }
      if (o.op === "delete") assert.equal(q.delete(o.key), model.delete(o.key));
      if (o.op === "clear") { q.clear(); model.clear(); }
      if (o.op === "pop") {
        const expected = modelDue(model, o.nowMs);
        for (const e of expected) model.delete(e.key);
        assert.deepEqual(q.popDue(o.nowMs), expected);
      }
      const next = model.size === 0 ? undefined : Math.min(...model.values());
      assert.equal(q.nextDeadline(), next);
      assert.equal(q.size, model.size);
      for (const [k, at] of model) assert.equal(q.get(k), at);
    }
    assert.deepEqual(q.entries(), modelDue(model, Number.MAX_SAFE_INTEGER));
  }), { numRuns: 500 });
});

test("equal deadlines fire in key order whatever the arming order (property)", () => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 40 }), (keys) => {
    const q = new TimerQueue<number>(name);
    for (const k of keys) q.set(k, 7);
    const fired = q.popDue(7).map((e) => e.key);
    assert.deepEqual(fired, [...keys].sort((a, b) => (name(a) < name(b) ? -1 : 1)));
  }));
});

test("structured broker timers: partition and peer timers are distinct names behind one deadline", () => {
  const q = brokerTimers();
  const timers: BrokerTimer[] = [
    { kind: "hwCheckpoint" },
    { kind: "partition", stream: "a", partition: 0, name: "cleaner" },
    { kind: "partition", stream: "a", partition: 1, name: "cleaner" },
    { kind: "peer", peer: "b2", name: "heartbeat" },
  ];
  timers.forEach((t, i) => q.set(t, 100 - i));
  assert.equal(new Set(timers.map(brokerTimerId)).size, timers.length);
  assert.equal(q.nextDeadline(), 97);
  q.set({ kind: "peer", peer: "b2", name: "heartbeat" }, 200); // re-armed, not added
  assert.equal(q.size, 4);
  assert.deepEqual(q.popDue(99).map((e) => e.key), [timers[2], timers[1]]);
  assert.equal(q.nextDeadline(), 100);
});
