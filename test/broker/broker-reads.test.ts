// Reads leave the core (issue 11, docs/runtime.md "Reads"): a subscriber's chunks are read outside
// Broker.step, as ReadRequest outputs whose bytes come back as readCompleted inputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { DiskError } from "../../src/core/disk.js";
import type { ReadRequest } from "../../src/core/outputs.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";

const createS: ApiRequest = { kind: "createStream", name: "s", subject: "s", group: "", replicationFactor: 1, partitions: 1, overrides: { segmentMaxBytes: 4096 } };

test("a catch-up read over many segments: no disk read inside Broker.step, one ReadRequest per chunk, every record delivered in order", () => {
  const h = new BrokerHarness();
  h.request(createS);
  for (let i = 0; i < 40; i++) h.publish("s", new TextEncoder().encode(`m${i}-${"x".repeat(500)}`));
  let inStep = false;
  let readsInStep = 0;
  const requests: ReadRequest[] = [];
  const step = h.broker.step.bind(h.broker);
  h.broker.step = (input) => {
    inStep = true;
    try {
      const out = step(input);
      requests.push(...out.reads);
      return out;
    } finally {
      inStep = false;
    }
  };
  const read = h.disk.read.bind(h.disk);
  h.disk.read = (path, position, length) => {
    if (inStep) readsInStep++;
    return read(path, position, length);
  };
  const { sub } = h.subscribe({ stream: "s" });
  h.drain(sub);
  assert.equal(readsInStep, 0, "the subscription's chunks were read outside the step");
  assert.deepEqual(sub.records.map((r) => r.offset), Array.from({ length: 40 }, (_, i) => i));
  assert.ok(requests.length >= 5, `one read per chunk, a chunk within one segment (${requests.length} reads)`);
  assert.ok(requests.every((r) => r.lane === "partition/s/0" && r.purpose === `subscription ${sub.id}` && r.path.endsWith(".log")));
  assert.equal(new Set(requests.map((r) => r.token)).size, requests.length, "each read has its own token");
});

test("a completion for a subscription that is gone is dropped; a live one tails new records", () => {
  const h = new BrokerHarness();
  h.request(createS);
  h.publish("s", new Uint8Array(10));
  const { sub } = h.subscribe({ stream: "s" });
  h.step((t) => ({ kind: "unsubscribe", subscriptionId: sub.id, ...t }));
  h.step((t) => ({ kind: "readCompleted", token: 999, bytes: new Uint8Array(3), ...t }));
  h.step((t) => ({ kind: "readFailed", token: 998, error: new DiskError("EIO", "read", "p"), ...t }));
  const live = h.subscribe({ stream: "s" }).sub;
  h.ready(live);
  h.publish("s", new Uint8Array(20));
  assert.deepEqual(live.records.map((r) => r.offset), [0, 1]);
  assert.equal(live.ended, undefined);
});
