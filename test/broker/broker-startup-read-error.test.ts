// A disk that refuses to read the metadata log at startup: the broker refuses to start with a
// typed error naming the file (the shell says so and exits), it does not throw a DiskError out of
// recovery (broker seed 109 of the simulator, where read faults reach a restart). Once the disk
// reads again, it starts with its streams.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Broker } from "../../src/core/broker/broker.js";
import { BrokerHarness } from "../../sim/testing/broker-harness.js";
import { legacyCreateStream, writeLegacyMetadataLog } from "../../sim/testing/legacy-metadata.js";
import { SimRandom } from "../../sim/sim-random.js";

test("a metadata read error at startup is a refusal to start (Internal), not a throw; the next start works", () => {
  const h = new BrokerHarness();
  assert.ok(h.request({ kind: "createStream", name: "s", subject: "s", group: "", replicationFactor: 1, partitions: 1, overrides: {} }).ok);
  h.step((t) => ({ kind: "shutdown", ...t }));
  const deps = { reader: h.disk, codec: h.codec, random: new SimRandom(1, "broker") };
  h.disk.setFaults({ readErrorPerMille: 1000 });
  const refused = Broker.recover(deps, h.config, h.time());
  assert.equal(refused.ok ? "started" : refused.error.code, "Internal");
  assert.match(refused.ok ? "" : refused.error.message, /cannot read the Raft log in raft: read raft\/\S+: EIO/);
  h.disk.setFaults({ readErrorPerMille: 0 });
  const started = Broker.recover(deps, h.config, h.time());
  assert.ok(started.ok);
  assert.ok(started.value.broker.view.partitions.has("s\u00000"));
});

test("the single-node version's metadata log unreadable at its first start: a refusal naming it, then it migrates", () => {
  const h = new BrokerHarness();
  h.step((t) => ({ kind: "shutdown", ...t }));
  // Replace what this version wrote with the single-node version's metadata (no raft/).
  h.disk.removeTree("raft");
  writeLegacyMetadataLog(h.disk, [legacyCreateStream("s")]);
  const deps = { reader: h.disk, codec: h.codec, random: new SimRandom(1, "broker") };
  h.disk.setFaults({ readErrorPerMille: 1000 });
  const refused = Broker.recover(deps, h.config, h.time());
  assert.equal(refused.ok ? "started" : refused.error.code, "Internal");
  assert.match(refused.ok ? "" : refused.error.message, /cannot read the metadata: .*metadata\/metadata\.log.*EIO/);
  h.disk.setFaults({ readErrorPerMille: 0 });
  const started = Broker.recover(deps, h.config, h.time());
  assert.ok(started.ok);
  assert.ok(started.value.broker.view.partitions.has("s\u00000"));
});
