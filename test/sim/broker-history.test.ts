// The broker workload's checks, each shown able to fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BrokerHistory } from "../../sim/workloads/broker-history.js";

test("unanswered-publish names the publishes no answer reached", () => {
  const h = new BrokerHistory(false, true);
  h.onPublish("o/0", "a", true);
  h.onPublish("o/0", "b", true);
  h.onPublish("o/0", "c", false);
  assert.equal(h.onAck("o/0", "a", 0), undefined);
  assert.match(h.checkAnswered() ?? "", /^unanswered-publish: 1 .*b to o\/0/);
  h.onAnswered("b");
  assert.equal(h.checkAnswered(), undefined);
});

test("one value per acked offset; a value at two offsets only if it was sent twice", () => {
  const h = new BrokerHistory(false, true);
  for (const v of ["a", "b"]) h.onPublish("o/0", v, true);
  assert.equal(h.onAck("o/0", "a", 0), undefined);
  assert.match(h.onAck("o/0", "b", 0) ?? "", /acked twice/);
  assert.match(h.onAck("o/0", "a", 3) ?? "", /sent once/);
  h.onResend("a");
  assert.equal(h.onAck("o/0", "a", 4), undefined);
  const lossy = new BrokerHistory(false, false);
  lossy.onPublish("o/0", "a", true);
  lossy.onPublish("o/0", "b", true);
  lossy.onAck("o/0", "a", 0);
  assert.equal(lossy.onAck("o/0", "b", 0), undefined, "under `never`/`interval` a crash may reuse an offset");
});

test("interval: an acked record an fdatasync covered must survive; one it did not may be lost", () => {
  const h = new BrokerHistory(false, false);
  for (const v of ["a", "b"]) h.onPublish("o/0", v, true);
  h.onAck("o/0", "a", 0);
  h.onAck("o/0", "b", 1);
  h.onSynced("o/0", 0, "a");
  assert.equal(h.checkFinal(new Map([["o/0", new Map([[0, "a"]])]]), "interval"), undefined);
  assert.match(h.checkFinal(new Map([["o/0", new Map()]]), "interval") ?? "", /acked a .* lost though an fdatasync/);
  assert.match(h.checkFinal(new Map([["o/0", new Map([[0, "a"], [1, "x"]])]]), "interval") ?? "", /nobody published/);
});
