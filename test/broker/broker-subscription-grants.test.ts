// Subscriber chunk grants (issue 10's bounded memory) and the shutdown's end status, on the core.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest, SubscribeRequest } from "../../src/core/broker/api-types.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";

const createS: ApiRequest = { kind: "createStream", name: "s", subject: "s", group: "", replicationFactor: 1, partitions: 1, overrides: {} };
const FROM_START: SubscribeRequest = {
  stream: "s", partition: 0, startPosition: "EARLIEST", startOffset: 0, startTimestampNs: 0n, stopPosition: "STOP_ON_CANCEL",
  stopOffset: 0, stopTimestampNs: 0n, resume: false, readIsrReplica: false,
};

function chunkCounts(h: BrokerHarness, id: number): number[] {
  return h.effects.flatMap((e) => (e.kind === "subscriptionRecords" && e.subscriptionId === id ? [e.records.count] : []));
}

test("a subscription's chunks hold at most the bytes its shell granted (at least one record)", () => {
  const h = new BrokerHarness();
  h.request(createS);
  for (let i = 0; i < 10; i++) h.publish("s", new Uint8Array(1000));
  h.step((t) => ({ kind: "subscribe", subscriptionId: 100, request: FROM_START, maxBytes: 2500, ...t }));
  const first = chunkCounts(h, 100);
  assert.equal(first.length, 1);
  assert.ok(first[0]! >= 1 && first[0]! <= 2, `first chunk of ${first[0]} records within 2500 bytes`);
  h.step((t) => ({ kind: "subscriptionReady", subscriptionId: 100, maxBytes: 1, ...t }));
  assert.equal(chunkCounts(h, 100)[1], 1, "a tiny grant still gets one record");
  h.step((t) => ({ kind: "subscriptionReady", subscriptionId: 100, ...t }));
  const all = chunkCounts(h, 100);
  assert.equal(all.reduce((a, b) => a + b, 0), 10, "no grant: the rest in one batch-sized chunk");
});

test("shutdown ends live subscriptions with Unavailable, so clients resubscribe elsewhere", () => {
  const h = new BrokerHarness();
  h.request(createS);
  const { sub } = h.subscribe({ stream: "s" });
  h.step((t) => ({ kind: "shutdown", ...t }));
  assert.deepEqual(sub.ended, { code: "Unavailable", message: "Server shutting down" });
});
