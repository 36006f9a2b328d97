// clustering.raft.* to the metadata Raft's configuration: how a fresh data directory bootstraps
// (seed with a probe, named peers, join on an external NATS, a cluster of one on the embedded
// NATS) and the keys that tune it (max.quorum.size 0 = no limit, snapshot.threshold).
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/io/config/load-config.js";
import type { LiftbridgeConfig } from "../../src/io/config/config-schema.js";
import { raftConfigFrom, SEED_PROBE_MS } from "../../src/io/raft-config-from.js";

function config(args: string[]): LiftbridgeConfig {
  const r = loadConfig(args, {}, () => assert.fail("no file"));
  assert.ok(r.ok && r.value.kind === "run", r.ok ? "" : r.error.message);
  return r.value.config;
}

test("bootstrap: seed probes first, peers are named, no flag joins on an external NATS and is alone on the embedded one", () => {
  assert.deepEqual(raftConfigFrom(config(["--raft-bootstrap-seed"])).bootstrap, { kind: "seed", probeMs: SEED_PROBE_MS });
  assert.deepEqual(raftConfigFrom(config(["--id", "a", "--raft-bootstrap-peers", "a,b,c"])).bootstrap, { kind: "peers", peers: ["a", "b", "c"] });
  assert.deepEqual(raftConfigFrom(config(["--nats-servers", "nats://127.0.0.1:4222"])).bootstrap, { kind: "join" });
  assert.deepEqual(raftConfigFrom(config([])).bootstrap, { kind: "join" }, "the default NATS is external");
  assert.deepEqual(raftConfigFrom(config(["--embedded-nats"])).bootstrap, { kind: "seed" });
  assert.deepEqual(raftConfigFrom(config(["--embedded-nats-config", "n.conf"])).bootstrap, { kind: "seed" });
  assert.equal(raftConfigFrom(config(["--embedded-nats", "--raft-bootstrap-seed"])).bootstrap.kind, "seed");
});

test("max.quorum.size 0 is no limit; snapshot.threshold is the entries between snapshots", () => {
  assert.equal(raftConfigFrom(config([])).maxQuorumSize, Number.MAX_SAFE_INTEGER);
  const r = loadConfig(["-c", "f"], {}, () => "clustering:\n  raft.max.quorum.size: 3\n  raft.snapshot.threshold: 100\n");
  assert.ok(r.ok && r.value.kind === "run");
  const raft = raftConfigFrom(r.value.config);
  assert.equal(raft.maxQuorumSize, 3);
  assert.equal(raft.snapshotEntries, 100);
});
