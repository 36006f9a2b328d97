// A partition holds its own immutable copy of its metadata: the metadata state machine mutating
// its PartitionMeta does not reach the partition until the broker hands it a new snapshot.
import assert from "node:assert/strict";
import test from "node:test";
import { partitionKey } from "../../src/core/broker/broker-state.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";

test("a partition's metadata is a frozen snapshot, replaced when an op changes it", () => {
  const h = new BrokerHarness();
  h.request({ kind: "createStream", name: "s", subject: "s", group: "", replicationFactor: 1, partitions: 1, overrides: {} });
  const partition = h.broker.view.partitions.get(partitionKey("s", 0));
  const meta = h.broker.view.metadata.streams.get("s")?.partitions[0];
  assert.ok(partition !== undefined && meta !== undefined);
  const before = partition.meta;
  assert.notEqual(before, meta, "not the object the metadata state mutates");
  assert.ok(Object.isFrozen(before) && Object.isFrozen(before.isr));
  assert.equal(before.readonly, false);

  assert.deepEqual(h.request({ kind: "setStreamReadonly", name: "s", partitions: [], readonly: true }), { ok: true, value: { kind: "done" } });
  assert.equal(before.readonly, false, "the old snapshot never changes");
  assert.equal(partition.meta.readonly, true, "the partition got a new snapshot");
  assert.equal(partition.meta.epoch, meta.epoch);

  h.request({ kind: "pauseStream", name: "s", partitions: [0], resumeAll: false });
  assert.equal(h.broker.view.partitions.get(partitionKey("s", 0))?.meta.paused, true);
});
