// Early Liftbridge's config files (the NATS server configuration format, before v1.0.0 moved to
// YAML) load beside YAML: the format is told by content, early key names become today's, and
// every error names the file, the line and the key (early name included).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadConfig, type EffectiveConfig } from "../../src/io/config/load-config.js";
import { keySpec } from "../../src/io/config/config-keys.js";
import { flattenNatsConf } from "../../src/io/config/flatten-nats-conf.js";
import { LEGACY_KEYS } from "../../src/io/config/legacy-keys.js";
import { parseConfigValue } from "../../src/io/config/parse-value.js";
import { REFUSED_UNLESS_DEFAULT } from "../../src/io/config/unsupported-settings.js";

function load(text: string, path = "liftbridge.conf", argv: string[] = []): EffectiveConfig {
  const r = loadConfig(["-c", path, ...argv], {}, (p) => (p === path ? text : assert.fail(`unexpected read of ${p}`)));
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  assert.equal(r.value.kind, "run");
  return r.value;
}

function loadError(text: string, path = "liftbridge.conf"): string {
  const r = loadConfig(["-c", path], {}, () => text);
  assert.ok(!r.ok, `expected ${JSON.stringify(text)} to be refused`);
  assert.equal(r.error.code, "InvalidArgument");
  return r.error.message;
}

/** The example file of Liftbridge's configuration.md before v1.0.0, as its users wrote it. */
const EARLY_EXAMPLE = `listen: localhost:9293
data.dir: /tmp/liftbridge/server-2
log.level: debug

# Define NATS cluster to connect to.
nats {
    servers: ["nats://localhost:4300", "nats://localhost:4301"]
}

# Specify message log settings.
log {
    retention.max.age: "24h"
}

# Specify cluster settings.
clustering {
    server.id: server-2
    raft.logging: true
    raft.bootstrap.seed: true
    replica.max.lag.time: "20s"
}
`;

test("early Liftbridge's example file loads, its keys mapped to today's", () => {
  const { config, sources, configFileFormat } = load(EARLY_EXAMPLE);
  assert.equal(configFileFormat, "nats");
  assert.deepEqual(config.listen, { host: "localhost", port: 9293 });
  assert.equal(config.dataDir, "/tmp/liftbridge/server-2");
  assert.equal(config.logging.level, "debug");
  assert.equal(config.logging.raft, true);
  assert.deepEqual(config.nats.servers, ["nats://localhost:4300", "nats://localhost:4301"]);
  assert.equal(config.streams.retentionMaxAgeMs, 24 * 3600 * 1000);
  assert.equal(config.streams.segmentMaxAgeMs, 24 * 3600 * 1000, "segment age still follows retention age");
  assert.equal(config.clustering.serverId, "server-2");
  assert.equal(config.clustering.raftBootstrapSeed, true);
  assert.equal(config.clustering.replicaMaxLagTimeMs, 20_000);
  for (const key of ["logging.level", "streams.retention.max.age", "logging.raft", "nats.servers"] as const) assert.equal(sources.get(key), "file");
});

test("the issue's one-line blocks, and the format's separators, comments, quotes and nesting", () => {
  const text = [
    'nats { servers: ["nats://localhost:4300"] }',
    "log { segment.max.bytes: 1000000 }",
    'clustering { server.id: server-2, raft.bootstrap.seed: true, replica.max.lag.time: "20s" }',
  ].join("\n");
  const a = load(text).config;
  assert.deepEqual(a.nats.servers, ["nats://localhost:4300"]);
  assert.equal(a.streams.segmentMaxBytes, 1_000_000);
  assert.equal(a.clustering.serverId, "server-2");
  assert.equal(a.clustering.replicaMaxLagTimeMs, 20_000);
  const b = load(`
    port = 9400           # equals
    host localhost        // whitespace
    batch.max.messages: 10;
    clustering {
      namespace: 'prod'
      raft { bootstrap { seed: yes } }
      replica.max.idle.wait 2s
    }
    streams.cleaner.interval: 1m   // a size to nats-server, a duration here
    streams.segment.max.bytes: 1MB // sizes as nats-server reads them
  `, "plain-name").config;
  assert.deepEqual([b.port, b.host, b.batch.maxMessages], [9400, "localhost", 10]);
  assert.deepEqual([b.clustering.namespace, b.clustering.raftBootstrapSeed, b.clustering.replicaMaxIdleWaitMs], ["prod", true, 2000]);
  assert.deepEqual([b.streams.cleanerIntervalMs, b.streams.segmentMaxBytes], [60_000, 1024 * 1024]);
});

