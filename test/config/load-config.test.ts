import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, type EffectiveConfig } from "../../src/io/config/load-config.js";
import { advertisedAddress, listenAddress } from "../../src/io/config/config-schema.js";

type Env = Record<string, string | undefined>;

function files(map: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = map[path];
    if (text === undefined) throw new Error(`ENOENT: no such file ${path}`);
    return text;
  };
}

function load(argv: string[], env: Env = {}, fileMap: Record<string, string> = {}): EffectiveConfig {
  const r = loadConfig(argv, env, files(fileMap));
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  assert.equal(r.value.kind, "run");
  return r.value;
}

function loadError(argv: string[], env: Env = {}, fileMap: Record<string, string> = {}): string {
  const r = loadConfig(argv, env, files(fileMap));
  assert.ok(!r.ok, "expected an error");
  assert.equal(r.error.code, "InvalidArgument");
  return r.error.message;
}

const NESTED = `
port: 9300
clustering:
  namespace: prod
  min:
    insync:
      replicas: 1
  raft:
    bootstrap:
      seed: true
      peers: []
streams:
  retention:
    max:
      age: 24h
nats:
  embedded: true
  servers: [nats://a:4222, nats://b:4222]
`;

const DOTTED = `
port: 9300
clustering.namespace: prod
clustering.min.insync.replicas: 1
clustering.raft.bootstrap.seed: true
clustering.raft.bootstrap.peers: []
streams.retention.max.age: 24h
nats.embedded: true
nats.servers: [nats://a:4222, nats://b:4222]
`;

const MIXED = `
port: 9300
clustering:
  namespace: prod
  min.insync.replicas: 1
  raft.bootstrap:
    seed: true
    peers: []
streams.retention:
  max.age: 24h
nats:
  embedded: true
  servers: [nats://a:4222, nats://b:4222]
`;

test("nested, dotted and mixed YAML give the same configuration", () => {
  const [nested, dotted, mixed] = [NESTED, DOTTED, MIXED].map((text) => load(["-c", "f.yaml"], {}, { "f.yaml": text }).config);
  assert.deepEqual(dotted, nested);
  assert.deepEqual(mixed, nested);
  assert.equal(nested!.port, 9300);
  assert.equal(nested!.clustering.namespace, "prod");
  assert.equal(nested!.clustering.minInsyncReplicas, 1);
  assert.equal(nested!.clustering.raftBootstrapSeed, true);
  assert.deepEqual(nested!.clustering.raftBootstrapPeers, []);
  assert.deepEqual(nested!.nats.servers, ["nats://a:4222", "nats://b:4222"]);
  assert.equal(nested!.streams.retentionMaxAgeMs, 24 * 3_600_000);
  assert.equal(nested!.streams.segmentMaxAgeMs, 24 * 3_600_000, "segment.max.age follows retention.max.age");
  assert.equal(nested!.nats.embedded, true);
  assert.equal(nested!.dataDir, "/tmp/liftbridge/prod");
});

test("nats.embedded and nats.embedded.config nest under one map", () => {
  const { config } = load(["-c", "f"], {}, { f: "nats:\n  embedded:\n    config: nats.conf\n" });
  assert.equal(config.nats.embeddedConfig, "nats.conf");
  assert.equal(config.nats.embedded, true, "the config file implies embedded");
});

test("precedence: flag > environment > file > default, recorded per key", () => {
  const file = { f: "port: 1111\nlogging.level: warn\nclustering.namespace: fromfile\n" };
  const env = { LIFTBRIDGE_PORT: "2222", LIFTBRIDGE_LOGGING_LEVEL: "error" };
  const loaded = load(["-c", "f", "--port", "3333"], env, file);
  assert.equal(loaded.config.port, 3333);
  assert.equal(loaded.sources.get("port"), "flag");
  assert.equal(loaded.config.logging.level, "error");
  assert.equal(loaded.sources.get("logging.level"), "env");
  assert.equal(loaded.config.clustering.namespace, "fromfile");
  assert.equal(loaded.sources.get("clustering.namespace"), "file");
  assert.equal(loaded.config.batch.maxMessages, 1024);
  assert.equal(loaded.sources.get("batch.max.messages"), "default");
  assert.equal(loaded.configFile, "f");
  assert.equal(load([], env, file).config.port, 2222, "env over default without a file");
  assert.equal(load(["-c", "f"], {}, file).config.port, 1111);
});

