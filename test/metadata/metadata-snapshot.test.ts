// The metadata snapshot: restoring a snapshot taken after any prefix of ops, then applying the
// rest, gives exactly the state of applying them all; damaged or hostile snapshots are refused
// with a typed error naming the field, never an exception.
import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import type { MetadataOp } from "../../src/core/metadata/metadata-op.js";
import { restoreMetadata, snapshotMetadata } from "../../src/core/metadata/metadata-snapshot.js";
import { MetadataState } from "../../src/core/metadata/metadata-state.js";
import { LIFTBRIDGE_STREAM_DEFAULTS } from "../../src/core/metadata/stream-config.js";

const names = ["a", "b", "c"];
const arbPartitions = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 });
const arbOp: fc.Arbitrary<MetadataOp> = fc.oneof(
  fc.record({ name: fc.constantFrom(...names), partitions: fc.integer({ min: 1, max: 3 }), retention: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }), ts: fc.bigInt({ min: 0n, max: 2n ** 62n }) }).map(
    ({ name, partitions, retention, ts }): MetadataOp => ({
      op: "createStream", name, subject: `subj.${name}`, group: "", replicationFactor: 1, partitions,
      overrides: retention === undefined ? {} : { retentionMaxMessages: retention }, creationTimestampNs: ts.toString(),
      replicas: Array.from({ length: partitions }, () => ["b1" as never]),
    })),
  fc.record({ name: fc.constantFrom(...names) }).map(({ name }): MetadataOp => ({ op: "deleteStream", name })),
  fc.record({ name: fc.constantFrom(...names), partitions: arbPartitions, resumeAll: fc.boolean(), ts: fc.bigInt({ min: 1n, max: 2n ** 62n }) }).map(({ name, partitions, resumeAll, ts }): MetadataOp => ({ op: "pauseStream", name, partitions, resumeAll, timestampNs: ts.toString() })),
  fc.record({ name: fc.constantFrom(...names), partitions: arbPartitions, ts: fc.bigInt({ min: 1n, max: 2n ** 62n }) }).map(({ name, partitions, ts }): MetadataOp => ({ op: "resumeStream", name, partitions, timestampNs: ts.toString() })),
  fc.record({ name: fc.constantFrom(...names), partitions: arbPartitions, readonly: fc.boolean(), ts: fc.bigInt({ min: 1n, max: 2n ** 62n }) }).map(({ name, partitions, readonly, ts }): MetadataOp => ({ op: "setStreamReadonly", name, partitions, readonly, timestampNs: ts.toString() })),
);

function applyAll(state: MetadataState, ops: readonly MetadataOp[], firstIndex: number): void {
  ops.forEach((op, i) => state.apply(op, firstIndex + i));
}

test("property: snapshot after any prefix, restore, apply the rest: the same state as applying everything", () => {
  fc.assert(
    fc.property(fc.array(arbOp, { maxLength: 30 }), fc.nat(), (ops, cut) => {
      const k = ops.length === 0 ? 0 : cut % (ops.length + 1);
      const whole = new MetadataState(LIFTBRIDGE_STREAM_DEFAULTS);
      applyAll(whole, ops, 1);
      const prefix = new MetadataState(LIFTBRIDGE_STREAM_DEFAULTS);
      applyAll(prefix, ops.slice(0, k), 1);
      const restored = restoreMetadata(snapshotMetadata(prefix), LIFTBRIDGE_STREAM_DEFAULTS);
      assert.ok(restored.ok, restored.ok ? "" : restored.error.message);
      assert.equal(restored.value.lastAppliedIndex, k);
      // Replayed ops at or below the snapshot's index are ignored (Raft may deliver them again).
      applyAll(restored.value, ops, 1);
      assert.deepEqual(snapshotMetadata(restored.value), snapshotMetadata(whole));
      assert.deepEqual(restored.value.streams, whole.streams);
    }),
    { numRuns: 400, seed: 1207 },
  );
});

test("hostile snapshots are refused with the field named, and random bytes never throw", () => {
  const state = new MetadataState(LIFTBRIDGE_STREAM_DEFAULTS);
  state.apply({ op: "createStream", name: "s", subject: "s", group: "", replicationFactor: 1, partitions: 1, overrides: {}, creationTimestampNs: "5", replicas: [["b1" as never]] }, 1);
  const good = JSON.parse(new TextDecoder().decode(snapshotMetadata(state))) as { streams: { overrides: unknown; partitions: { replicas: unknown; epoch: unknown }[]; creationTimestampNs: unknown }[]; version: unknown };
  const refuse = (mutate: (s: typeof good) => void, expected: RegExp): void => {
    const copy = structuredClone(good);
    mutate(copy);
    const r = restoreMetadata(new TextEncoder().encode(JSON.stringify(copy)), LIFTBRIDGE_STREAM_DEFAULTS);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.message, expected);
  };
  refuse((s) => (s.version = 2), /version 2 is not supported/);
  refuse((s) => (s.streams[0]!.overrides = { retentionMaxBytes: "big" }), /overrides\.retentionMaxBytes must be a number/);
  refuse((s) => (s.streams[0]!.overrides = { __proto__x: 1 }), /is not a stream setting/);
  refuse((s) => (s.streams[0]!.partitions[0]!.replicas = []), /replicas is empty/);
  refuse((s) => (s.streams[0]!.partitions[0]!.epoch = -1), /streams\[0\]\.partitions\[0\]\.epoch must be an integer/);
  refuse((s) => (s.streams[0]!.creationTimestampNs = "99999999999999999999"), /creationTimestampNs must be a decimal int64/);
  refuse((s) => s.streams.push(s.streams[0]!), /stream s appears twice/);
  assert.ok(restoreMetadata(snapshotMetadata(state), LIFTBRIDGE_STREAM_DEFAULTS).ok);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => void restoreMetadata(bytes, LIFTBRIDGE_STREAM_DEFAULTS)), { numRuns: 500, seed: 1208 });
  fc.assert(fc.property(fc.json(), (text) => void restoreMetadata(new TextEncoder().encode(text), LIFTBRIDGE_STREAM_DEFAULTS)), { numRuns: 500, seed: 1209 });
});
