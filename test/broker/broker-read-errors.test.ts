// Read errors are typed values, never a crash (issue 11): a disk read that fails inside a step
// ends the subscription that needed it (Internal, logged), compaction skips its run, a log that
// cannot be read back is not served; every other partition, and the same one once the disk reads
// again, keeps serving. The planted bug readErrorThrows restores the old crash and is caught here.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiRequest } from "../../src/core/broker/api-types.js";
import { CommitLog } from "../../src/core/log/commit-log.js";
import { DiskError } from "../../src/core/disk.js";
import type { LogEvent } from "../../src/core/outputs.js";
import type { TimeMs, TimestampNs } from "../../src/core/types.js";
import { BrokerHarness, testBrokerConfig } from "../../sim/testing/broker-harness.js";
import { LOG_DIR, LogHarness, message, testLogConfig } from "../../sim/testing/log-harness.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const create = (name: string, partitions = 1): ApiRequest => ({ kind: "createStream", name, subject: name, group: "", replicationFactor: 1, partitions, overrides: {} });

function publish(h: BrokerHarness, subject: string, id: string): void {
  h.publish(subject, h.codec.encodePublish({ key: null, value: utf8(id), headers: [], ackInbox: "acks", correlationId: id, ackPolicy: "LEADER", expectedOffset: -1 }, subject, subject));
}

/** Collects the log events of every step the harness runs from now on. */
function captureLog(h: BrokerHarness): LogEvent[] {
  const events: LogEvent[] = [];
  const step = h.broker.step.bind(h.broker);
  h.broker.step = (input) => {
    const out = step(input);
    events.push(...out.log);
    return out;
  };
  return events;
}

for (const planted of [false, true]) {
  test(`a catch-up read that fails ends that subscription with Internal, logged; the partition keeps serving${planted ? " (planted readErrorThrows: caught)" : ""}`, () => {
    const h = new BrokerHarness(testBrokerConfig({ plantedBugs: { readErrorThrows: planted } }));
    h.request(create("s"));
    h.request(create("t"));
    for (const id of ["a", "b", "c"]) publish(h, "s", id);
    const events = captureLog(h);
    h.disk.setFaults({ readErrorPerMille: 1000 });
    if (planted) {
      assert.throws(() => h.subscribe({ stream: "s" }), DiskError, "the old behaviour: the read error escapes Broker.step");
      return;
    }
    const { sub, result } = h.subscribe({ stream: "s" });
    assert.ok(result.ok, "the subscription starts (its position needs no read)");
    assert.equal(sub.ended?.code, "Internal");
    assert.match(sub.ended?.message ?? "", /read failed: .*EIO/);
    assert.ok(events.some((e) => e.level === "error" && e.msg.includes("could not be read")), "the ended subscription is logged");
    // Writes need no read: the partition, and the others, still take publishes while reads fail.
    publish(h, "s", "d");
    publish(h, "t", "x");
    h.disk.setFaults({ readErrorPerMille: 0 });
    const again = h.subscribe({ stream: "s" }).sub;
    assert.deepEqual(again.records.map((r) => new TextDecoder().decode(r.value ?? new Uint8Array())), ["a", "b", "c", "d"]);
    assert.equal(again.ended, undefined);
    assert.equal(h.subscribe({ stream: "t" }).sub.records.length, 1);
  });

  test(`compaction whose segment read fails skips its run, logged; the log is unchanged${planted ? " (planted readErrorThrows: caught)" : ""}`, () => {
    const h = new LogHarness(testLogConfig({ compactEnabled: true, segmentMaxBytes: 256, ...(planted ? { readErrorThrows: true } : {}) }));
    for (let i = 0; i < 20; i++) {
      const r = h.log.appendAsLeader([message(`k${i % 3}`, `v${i}`)], 1n as TimestampNs, 0 as never, 0 as TimeMs);
      assert.ok(r.ok);
      h.apply(r.value.ops);
    }
    h.log.setHighWatermark(h.log.newestOffset);
    const segments = h.log.segmentBaseOffsets;
    assert.ok(segments.length > 2, "several segments to compact");
    h.disk.setFaults({ readErrorPerMille: 1000 });
    if (planted) {
      assert.throws(() => h.log.cleanup(0 as TimeMs, 0n as TimestampNs), DiskError);
      return;
    }
    const cleaned = h.log.cleanup(0 as TimeMs, 0n as TimestampNs);
    assert.ok(cleaned.events.some((e) => e.level === "error" && e.msg.includes("compaction skipped")));
    assert.deepEqual(h.log.segmentBaseOffsets, segments, "nothing rewritten");
    h.apply(cleaned.ops);
    h.disk.setFaults({ readErrorPerMille: 0 });
    const compacted = h.log.cleanup(0 as TimeMs, 0n as TimestampNs);
    h.apply(compacted.ops);
    const read = h.log.read(h.log.oldestOffset, h.log.newestOffset, 1 << 20);
    assert.ok(read.ok);
    assert.deepEqual(read.value.records.map((r) => new TextDecoder().decode(r.value ?? new Uint8Array())).slice(-3), ["v17", "v18", "v19"]);
  });

  test(`a log that cannot be read back is an Internal error from tryOpen, not a throw${planted ? " (planted readErrorThrows: caught)" : ""}`, () => {
    const config = testLogConfig(planted ? { readErrorThrows: true } : {});
    const h = new LogHarness(config);
    const r = h.log.appendAsLeader([message("k", "v")], 1n as TimestampNs, 0 as never, 0 as TimeMs);
    assert.ok(r.ok);
    h.apply(r.value.ops);
    h.disk.setFaults({ readErrorPerMille: 1000 });
    if (planted) {
      assert.throws(() => CommitLog.tryOpen(h.disk, LOG_DIR, config, 0 as TimeMs), DiskError);
      return;
    }
    const opened = CommitLog.tryOpen(h.disk, LOG_DIR, config, 0 as TimeMs);
    assert.ok(!opened.ok);
    assert.equal(opened.error.code, "Internal");
  });
}
