// No silent settings: each key of an unimplemented feature loads at its default and is refused,
// by name, at any other value; keys with no effect on one node load with any valid value; and
// docs/configuration.md's table classifies every key exactly as the code does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadConfig } from "../../src/io/config/load-config.js";
import { CONFIG_KEYS, envNameFor } from "../../src/io/config/config-keys.js";
import { REFUSED_UNLESS_DEFAULT } from "../../src/io/config/unsupported-settings.js";

const noFile = (): string => assert.fail("no file should be read");

/** A valid non-default value of every refused key, as an environment variable would give it. */
const NON_DEFAULT: Record<string, string> = {
  "logging.recovery": "true", "logging.nats": "true", "batch.max.time": "10ms",
  "tls.client.authz.enabled": "true", "tls.client.authz.model": "model.conf", "tls.client.authz.policy": "policy.csv",
  "streams.auto.pause.time": "1m", "streams.encryption": "true",
  "clustering.min.insync.replicas": "2", "activity.stream.enabled": "true", "cursors.stream.partitions": "1",
  "groups.consumer.timeout": "30s", "groups.coordinator.timeout": "5s",
};

test("every refused key loads at its default and is refused by name at another value", () => {
  for (const { key } of REFUSED_UNLESS_DEFAULT) {
    const spec = CONFIG_KEYS.find((s) => s.key === key)!;
    const env = { [envNameFor(key)]: NON_DEFAULT[key] };
    assert.ok(NON_DEFAULT[key] !== undefined, `a non-default sample for ${key}`);
    const r = loadConfig([], env, noFile);
    assert.ok(!r.ok, `${key}=${NON_DEFAULT[key]} should be refused`);
    assert.equal(r.error.code, "InvalidArgument");
    assert.ok(r.error.message.startsWith(`${key}: not supported yet`), r.error.message);
    const value = spec.type.kind === "duration" ? `${String(spec.default)}ms` : JSON.stringify(spec.default);
    const yaml = `${key}: ${value}\n`;
    const d = loadConfig(["-c", "f"], {}, () => yaml);
    assert.ok(d.ok, `${key} at its default (${yaml.trim()}) loads: ${d.ok ? "" : d.error.message}`);
  }
});

test("keys with no effect on one node load with non-default values", () => {
  const env = {
    LIFTBRIDGE_CLUSTERING_RAFT_SNAPSHOT_RETAIN: "5", LIFTBRIDGE_CLUSTERING_REPLICA_MAX_LAG_TIME: "30s",
    LIFTBRIDGE_CLUSTERING_RAFT_BOOTSTRAP_SEED: "true", LIFTBRIDGE_STREAMS_COMPACT_MAX_GOROUTINES: "2",
    LIFTBRIDGE_ACTIVITY_STREAM_PUBLISH_ACK_POLICY: "leader", LIFTBRIDGE_TELEMETRY_ENABLED: "false",
  };
  const r = loadConfig([], env, noFile);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
});

test("clustering.raft.bootstrap.peers naming other servers loads; with a bootstrap seed too it is refused", () => {
  const r = loadConfig(["--server-id", "me", "--raft-bootstrap-peers", "me,other"], {}, noFile);
  assert.ok(r.ok && r.value.kind === "run");
  assert.deepEqual(r.value.config.clustering.raftBootstrapPeers, ["me", "other"]);
  const both = loadConfig(["--server-id", "me", "--raft-bootstrap-peers", "me,other", "--raft-bootstrap-seed"], {}, noFile);
  assert.ok(!both.ok && /"clustering.raft.bootstrap.seed" and "clustering.raft.bootstrap.peers" cannot both be set/.test(both.error.message));
});

/** The keys of docs/configuration.md's "What each key does here" table, with their kind. */
function documentedKinds(): Map<string, string> {
  const doc = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## What each key does here"));
  const kinds = new Map<string, string>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || !cells[1]!.startsWith("`")) continue;
    const kind = ["refused unless default", "no effect", "works"].find((k) => cells[2]!.startsWith(k));
    assert.ok(kind !== undefined, `kind of ${cells[1]}`);
    for (const m of cells[1]!.matchAll(/`([^`]+)`/g)) {
      assert.ok(!kinds.has(m[1]!), `${m[1]} listed twice`);
      kinds.set(m[1]!, kind);
    }
  }
  return kinds;
}

test("docs/configuration.md classifies every key, and its refused keys are exactly the code's", () => {
  const kinds = documentedKinds();
  assert.deepEqual([...kinds.keys()].sort(), CONFIG_KEYS.map((s) => s.key).sort());
  const refusedInDocs = [...kinds].filter(([, kind]) => kind === "refused unless default").map(([key]) => key).sort();
  assert.deepEqual(refusedInDocs, REFUSED_UNLESS_DEFAULT.map((r) => r.key).sort());
});
