// The crash-cycle checker on hand-made histories: it passes a clean one and names every kind of
// anomaly it promises to find (so a suite built on it can fail).
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkHistory, type PartitionRead } from "../../jepsen-like/history-checker.js";
import { idOfValue, messageValue, PublishHistory } from "../../jepsen-like/publish-history.js";

/** A history of publisher "p" on partition 0: seqs 0..n-1, acked at offsets 0..n-1 except `unacked`. */
function history(n: number, unacked: readonly number[] = []): PublishHistory {
  const h = new PublishHistory();
  for (let i = 0; i < n; i++) {
    const op = h.invoke("p", 0);
    if (!unacked.includes(i)) h.ack(op.id, i);
  }
  return h;
}

/** Partition 0 holding the given ids (or raw strings) at offsets 0.. (or the given offsets). */
function reads(ids: readonly string[], offsets?: readonly number[]): Map<number, PartitionRead> {
  return new Map([[0, { records: ids.map((id, i) => ({ offset: offsets?.[i] ?? i, value: messageValue(id, 8) })) }]]);
}

test("message values carry their id", () => {
  assert.equal(idOfValue(messageValue("c1-grpc-all#42", 100)), "c1-grpc-all#42");
  assert.equal(idOfValue(Buffer.from("garbage")), undefined);
});

test("a clean history passes, unacked messages may be present or absent", () => {
  const r = checkHistory(history(4, [3]), reads(["p#0", "p#1", "p#2"]));
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual([r.published, r.acked, r.present], [4, 3, 3]);
  assert.ok(checkHistory(history(4, [3]), reads(["p#0", "p#1", "p#2", "p#3"])).ok);
});

test("lost: an acked message missing", () => {
  const r = checkHistory(history(3), reads(["p#0", "p#2"], [0, 2]));
  assert.ok(!r.ok);
  assert.deepEqual(r.lost, ["p#1"]);
  assert.deepEqual(r.gaps, ["0: offset 0 then 2"]);
});

test("duplicated: one id twice", () => {
  const r = checkHistory(history(2), reads(["p#0", "p#1", "p#1"]));
  assert.deepEqual(r.duplicated, ["p#1"]);
  assert.ok(!r.ok);
});

test("reordered and misplaced: acked seqs out of publish order, acks naming other offsets", () => {
  const r = checkHistory(history(3), reads(["p#0", "p#2", "p#1"]));
  assert.deepEqual(r.reordered, ["p#2"], "p#2 sits before p#1");
  assert.deepEqual(r.misplaced.sort(), ["p#1", "p#2"]);
  assert.ok(!r.ok);
});

test("invented: a record no one published", () => {
  const r = checkHistory(history(1), reads(["p#0", "q#7"]));
  assert.equal(r.invented.length, 1);
  assert.match(r.invented[0]!, /^0@1: q#7/);
});

test("unreadable: a partition whose read failed", () => {
  const r = checkHistory(history(1), new Map([[0, { error: "Internal boom" }]]));
  assert.deepEqual(r.unreadable, ["0: Internal boom"]);
  assert.deepEqual(r.lost, ["p#0"]);
});

test("a late ack after an error answer does not turn a failed op into an acked one", () => {
  const h = new PublishHistory();
  const op = h.invoke("p", 0);
  h.fail(op.id);
  h.ack(op.id, 0);
  assert.equal(h.get(op.id)?.outcome, "failed");
  assert.ok(checkHistory(h, reads([])).ok);
});