test("every early key sets today's key (read straight from the flattened file)", () => {
  const samples: Record<string, string> = { bool: "true", int: "7", duration: '"90s"', string: '"/srv/lb"', enum: "warn", list: '["a"]' };
  for (const entry of LEGACY_KEYS) {
    if (!("key" in entry)) continue;
    const spec = keySpec(entry.key);
    assert.ok(spec !== undefined, `${entry.old} maps to a key this broker has (${entry.key})`);
    const sample = samples[spec.type.kind];
    assert.ok(sample !== undefined, `a sample for ${spec.type.kind}`);
    const flat = flattenNatsConf(`\n${entry.old}: ${sample}\n`, "old.conf");
    assert.ok(flat.ok, flat.ok ? "" : flat.error.message);
    assert.deepEqual([...flat.value.values.keys()], [entry.key], entry.old);
    assert.equal(flat.value.where.get(entry.key), `old.conf:2 (as "${entry.old}")`);
    assert.ok(parseConfigValue(spec.type, flat.value.values.get(entry.key)).ok, `${entry.old}: ${sample} is a valid ${entry.key}`);
  }
  // The same keys written as blocks, as early files did.
  const blocks = load('log { retention.max.messages: 5, compact: true, log.roll.time: "2h" }\nclustering { raft.snapshots: 4 }\ndata.path: /d\n').config;
  assert.deepEqual(
    [blocks.streams.retentionMaxMessages, blocks.streams.compactEnabled, blocks.streams.segmentMaxAgeMs, blocks.clustering.raftSnapshotRetain, blocks.dataDir],
    [5, true, 7_200_000, 4, "/d"],
  );
});

test("early -1 retention limits mean no limit (today's 0)", () => {
  const c = load("log { retention.max.bytes: -1, retention.max.messages: -1 }").config;
  assert.deepEqual([c.streams.retentionMaxBytes, c.streams.retentionMaxMessages], [0, 0]);
});

test("bad values name the file, the line, today's key and the early one", () => {
  assert.equal(
    loadError('\nlog {\n  retention.max.age: "20x"\n}\n'),
    'invalid value for "streams.retention.max.age" from config file liftbridge.conf:3 (as "log.retention.max.age"): invalid duration "20x": unknown unit "x" (units: ns, us, ms, s, m, h) (use Go syntax such as 300ms, 15s, 1h30m)',
  );
  assert.match(loadError("clustering {\n  replica.max.lag.time: 20\n}"), /"clustering\.replica\.max\.lag\.time" from config file liftbridge\.conf:2: invalid duration "20": missing unit/);
  assert.match(loadError("log { segment.max.bytes: lots }"), /"streams\.segment\.max\.bytes" from config file liftbridge\.conf:1 \(as "log\.segment\.max\.bytes"\): expected an integer/);
  assert.match(loadError("port: 9292\nlog.level: loud"), /"logging\.level" from config file liftbridge\.conf:2 \(as "log\.level"\): expected one of debug, info, warn, error/);
});

