// Every default of Liftbridge's spec §5, written out independently of config-keys.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CONFIG_KEYS, envNameFor } from "../../src/io/config/config-keys.js";
import { loadConfig, type EffectiveConfig } from "../../src/io/config/load-config.js";

const S = 1000;
const M = 60 * S;
const H = 60 * M;

const EXPECTED: Record<string, unknown> = {
  listen: undefined,
  host: undefined,
  port: 9292,
  "data.dir": "/tmp/liftbridge/liftbridge-default",
  "metadata.cache.max.age": 2 * M,
  "grpc.max.connections": 4096,
  "grpc.connection.idle.timeout": 10 * M,
  "grpc.keepalive.time": 2 * M,
  "grpc.subscriber.max.buffered.bytes": 2621440,
  "grpc.subscribers.max.buffered.bytes": 134217728,
  "grpc.subscriber.stall.timeout": 30 * S,
  "grpc.publish.async.max.buffered.bytes": 8388608,
  "shutdown.timeout": 10 * S,
  "logging.level": "info",
  "logging.format": "json",
  "logging.recovery": false,
  "logging.raft": false,
  "logging.nats": false,
  "batch.max.messages": 1024,
  "batch.max.time": 0,
  "tls.key": "",
  "tls.cert": "",
  "tls.client.auth.enabled": false,
  "tls.client.auth.ca": "",
  "tls.client.authz.enabled": false,
  "tls.client.authz.model": "",
  "tls.client.authz.policy": "",
  "nats.servers": ["nats://127.0.0.1:4222"],
  "nats.user": "",
  "nats.password": "",
  "nats.tls.cert": "",
  "nats.tls.key": "",
  "nats.tls.ca": "",
  "nats.embedded": false,
  "nats.embedded.config": "",
  "streams.retention.max.bytes": 0,
  "streams.retention.max.messages": 0,
  "streams.retention.max.age": 168 * H,
  "streams.cleaner.interval": 5 * M,
  "streams.segment.max.bytes": 268435456,
  "streams.segment.max.age": 168 * H,
  "streams.compact.enabled": false,
  "streams.compact.max.goroutines": 10,
  "streams.auto.pause.time": 0,
  "streams.auto.pause.disable.if.subscribers": false,
  "streams.concurrency.control": false,
  "streams.encryption": false,
  "streams.sync.policy": "always",
  "streams.sync.interval": 1 * S,
  "clustering.server.id": undefined,
  "clustering.namespace": "liftbridge-default",
  "clustering.raft.snapshot.retain": 2,
  "clustering.raft.snapshot.threshold": 8192,
  "clustering.raft.cache.size": 512,
  "clustering.raft.bootstrap.seed": false,
  "clustering.raft.bootstrap.peers": [],
  "clustering.raft.max.quorum.size": 0,
  "clustering.replica.max.lag.time": 15 * S,
  "clustering.replica.max.leader.timeout": 15 * S,
  "clustering.replica.max.idle.wait": 10 * S,
  "clustering.replica.fetch.timeout": 3 * S,
  "clustering.min.insync.replicas": 1,
  "clustering.replication.max.bytes": 1048576,
  "activity.stream.enabled": false,
  "activity.stream.publish.timeout": 5 * S,
  "activity.stream.publish.ack.policy": "all",
  "cursors.stream.partitions": 0,
  "cursors.stream.replication.factor": -1,
  "cursors.stream.auto.pause.time": 1 * M,
  "groups.consumer.timeout": 15 * S,
  "groups.coordinator.timeout": 15 * S,
  "telemetry.enabled": true,
  "telemetry.interval.seconds": 86400,
};

function loadDefaults(): EffectiveConfig {
  const r = loadConfig([], {}, () => assert.fail("no file should be read"));
  assert.ok(r.ok && r.value.kind === "run");
  return r.value;
}

test("the key table and the spec's key list are the same set", () => {
  assert.deepEqual(CONFIG_KEYS.map((s) => s.key).sort(), Object.keys(EXPECTED).sort());
});

for (const [key, expected] of Object.entries(EXPECTED)) {
  test(`default of ${key}`, () => {
    const loaded = loadDefaults();
    assert.deepEqual(loaded.values.get(key as never), expected);
    assert.equal(loaded.sources.get(key as never), "default");
  });
}

test("the typed config carries the defaults under camelCase names with units last", () => {
  const { config } = loadDefaults();
  assert.equal(config.port, 9292);
  assert.equal(config.dataDir, "/tmp/liftbridge/liftbridge-default");
  assert.equal(config.metadata.cacheMaxAgeMs, 2 * M);
  assert.equal(config.streams.retentionMaxAgeMs, 168 * H);
  assert.equal(config.streams.segmentMaxAgeMs, 168 * H);
  assert.equal(config.streams.syncPolicy, "always");
  assert.equal(config.streams.syncIntervalMs, 1000);
  assert.equal(config.clustering.serverId, undefined);
  assert.equal(config.clustering.minInsyncReplicas, 1);
  assert.equal(config.clustering.replicaMaxLagTimeMs, 15 * S);
  assert.equal(config.activity.streamPublishAckPolicy, "all");
  assert.equal(config.cursors.streamReplicationFactor, -1);
  assert.deepEqual(config.nats.servers, ["nats://127.0.0.1:4222"]);
  assert.equal(config.logging.level, "info");
  assert.equal(config.logging.format, "json");
  assert.equal(loadDefaults().encryptionKey, undefined);
});

test("every key has a distinct environment variable name", () => {
  const names = CONFIG_KEYS.map((s) => envNameFor(s.key));
  assert.equal(new Set(names).size, names.length);
  assert.equal(envNameFor("clustering.min.insync.replicas"), "LIFTBRIDGE_CLUSTERING_MIN_INSYNC_REPLICAS");
});
