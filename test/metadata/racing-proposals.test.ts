// Metadata ops are applied when committed, in log order, with preconditions checked at apply
// time: two proposals racing (both proposed before either commits) give one success and one
// typed error, the same on every run and after a restart, never an assertion.
import assert from "node:assert/strict";
import test from "node:test";
import type { ApiRequest, BrokerEffect } from "../../src/core/broker/api-types.js";
import type { BrokerOutputs } from "../../src/core/broker/broker.js";
import { applyDiskOp } from "../../src/core/disk.js";
import type { Result } from "../../src/core/errors.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";

/** Completes the held steps' persists in token order (and every step they cause), collecting the answers. */
function complete(h: BrokerHarness, held: readonly BrokerOutputs[], answers: Map<number, Result<unknown>>): void {
  const queue = [...held];
  for (let out = queue.shift(); out !== undefined; out = queue.shift()) {
    record(out.reply, answers);
    for (const group of out.persists) {
      for (const op of group.ops) applyDiskOp(h.disk, op);
      record(group.replyAfterPersist, answers);
      queue.push(h.broker.step({ kind: "persisted", token: group.token, ...h.time() }));
    }
  }
}

function record(effects: readonly BrokerEffect[], answers: Map<number, Result<unknown>>): void {
  for (const e of effects) if (e.kind === "apiResponse") answers.set(e.requestId, e.result);
}

/** Proposes every request before any persist completes, then completes them in order. */
function race(h: BrokerHarness, requests: readonly ApiRequest[]): Result<unknown>[] {
  const answers = new Map<number, Result<unknown>>();
  const held = requests.map((request, i) => {
    const out = h.broker.step({ kind: "apiRequest", requestId: 1000 + i, request, ...h.time() });
    record(out.reply, answers);
    return out;
  });
  // One Raft Ready is in flight at a time: the first proposal's persist goes out at once, the
  // others are appended to the Raft log and persisted after it (in `complete`).
  assert.ok((held[0]?.persists.length ?? 0) > 0, "the first proposal waits for its persist");
  assert.equal(h.broker.view.proposals.length, requests.length, "every proposal has its log index before any commits");
  assert.equal(answers.size, 0, "nothing is answered before its op commits");
  complete(h, held, answers);
  return requests.map((_, i) => answers.get(1000 + i) ?? assert.fail(`request ${i} unanswered`));
}

const create = (name: string, partitions = 1): ApiRequest => ({ kind: "createStream", name, subject: `subj.${name}`, group: "", replicationFactor: 1, partitions, overrides: {} });
const codes = (results: readonly Result<unknown>[]) => results.map((r) => (r.ok ? "ok" : r.error.code));

test("two racing CreateStreams of one name: exactly one success, then StreamExists", () => {
  for (let run = 0; run < 3; run++) {
    const h = new BrokerHarness();
    assert.deepEqual(codes(race(h, [create("s", 2), create("s", 3)])), ["ok", "StreamExists"]);
    assert.equal(h.broker.view.metadata.streams.get("s")?.partitions.length, 2, "the first proposal won");
    h.restart(); // the log holds both ops: the replay skips the second, deterministically
    assert.equal(h.broker.view.metadata.streams.get("s")?.partitions.length, 2);
    assert.deepEqual(h.request(create("s")), { ok: false, error: { code: "StreamExists", message: "stream already exists" } });
  }
});

test("a proposal changes nothing until its op commits", () => {
  const h = new BrokerHarness();
  const out = h.broker.step({ kind: "apiRequest", requestId: 1, request: create("s"), ...h.time() });
  assert.equal(h.broker.view.metadata.streams.has("s"), false);
  assert.equal(out.natsSubscriptions.length, 0, "no partition starts before the commit");
  complete(h, [out], new Map());
  assert.equal(h.broker.view.metadata.streams.has("s"), true);
});

test("delete racing pause: the order of the log decides, never a crash", () => {
  const pause: ApiRequest = { kind: "pauseStream", name: "s", partitions: [], resumeAll: false };
  const del: ApiRequest = { kind: "deleteStream", name: "s" };
  const a = new BrokerHarness();
  assert.deepEqual(a.request(create("s")), { ok: true, value: { kind: "done" } });
  assert.deepEqual(codes(race(a, [del, pause])), ["ok", "StreamNotFound"]);
  assert.equal(a.broker.view.metadata.streams.has("s"), false);
  a.restart();
  assert.equal(a.broker.view.metadata.streams.has("s"), false);

  const b = new BrokerHarness();
  b.request(create("s"));
  assert.deepEqual(codes(race(b, [pause, del])), ["ok", "ok"]);
  assert.equal(b.broker.view.metadata.streams.has("s"), false);
  assert.equal(b.broker.view.partitions.size, 0);
});

test("publish to a paused partition: the publish is answered after the resume applies", () => {
  const h = new BrokerHarness();
  h.request(create("s"));
  h.request({ kind: "pauseStream", name: "s", partitions: [0], resumeAll: false });
  const publish: ApiRequest = { kind: "publish", stream: "s", partition: 0, key: null, value: new Uint8Array([1]), headers: [], ackInbox: "in", correlationId: "c", ackPolicy: "LEADER", expectedOffset: -1 };
  const out = h.broker.step({ kind: "apiRequest", requestId: 7, request: publish, ...h.time() });
  assert.equal(out.send.length + out.sendAfterPersist.length, 0, "the message waits for the resume to apply");
  const answers = new Map<number, Result<unknown>>();
  complete(h, [out], answers);
  assert.equal(answers.get(7)?.ok, true);
  assert.equal(h.broker.view.metadata.streams.get("s")?.partitions[0]?.paused, false);
});