test("the environment sets any key, with or without a file", () => {
  const env = {
    LIFTBRIDGE_CLUSTERING_RAFT_SNAPSHOT_RETAIN: "3",
    LIFTBRIDGE_NATS_SERVERS: "nats://a:4222, nats://b:4222",
    LIFTBRIDGE_STREAMS_SYNC_POLICY: "interval",
    LIFTBRIDGE_STREAMS_SYNC_INTERVAL: "250ms",
    LIFTBRIDGE_HOST: "broker.example",
    LIFTBRIDGE_LOGGING_NATS: "",
  };
  const loaded = load([], env);
  assert.equal(loaded.config.clustering.raftSnapshotRetain, 3);
  assert.deepEqual(loaded.config.nats.servers, ["nats://a:4222", "nats://b:4222"]);
  assert.equal(loaded.config.streams.syncPolicy, "interval");
  assert.equal(loaded.config.streams.syncIntervalMs, 250);
  assert.equal(loaded.config.host, "broker.example");
  assert.equal(loaded.sources.get("logging.nats"), "default", "an empty variable counts as unset");
});

test("LIFTBRIDGE_CONFIG names the file when --config is absent", () => {
  const fileMap = { "a.yaml": "port: 1", "b.yaml": "port: 2" };
  assert.equal(load([], { LIFTBRIDGE_CONFIG: "a.yaml" }, fileMap).config.port, 1);
  assert.equal(load(["--config=b.yaml"], { LIFTBRIDGE_CONFIG: "a.yaml" }, fileMap).config.port, 2);
});

test("unknown keys are errors naming the key", () => {
  assert.match(loadError(["-c", "f"], {}, { f: "bogus: 1\n" }), /unknown configuration key "bogus"/);
  assert.match(loadError(["-c", "f"], {}, { f: "clustering:\n  raft:\n    bootstrap.sed: true\n" }), /"clustering.raft.bootstrap.sed".*did you mean "clustering.raft.bootstrap.seed"/);
  assert.match(loadError(["-c", "f"], {}, { f: "streams:\n  nope: {a: 1}\n" }), /unknown configuration key "streams.nope"/);
  assert.match(loadError(["-c", "f"], {}, { f: "port:\n  x: 1\n" }), /"port" from config file f:1: expected an integer.*got a map/);
});

test("YAML errors name the file and the line, as early NATS-format files' do", () => {
  assert.equal(
    loadError(["-c", "lb.yaml"], {}, { "lb.yaml": "port: 9300\nclustering:\n  raft:\n    bootstrap.sed: true\n" }),
    'config file lb.yaml:4: unknown configuration key "clustering.raft.bootstrap.sed" (did you mean "clustering.raft.bootstrap.seed"?)',
  );
  assert.match(loadError(["-c", "lb.yaml"], {}, { "lb.yaml": "# c\nstreams:\n  segment.max.bytes: big\n" }), /"streams.segment.max.bytes" from config file lb\.yaml:3: expected an integer/);
  assert.match(loadError(["-c", "lb.yaml"], {}, { "lb.yaml": "a.b: 1\nport: [1\n" }), /^config file lb\.yaml: not valid YAML: .* at line 3, column 1:$/);
});

