import { test } from "node:test";
import assert from "node:assert/strict";
import { normaliseArgv, parseCliFlags } from "../../src/io/config/cli-flags.js";
import { loadConfig, type EffectiveConfig } from "../../src/io/config/load-config.js";

function run(argv: string[]): EffectiveConfig {
  const r = loadConfig(argv, {}, () => assert.fail("no file should be read"));
  assert.ok(r.ok, r.ok ? "" : r.error.message);
  assert.equal(r.value.kind, "run");
  return r.value;
}

function cliError(argv: string[]): string {
  const r = parseCliFlags(argv, "0.0.0");
  assert.ok(!r.ok, `expected ${argv.join(" ")} to be rejected`);
  assert.equal(r.error.code, "InvalidArgument");
  return r.error.message;
}

test("Liftbridge's short flags", () => {
  const { config, sources } = run(["-p", "9300", "-d", "/var/lb", "-l", "debug", "-e", "-n", "nats://a:1,nats://b:2"]);
  assert.equal(config.port, 9300);
  assert.equal(config.dataDir, "/var/lb");
  assert.equal(config.logging.level, "debug");
  assert.equal(config.nats.embedded, true);
  assert.deepEqual(config.nats.servers, ["nats://a:1", "nats://b:2"]);
  for (const key of ["port", "data.dir", "logging.level", "nats.embedded", "nats.servers"] as const) assert.equal(sources.get(key), "flag");
});

test("npm start's arguments: a bare boolean flag does not swallow the next flag", () => {
  const { config } = run(["--embedded-nats", "--data-dir", "./data"]);
  assert.equal(config.nats.embedded, true);
  assert.equal(config.dataDir, "./data");
});

test("multi-letter short forms --id, --ns, --nc", () => {
  const { config, sources } = run(["--id", "srv1", "--ns", "prod", "--nc", "nats.conf"]);
  assert.equal(config.clustering.serverId, "srv1");
  assert.equal(config.clustering.namespace, "prod");
  assert.equal(config.nats.embeddedConfig, "nats.conf");
  assert.equal(config.nats.embedded, true, "--embedded-nats-config implies --embedded-nats");
  assert.equal(sources.get("nats.embedded"), "flag");
  assert.equal(config.dataDir, "/tmp/liftbridge/prod");
  assert.equal(run(["--id=srv2"]).config.clustering.serverId, "srv2");
});

test("long flags, including Go-style single-dash long names", () => {
  const { config } = run([
    "--server-id", "a", "--namespace", "b", "--data-dir=/d", "--port", "1", "--level", "warn", "--embedded-nats",
    "--embedded-nats-config", "n.conf", "--nats-servers", "nats://x:1",
    "--raft-bootstrap-peers", "a", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--log-format", "pretty",
  ]);
  assert.equal(config.clustering.serverId, "a");
  assert.equal(config.clustering.namespace, "b");
  assert.equal(config.dataDir, "/d");
  assert.equal(config.port, 1);
  assert.equal(config.logging.level, "warn");
  assert.equal(run(["--raft-bootstrap-seed"]).config.clustering.raftBootstrapSeed, true);
  assert.deepEqual(config.clustering.raftBootstrapPeers, ["a"], "a one-node cluster of this server");
  assert.deepEqual([config.tls.cert, config.tls.key], ["c.pem", "k.pem"]);
  assert.equal(config.logging.format, "pretty");
  const go = run(["-id", "x", "-ns", "y", "-data-dir", "/z", "-embedded-nats", "-raft-bootstrap-seed"]).config;
  assert.deepEqual([go.clustering.serverId, go.clustering.namespace, go.dataDir], ["x", "y", "/z"]);
  assert.equal(go.nats.embedded, true);
  assert.equal(go.clustering.raftBootstrapSeed, true);
});

test("boolean flags take an optional true/false value", () => {
  assert.equal(run(["--embedded-nats=false"]).config.nats.embedded, false);
  assert.equal(run(["--embedded-nats=false"]).sources.get("nats.embedded"), "flag");
  assert.equal(run(["-e", "true"]).config.nats.embedded, true);
  assert.equal(run(["--raft-bootstrap-seed=true"]).config.clustering.raftBootstrapSeed, true);
  const r = loadConfig(["-e", "perhaps"], {}, () => "");
  assert.ok(!r.ok);
  assert.match(r.error.message, /"nats.embedded" from flag --embedded-nats: expected true or false, got "perhaps"/);
});

test("a flag's value that looks like a flag name is left alone", () => {
  assert.deepEqual(normaliseArgv(["--namespace", "-ns", "-d", "-id"]), ["--namespace", "-ns", "-d", "-id"]);
  assert.deepEqual(normaliseArgv(["-ns", "x", "--nc=y", "-p", "1", "--", "-id"]), ["--namespace", "x", "--embedded-nats-config=y", "-p", "1", "--", "-id"]);
});

test("command-line mistakes are errors, not exits", () => {
  assert.match(cliError(["--bogus"]), /unknown option '--bogus'/);
  assert.match(cliError(["--prot", "1"]), /unknown option '--prot'.*Did you mean --port\?/s);
  assert.match(cliError(["-p"]), /option '-p, --port <port>' argument missing/);
  assert.match(cliError(["serve"]), /too many arguments|unknown command|excess/i);
});

test("--help lists Liftbridge's flags; -h and -v work too", () => {
  for (const flag of ["--help", "-h"]) {
    const r = parseCliFlags([flag], "1.2.3");
    assert.ok(r.ok && r.value.kind === "help");
    for (const name of ["--config", "--server-id", "--namespace", "--data-dir", "--port", "--level", "--embedded-nats", "--nats-servers", "--raft-bootstrap-seed", "--raft-bootstrap-peers", "--tls-cert", "--tls-key", "--log-format"]) {
      assert.ok(r.value.output.includes(name), `help mentions ${name}`);
    }
  }
  const v = parseCliFlags(["-v"], "1.2.3");
  assert.ok(v.ok && v.value.kind === "version");
  assert.equal(v.value.output, "1.2.3\n");
});

test("early Liftbridge's spellings: --nats-server, and --raft-bootstrap-peers repeated (its values add up)", () => {
  const { config, sources } = run(["--nats-server", "nats://early:4222"]);
  assert.deepEqual(config.nats.servers, ["nats://early:4222"]);
  assert.equal(sources.get("nats.servers"), "flag");
  assert.deepEqual(run(["-nats-server=nats://a:1,nats://b:2"]).config.nats.servers, ["nats://a:1", "nats://b:2"]);
  assert.deepEqual(run(["--id", "me", "--raft-bootstrap-peers", "me", "--raft-bootstrap-peers", "me"]).config.clustering.raftBootstrapPeers, ["me", "me"]);
  assert.deepEqual(run(["--id", "me", "--raft-bootstrap-peers", "me", "--raft-bootstrap-peers", "other"]).config.clustering.raftBootstrapPeers, ["me", "other"]);
  assert.equal(run(["--raft-bootstrap-seed", "--port", "9293", "--data-dir", "/lb"]).config.clustering.raftBootstrapSeed, true, "a lone seed is a cluster of one");
});
