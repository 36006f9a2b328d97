import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  hasWildcard,
  isValidPublishSubject,
  isValidSubject,
  subjectMatches,
  subjectProblem,
  tokenizeSubject,
} from "../../src/core/nats/subject.js";

test("subscription subjects: wildcards as whole tokens, '>' last, no empty tokens or whitespace", () => {
  for (const s of ["foo", "foo.bar", "foo.*", "*.bar", "foo.>", ">", "*", "*.*.>", "foo*.bar", "a>b"]) {
    assert.equal(isValidSubject(s), true, s);
  }
  for (const s of ["", ".", "foo.", ".foo", "foo..bar", "foo bar", "foo\tbar", "foo\r\n", "foo.>.bar", ">.foo"]) {
    assert.equal(isValidSubject(s), false, JSON.stringify(s));
  }
});

test("publish subjects carry no wildcard tokens; '*' inside a token is a literal", () => {
  assert.equal(isValidPublishSubject("foo.bar"), true);
  assert.equal(isValidPublishSubject("foo*.bar>"), true);
  assert.equal(isValidPublishSubject("foo.*"), false);
  assert.equal(isValidPublishSubject("foo.>"), false);
  assert.equal(isValidPublishSubject("foo..bar"), false);
  assert.equal(hasWildcard("a.*.b"), true);
  assert.equal(hasWildcard("a.b*"), false);
  assert.deepEqual(tokenizeSubject("a.b.c"), ["a", "b", "c"]);
});

test("isValidPublishSubject (one pass) agrees with valid-and-no-wildcard on any string", () => {
  const alphabet = fc.constantFrom("a", "b", ".", "*", ">", " ", "\t", "\r", "\n", "\f", "é", "_");
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 12 }).map((cs) => cs.join("")), (subject) => {
      assert.equal(isValidPublishSubject(subject), isValidSubject(subject) && !hasWildcard(subject), JSON.stringify(subject));
      assert.equal(isValidPublishSubject(subject), subjectProblem(subject, "publish") === undefined, JSON.stringify(subject));
    }),
    { numRuns: 3000 },
  );
  for (const s of ["x 0\r\nPUB y 2\r\nhi", "_INBOX.abc\r\n", "a.b\f"]) assert.equal(isValidPublishSubject(s), false, JSON.stringify(s));
});

test("subjectProblem explains each invalid kind and accepts valid subjects", () => {
  assert.equal(subjectProblem("foo.bar", "publish"), undefined);
  assert.equal(subjectProblem("foo.>", "subscribe"), undefined);
  assert.match(subjectProblem("", "publish") ?? "", /empty/);
  assert.match(subjectProblem("a b", "subscribe") ?? "", /whitespace/);
  assert.match(subjectProblem("a..b", "subscribe") ?? "", /empty token/);
  assert.match(subjectProblem("a.*", "publish") ?? "", /wildcard/);
  assert.match(subjectProblem("a.>.b", "subscribe") ?? "", /'>'/);
});

test("subjectMatches follows NATS semantics", () => {
  const cases: [string, string, boolean][] = [
    ["foo.bar", "foo.bar", true],
    ["foo.bar", "foo.baz", false],
    ["foo.*", "foo.bar", true],
    ["foo.*", "foo.bar.baz", false],
    ["foo.*", "foo", false],
    ["foo.>", "foo.bar", true],
    ["foo.>", "foo.bar.baz", true],
    ["foo.>", "foo", false],
    [">", "foo", true],
    [">", "foo.bar", true],
    ["*", "foo", true],
    ["*", "foo.bar", false],
    ["*.bar.>", "x.bar.y.z", true],
    ["*.bar.>", "x.baz.y", false],
    ["foo", "foo.bar", false],
  ];
  for (const [filter, subject, expected] of cases) {
    assert.equal(subjectMatches(filter, subject), expected, `${filter} vs ${subject}`);
  }
});

const token = fc.constantFrom("a", "b", "c");
const literal = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."));

test("property: a literal subject matches itself, '>' and a same-length all-'*' filter", () => {
  fc.assert(
    fc.property(literal, (s) => {
      const n = tokenizeSubject(s).length;
      assert.ok(subjectMatches(s, s));
      assert.ok(subjectMatches(">", s));
      assert.ok(subjectMatches(Array.from({ length: n }, () => "*").join("."), s));
      assert.ok(!subjectMatches(`${s}.>`, s));
    }),
  );
});