test("a key given twice in one file is an error", () => {
  assert.match(loadError(["-c", "f"], {}, { f: "clustering.namespace: a\nclustering:\n  namespace: b\n" }), /^config file f:3: configuration key "clustering.namespace" is given more than once \(first at f:1\)$/);
});

test("keys are case-insensitive and empty sections are ignored", () => {
  const { config } = load(["-c", "f"], {}, { f: "Clustering:\n  Namespace: up\ntls:\n" });
  assert.equal(config.clustering.namespace, "up");
});

test("bad values are errors naming the key, the source and what is allowed", () => {
  const cases: [string[], Env, Record<string, string>, RegExp][] = [
    [["-c", "f"], {}, { f: "streams.retention.max.age: 7d" }, /"streams.retention.max.age" from config file f:1: .*unknown unit "d"/],
    [["-c", "f"], {}, { f: "streams.retention.max.age: 10" }, /"streams.retention.max.age" from config file f:1: expected a duration with a unit/],
    [[], { LIFTBRIDGE_STREAMS_CLEANER_INTERVAL: "-1s" }, {}, /"streams.cleaner.interval" from environment variable LIFTBRIDGE_STREAMS_CLEANER_INTERVAL: expected a duration of at least 1ms/],
    [[], { LIFTBRIDGE_STREAMS_AUTO_PAUSE_TIME: "-5m" }, {}, /"streams.auto.pause.time".*not negative/],
    [["-c", "f"], {}, { f: "nats.embedded: maybe" }, /"nats.embedded" from config file f:1: expected true or false, got "maybe"/],
    [["-p", "http"], {}, {}, /"port" from flag --port: expected an integer from 0 to 65535, got "http"/],
    [["-p", "70000"], {}, {}, /"port" from flag --port: expected an integer from 0 to 65535/],
    [[], { LIFTBRIDGE_CLUSTERING_MIN_INSYNC_REPLICAS: "0" }, {}, /"clustering.min.insync.replicas" from environment variable LIFTBRIDGE_CLUSTERING_MIN_INSYNC_REPLICAS: expected an integer >= 1, got "0"/],
    [["-c", "f"], {}, { f: "batch.max.messages: 1.5" }, /"batch.max.messages".*expected an integer/],
    [["-l", "verbose"], {}, {}, /"logging.level" from flag --level: expected one of debug, info, warn, error, got "verbose"/],
    [["--log-format", "xml"], {}, {}, /"logging.format".*json, pretty/],
    [["--ns", "my ns"], {}, {}, /"clustering.namespace" from flag --namespace: .*without spaces or periods/],
    [["--id", "a.b"], {}, {}, /"clustering.server.id".*without spaces or periods/],
    [["-c", "f"], {}, { f: "nats.servers: {a: 1}" }, /"nats.servers".*list of strings/],
    [["-c", "f"], {}, { f: "listen: nowhere" }, /"listen".*host:port/],
    [["-c", "f"], {}, { f: "streams.sync.policy: sometimes" }, /"streams.sync.policy".*always, interval, never/],
  ];
  for (const [argv, env, fileMap, pattern] of cases) assert.match(loadError(argv, env, fileMap), pattern);
});

test("a bad value is reported even when a higher source overrides it", () => {
  assert.match(loadError(["-c", "f", "-p", "1"], {}, { f: "port: abc" }), /"port" from config file f/);
});

test("file problems are reported with the path", () => {
  assert.match(loadError(["-c", "missing.yaml"]), /cannot read config file missing.yaml: ENOENT/);
  assert.match(loadError(["-c", "f"], {}, { f: "port: [1\n" }), /config file f: not valid YAML/);
  assert.match(loadError(["-c", "f"], {}, { f: "- a\n- b\n" }), /config file f: expected a map/);
  assert.equal(load(["-c", "f"], {}, { f: "" }).config.port, 9292, "an empty file sets nothing");
});