test("malformed files: unterminated blocks, strings and arrays, includes, variables", () => {
  const cases: [string, RegExp][] = [
    ["clustering {\n  server.id: a\n", /^config file liftbridge\.conf:3: missing '}' \(the block opened on line 1 is not closed\)$/],
    ['port: 1\nhost: "localhost\n', /^config file liftbridge\.conf:2: unterminated "string$/],
    ['nats { servers: ["nats://a:1",\n', /^config file liftbridge\.conf:2: unterminated array$/],
    ["include other.conf\n", /^config file liftbridge\.conf:1: include directives are not supported$/],
    ["clustering {\n  server.id: $HOST\n}\n", /^config file liftbridge\.conf:2: variables such as \$HOST are not supported$/],
  ];
  for (const [text, pattern] of cases) assert.match(loadError(text), pattern, JSON.stringify(text));
});

test("unknown, removed and doubly given keys name file, line and key", () => {
  assert.equal(loadError("log {\n  segmnt.max.bytes: 5\n}"), 'config file liftbridge.conf:2: unknown configuration key "log.segmnt.max.bytes" (did you mean "log.segment.max.bytes"?)');
  assert.equal(loadError("nats { servers: [], url: x }"), 'config file liftbridge.conf:1: unknown configuration key "nats.url" (did you mean "nats.user"?)');
  assert.match(loadError("clustering {\n replica.fetch.interval: 1s\n}"), /^config file liftbridge\.conf:2: configuration key "clustering\.replica\.fetch\.interval" is no longer supported \(/);
  assert.equal(loadError("log.level: debug\nlogging.level: info\n"), 'config file liftbridge.conf:2: "logging.level" is already set at liftbridge.conf:1 (as "log.level")');
  assert.match(loadError("port: 1\nport: 2\n"), /^config file liftbridge\.conf:2: port is given twice \(first on line 1\)$/);
});

test("the format is told by content: YAML first, the NATS format when YAML cannot read the file", () => {
  assert.equal(load("logging.level: debug\n", "liftbridge.conf").configFileFormat, "yaml", "a YAML file named .conf (as later deployments kept it)");
  assert.equal(load("logging:\n  level: debug\n", "x").configFileFormat, "yaml");
  assert.equal(load("log.level: debug\n", "lb.yaml").configFileFormat, "nats", "an early key name is only read in the NATS format");
  assert.equal(load("port = 9300\n", "x").config.port, 9300);
  // Early names in a file that only YAML can read: the error says what the key is called today.
  assert.match(loadError("log:\n  level: debug\n", "lb.yaml"), /unknown configuration key "log\.level" \(early Liftbridge's name, read only in its NATS-format files; today "logging\.level"\)/);
});

test("no silent settings hold for early keys too: a refused value is refused by today's name, with where it was set", () => {
  assert.equal(
    loadError("port: 9292\nlog.recovery: true\n"),
    'logging.recovery: not supported yet (only false is accepted: recovery logging is not implemented); set by config file liftbridge.conf:2 (as "log.recovery")',
  );
  assert.match(loadError("batch.wait.time: 10ms"), /^batch\.max\.time: not supported yet .*; set by config file liftbridge\.conf:1 \(as "batch\.wait\.time"\)$/);
  const refused = new Set(REFUSED_UNLESS_DEFAULT.map((r) => r.key));
  // Each early key inherits its today's key's row of the table, so the table covers it.
  for (const entry of LEGACY_KEYS) if ("key" in entry && refused.has(entry.key)) assert.ok(["logging.recovery", "batch.max.time"].includes(entry.key), entry.old);
  // At their defaults, early keys load as today's do.
  assert.ok(load("log.recovery: false\nbatch.wait.time: 0\n").config);
});

/** The early-key table of docs/configuration.md: early key -> today's key or "no longer supported". */
function documentedLegacyKeys(): Map<string, string> {
  const doc = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
  const start = doc.indexOf("## Early Liftbridge's .conf files");
  assert.ok(start >= 0, "docs/configuration.md has the early-format section");
  const section = doc.slice(start, doc.indexOf("\n## ", start + 1));
  const out = new Map<string, string>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || !cells[1]!.startsWith("`")) continue;
    const today = /^`([^`]+)`/.exec(cells[2]!)?.[1] ?? cells[2]!;
    out.set(cells[1]!.replaceAll("`", ""), today.startsWith("no longer supported") ? "removed" : today);
  }
  return out;
}

test("docs/configuration.md lists exactly the code's early keys and what each became", () => {
  const code = new Map(LEGACY_KEYS.map((e) => [e.old, "key" in e ? e.key : "removed"]));
  assert.deepEqual([...documentedLegacyKeys()].sort(), [...code].sort());
});
