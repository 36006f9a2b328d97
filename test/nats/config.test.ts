import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEmbeddedNatsConfig, parseEmbeddedNatsConfig, type EmbeddedNatsConfig } from "../../src/io/embedded-nats/config.js";
import { bareValue, parseConf } from "../../src/io/embedded-nats/conf-parser.js";

function parsed(text: string): EmbeddedNatsConfig {
  const r = parseEmbeddedNatsConfig(text);
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  return r.value;
}

function failure(text: string): string {
  const r = parseEmbeddedNatsConfig(text);
  assert.equal(r.ok, false, `expected ${JSON.stringify(text)} to be rejected`);
  return r.ok ? "" : r.error.message;
}

test("defaults are nats-server's", () => {
  assert.deepEqual(parsed(""), { host: "0.0.0.0", port: 4222, maxPayload: 1048576, maxControlLine: 4096, maxConnections: 65536, connectTimeoutMs: 2000, warnings: [] });
});

test("all three separators, both comment styles, quoted strings", () => {
  const c = parsed(`
    # a comment
    host: "127.0.0.1"   // trailing comment
    port = 4333
    max_payload 2048
  `);
  assert.deepEqual(c, { host: "127.0.0.1", port: 4333, maxPayload: 2048, maxControlLine: 4096, maxConnections: 65536, connectTimeoutMs: 2000, warnings: [] });
  assert.equal(parsed("host: '::1'").host, "::1");
  assert.equal(parsed("HOST: localhost, PORT: 5000").port, 5000);
});

test("listen takes host:port, :port, [v6]:port or a bare port", () => {
  assert.deepEqual(parsed('listen: "10.0.0.1:4999"'), { host: "10.0.0.1", port: 4999, maxPayload: 1048576, maxControlLine: 4096, maxConnections: 65536, connectTimeoutMs: 2000, warnings: [] });
  assert.equal(parsed("listen: 127.0.0.1:4111").port, 4111);
  assert.equal(parsed("listen: :4555").host, "0.0.0.0");
  assert.equal(parsed('listen: "[::1]:4666"').host, "::1");
  assert.equal(parsed("listen: 4777").port, 4777);
  assert.equal(parsed("listen: 127.0.0.1:-1").port, 0, "-1 asks for an ephemeral port");
  assert.equal(parsed("port: 0").port, 4222, "0 means the default port, as in nats-server");
});

test("max_payload takes sizes with nats-server's units", () => {
  assert.equal(parsed("max_payload: 1MB").maxPayload, 1048576);
  assert.equal(parsed("max_payload: 1MiB").maxPayload, 1048576);
  assert.equal(parsed("max_payload: 1M").maxPayload, 1000000);
  assert.equal(parsed("max_payload: 512KB").maxPayload, 524288);
  assert.equal(parsed("max_payload: 64k").maxPayload, 64000);
  assert.equal(parsed('max_payload: "8MB"').maxPayload, 8388608);
  assert.equal(bareValue("2gb"), 2 * 1024 ** 3);
  assert.equal(bareValue("yes"), true);
  assert.equal(bareValue("hello"), "hello");
});

test("bad values name the key and the line", () => {
  assert.match(failure("port: 70000"), /line 1: key "port"/);
  assert.match(failure("port: abc"), /key "port"/);
  assert.match(failure("\n\nmax_payload: 0"), /line 3: key "max_payload"/);
  assert.match(failure("max_payload: 100MB"), /key "max_payload".*64MB/);
  assert.match(failure("max_payload: lots"), /key "max_payload"/);
  assert.match(failure('listen: "nohostport"'), /key "listen"/);
  assert.match(failure("host: 42"), /key "host"/);
  assert.match(failure('host: "a b"'), /key "host"/);
});

test("syntax errors are reported with a line, never thrown", () => {
  assert.match(failure('host: "unterminated'), /line 1: unterminated/);
  assert.match(failure("cluster {\n  port: 1\n"), /missing '}'/);
  assert.match(failure("port: 4222 extra"), /unexpected 'e' after the value of port/);
  assert.match(failure("include ./other.conf"), /include/);
  assert.match(failure("port: $PORT"), /variables/);
  assert.match(failure("port:"), /missing value/);
});

test("unknown keys and blocks are skipped with a warning", () => {
  const c = parsed(`
    port: 4999
    cluster {
      name: "c1"
      routes: [ "nats://a:6222", "nats://b:6222" ]
      nested { deep: true }
    }
    jetstream: enabled
    authorization { user: x, password: "y" }
  `);
  assert.equal(c.port, 4999);
  assert.deepEqual(c.warnings.map((w) => /key "([^"]+)"/.exec(w)?.[1]), ["cluster", "jetstream", "authorization.user", "authorization.password"]);
  const tree = parseConf('cluster { routes: [ "a", "b" ], n: 3 }');
  assert.ok(tree.ok);
  const cluster = tree.value.get("cluster")?.value;
  assert.ok(cluster instanceof Map);
  assert.deepEqual(cluster.get("routes")?.value, ["a", "b"]);
  assert.equal(cluster.get("n")?.value, 3);
});

test("loadEmbeddedNatsConfig reads a file and reports an unreadable one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "nats-conf-"));
  try {
    const path = join(dir, "nats.conf");
    await writeFile(path, "listen: 127.0.0.1:4300\nmax_payload: 2MB\n");
    const r = await loadEmbeddedNatsConfig(path);
    assert.ok(r.ok);
    assert.deepEqual(r.value, { host: "127.0.0.1", port: 4300, maxPayload: 2 * 1024 * 1024, maxControlLine: 4096, maxConnections: 65536, connectTimeoutMs: 2000, warnings: [] });
    const missing = await loadEmbeddedNatsConfig(join(dir, "absent.conf"));
    assert.equal(missing.ok, false);
    assert.match(missing.ok ? "" : missing.error.message, /cannot read NATS config/);
    await writeFile(path, "port: -5\n");
    const badPort = await loadEmbeddedNatsConfig(path);
    assert.match(badPort.ok ? "" : badPort.error.message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: line 1: key "port"`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("max_control_line: applied from 4096 up, refused below (the broker's limits assume NATS's default)", () => {
  assert.equal(parsed("max_control_line: 8192").maxControlLine, 8192);
  assert.equal(parsed("max_control_line: 4096").maxControlLine, 4096);
  for (const text of ["max_control_line: 1024", "max_control_line: -1", 'max_control_line: "big"']) {
    const r = parseEmbeddedNatsConfig(text);
    assert.ok(!r.ok && /max_control_line/.test(r.error.message), text);
  }
  const low = parseEmbeddedNatsConfig("max_control_line: 1024");
  assert.ok(!low.ok && /must be at least 4096/.test(low.error.message));
});

test("max_connections and authorization { timeout } bound connections, as in nats-server", () => {
  const c = parsed("max_connections: 10\nauthorization { timeout: 0.5 }");
  assert.equal(c.maxConnections, 10);
  assert.equal(c.connectTimeoutMs, 500);
  assert.equal(c.warnings.length, 0);
  assert.equal(parseEmbeddedNatsConfig("max_connections: 0").ok, false);
  assert.equal(parseEmbeddedNatsConfig("authorization { timeout: -1 }").ok, false);
  assert.equal(parseEmbeddedNatsConfig("authorization: 3").ok, false);
});