test("data.dir defaults to /tmp/liftbridge/<namespace> unless given", () => {
  assert.equal(load(["--ns", "alpha"]).config.dataDir, "/tmp/liftbridge/alpha");
  assert.equal(load(["--ns", "alpha", "-d", "./data"]).config.dataDir, "./data");
  assert.equal(load(["--ns", "alpha"]).sources.get("data.dir"), "default");
});

test("segment.max.age follows retention.max.age, floored to 1s, 0 meaning no roll by age", () => {
  const seg = (yaml: string): number => load(["-c", "f"], {}, { f: yaml }).config.streams.segmentMaxAgeMs;
  assert.equal(seg("streams.retention.max.age: 2h"), 7_200_000);
  assert.equal(seg("streams.retention.max.age: 200ms"), 1000);
  assert.equal(seg("streams.retention.max.age: 0"), 0);
  assert.equal(seg("streams.retention.max.age: 2h\nstreams.segment.max.age: 10m"), 600_000);
  assert.equal(seg("streams.segment.max.age: 10ms"), 1000);
});

test("tls.cert and tls.key must come together", () => {
  assert.match(loadError(["--tls-cert", "c.pem"]), /"tls.cert" and "tls.key" must be given together \(got only "tls.cert"\)/);
  const { config } = load(["--tls-cert", "c.pem", "--tls-key", "k.pem"]);
  assert.deepEqual([config.tls.cert, config.tls.key], ["c.pem", "k.pem"]);
  assert.match(loadError([], { LIFTBRIDGE_NATS_TLS_KEY: "k" }), /"nats.tls.cert" and "nats.tls.key"/);
});

test("streams.encryption is refused as not supported yet, even with a valid key (it would store plaintext)", () => {
  const on = { LIFTBRIDGE_STREAMS_ENCRYPTION: "true" };
  assert.match(loadError([], on), /^streams.encryption: not supported yet/);
  assert.match(loadError([], { ...on, LIFTBRIDGE_ENCRYPTION_KEY: "0123456789abcdef" }), /^streams.encryption: not supported yet \(only false is accepted/);
  assert.equal(load([], { LIFTBRIDGE_STREAMS_ENCRYPTION: "false" }).encryptionKey, undefined);
});

test("listen and host give the bind and advertised addresses as Liftbridge does", () => {
  const at = (yaml: string) => load(["-c", "f"], {}, { f: yaml }).config;
  let c = at("port: 9300");
  assert.deepEqual([listenAddress(c), advertisedAddress(c)], [{ host: "0.0.0.0", port: 9300 }, { host: "localhost", port: 9300 }]);
  c = at("host: 10.1.2.3\nport: 9300");
  assert.deepEqual([listenAddress(c), advertisedAddress(c)], [{ host: "10.1.2.3", port: 9300 }, { host: "10.1.2.3", port: 9300 }]);
  c = at("listen: 127.0.0.1:9400");
  assert.deepEqual([listenAddress(c), advertisedAddress(c)], [{ host: "127.0.0.1", port: 9400 }, { host: "127.0.0.1", port: 9400 }]);
  c = at("listen: 9500");
  assert.deepEqual([listenAddress(c), advertisedAddress(c)], [{ host: "0.0.0.0", port: 9500 }, { host: "localhost", port: 9500 }]);
  c = at('listen: "[::1]:9600"\nhost: lb.example');
  assert.deepEqual([listenAddress(c), advertisedAddress(c)], [{ host: "::1", port: 9600 }, { host: "lb.example", port: 9292 }]);
});

test("--help and --version are requests to print and exit 0, not errors", () => {
  const help = loadConfig(["--help"], {}, files({}));
  assert.ok(help.ok && help.value.kind === "help");
  assert.match(help.value.output, /--embedded-nats-config <file>/);
  const version = loadConfig(["--version"], {}, files({}), { version: "9.9.9" });
  assert.ok(version.ok && version.value.kind === "version");
  assert.equal(version.value.output.trim(), "9.9.9");
});
