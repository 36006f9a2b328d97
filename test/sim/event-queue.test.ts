import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { EventQueue, type ScheduledEvent } from "../../sim/event-queue.js";

test("equal times pop in scheduling order, earlier times first", () => {
  const q = new EventQueue<string>();
  q.push(5, "a", "a");
  q.push(1, "b", "b");
  q.push(5, "c", "c");
  q.push(1, "d", "d");
  q.push(0, "e", "e");
  const order: string[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) order.push(e.payload);
  assert.deepEqual(order, ["e", "b", "d", "a", "c"]);
});

test("cancel removes an event; canceling twice or after delivery is a no-op", () => {
  const q = new EventQueue<number>();
  const a = q.push(1, "a", 1);
  const b = q.push(2, "b", 2);
  q.cancel(a);
  q.cancel(a);
  assert.equal(q.size, 1);
  assert.equal(q.peekTimeMs(), 2);
  assert.equal(q.pop(), b);
  q.cancel(b);
  assert.equal(q.size, 0);
  assert.equal(q.pop(), undefined);
});

type Command = { kind: "push"; atMs: number } | { kind: "pop" } | { kind: "cancel"; pick: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant("push" as const), atMs: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ kind: fc.constant("pop" as const) }),
  fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
);

test("property: the heap matches a sorted-array model under push, pop and cancel", () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 400 }), (commands) => {
      const q = new EventQueue<number>();
      // The model: live events kept sorted by (atMs, seq); handles in push order for cancel picks.
      let model: { atMs: number; seq: number }[] = [];
      const handles: ScheduledEvent<number>[] = [];
      let seq = 0;
      for (const c of commands) {
        if (c.kind === "push") {
          handles.push(q.push(c.atMs, "e", seq));
          model.push({ atMs: c.atMs, seq });
          model.sort((x, y) => x.atMs - y.atMs || x.seq - y.seq);
          seq++;
        } else if (c.kind === "pop") {
          const got = q.pop();
          const want = model.shift();
          assert.equal(got?.payload, want?.seq);
          assert.equal(got?.atMs, want?.atMs);
        } else if (handles.length > 0) {
          const h = handles[c.pick % handles.length]!;
          q.cancel(h);
          model = model.filter((m) => m.seq !== h.payload);
        }
        assert.equal(q.size, model.length);
        assert.equal(q.peekTimeMs(), model[0]?.atMs);
      }
    }),
    { numRuns: 300 },
  );
});

test("mass cancellation compacts and keeps order", () => {
  const q = new EventQueue<number>();
  const handles: ScheduledEvent<number>[] = [];
  for (let i = 0; i < 1000; i++) handles.push(q.push((i * 7919) % 101, "e", i));
  for (let i = 0; i < 1000; i++) if (i % 10 !== 0) q.cancel(handles[i]!);
  assert.equal(q.size, 100);
  const popped: ScheduledEvent<number>[] = [];
  for (let e = q.pop(); e !== undefined; e = q.pop()) popped.push(e);
  assert.equal(popped.length, 100);
  assert.ok(popped.every((e) => e.payload % 10 === 0));
  for (let i = 1; i < popped.length; i++) {
    const a = popped[i - 1]!;
    const b = popped[i]!;
    assert.ok(a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq));
  }
});
