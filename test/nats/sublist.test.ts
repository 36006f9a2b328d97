import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Sublist } from "../../src/core/nats/sublist.js";
import { subjectMatches } from "../../src/core/nats/subject.js";
import type { Random } from "../../src/core/random.js";

/** A deterministic Random that records its draws. */
function counterRandom(seed = 7): Random & { draws: string[] } {
  let state = seed;
  const draws: string[] = [];
  return {
    draws,
    int(label: string, n: number) {
      draws.push(label);
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    },
    chance(label: string, num: number, den: number) {
      return this.int(label, den) < num;
    },
  };
}

test("plain and wildcard subscribers all receive; non-matching do not", () => {
  const s = new Sublist<string>();
  for (const [key, subject] of [["1", "foo.bar"], ["2", "foo.*"], ["3", "foo.>"], ["4", ">"], ["5", "foo.baz"], ["6", "*.*.*"]]) {
    assert.equal(s.insert({ key: key!, subject: subject!, value: key! }).ok, true);
  }
  assert.deepEqual(s.match("foo.bar", counterRandom()).sort(), ["1", "2", "3", "4"]);
  assert.deepEqual(s.match("foo.bar.x", counterRandom()).sort(), ["3", "4", "6"]);
  assert.deepEqual(s.match("foo", counterRandom()).sort(), ["4"]);
  assert.equal(s.hasInterest("zzz.y"), true);
  assert.equal(s.remove("4"), true);
  assert.equal(s.remove("4"), false);
  assert.equal(s.hasInterest("zzz.y"), false);
  assert.deepEqual(s.match("foo.bar", counterRandom()).sort(), ["1", "2", "3"]);
});

test("insert rejects invalid subjects, invalid queues and duplicate keys", () => {
  const s = new Sublist<number>();
  assert.equal(s.insert({ key: "a", subject: "foo..bar", value: 1 }).ok, false);
  assert.equal(s.insert({ key: "a", subject: "foo.>.bar", value: 1 }).ok, false);
  assert.equal(s.insert({ key: "a", subject: "foo", queue: "q q", value: 1 }).ok, false);
  assert.equal(s.insert({ key: "a", subject: "foo", value: 1 }).ok, true);
  const dup = s.insert({ key: "a", subject: "bar", value: 2 });
  assert.equal(dup.ok, false);
  assert.equal(s.size, 1);
});

test("queue groups: one member per group across filters, picked with the labelled draw", () => {
  const s = new Sublist<string>();
  s.insert({ key: "q1", subject: "orders.*", queue: "workers", value: "q1" });
  s.insert({ key: "q2", subject: "orders.new", queue: "workers", value: "q2" });
  s.insert({ key: "q3", subject: "orders.>", queue: "workers", value: "q3" });
  s.insert({ key: "r1", subject: "orders.new", queue: "audit", value: "r1" });
  s.insert({ key: "p1", subject: "orders.new", value: "p1" });
  const counts = new Map<string, number>();
  const random = counterRandom();
  for (let i = 0; i < 300; i++) {
    const got = s.match("orders.new", random);
    assert.equal(got.length, 3);
    assert.ok(got.includes("p1") && got.includes("r1"));
    const worker = got.find((v) => v.startsWith("q"))!;
    counts.set(worker, (counts.get(worker) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort(), ["q1", "q2", "q3"]);
  assert.ok(random.draws.every((d) => d === "natsQueuePick"));
  assert.equal(random.draws.length, 300);
});

test("the match cache is invalidated by insert and remove", () => {
  const s = new Sublist<string>();
  s.insert({ key: "a", subject: "x.y", value: "a" });
  assert.deepEqual(s.match("x.y", counterRandom()), ["a"]);
  s.insert({ key: "b", subject: "x.*", value: "b" });
  assert.deepEqual(s.match("x.y", counterRandom()).sort(), ["a", "b"]);
  s.remove("a");
  assert.deepEqual(s.match("x.y", counterRandom()), ["b"]);
  s.remove("b");
  assert.deepEqual(s.match("x.y", counterRandom()), []);
});

const token = fc.constantFrom("a", "b", "c");
const filterToken = fc.constantFrom("a", "b", "c", "*");
const literal = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."));
const filter = fc
  .tuple(fc.array(filterToken, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([t, full]) => (full ? [...t.slice(0, -1), ">"] : t).join("."));
const op = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), subject: filter, queue: fc.option(fc.constantFrom("g1", "g2"), { nil: undefined }) }),
  fc.record({ kind: fc.constant("remove" as const), index: fc.nat(30) }),
);

test("property: match equals a brute-force filter with exactly one member per queue group", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), fc.array(literal, { minLength: 1, maxLength: 8 }), fc.nat(), (ops, subjects, seed) => {
      const s = new Sublist<string>();
      const model = new Map<string, { subject: string; queue: string | undefined }>();
      ops.forEach((o, i) => {
        if (o.kind === "add") {
          assert.equal(s.insert({ key: `k${i}`, subject: o.subject, queue: o.queue, value: `k${i}` }).ok, true);
          model.set(`k${i}`, { subject: o.subject, queue: o.queue });
        } else {
          const key = [...model.keys()][o.index % Math.max(1, model.size)];
          assert.equal(s.remove(key ?? "none"), key !== undefined);
          if (key !== undefined) model.delete(key);
        }
      });
      assert.equal(s.size, model.size);
      const random = counterRandom(seed);
      for (const subject of subjects) {
        const got = s.match(subject, random);
        const matching = [...model].filter(([, m]) => subjectMatches(m.subject, subject));
        const plain = matching.filter(([, m]) => m.queue === undefined).map(([k]) => k).sort();
        assert.deepEqual(got.filter((k) => model.get(k)?.queue === undefined).sort(), plain);
        for (const group of ["g1", "g2"]) {
          const members = matching.filter(([, m]) => m.queue === group).map(([k]) => k);
          const picked = got.filter((k) => model.get(k)?.queue === group);
          assert.equal(picked.length, members.length === 0 ? 0 : 1);
          if (picked[0] !== undefined) assert.ok(members.includes(picked[0]));
        }
      }
    }),
    { numRuns: 300 },
  );
});
