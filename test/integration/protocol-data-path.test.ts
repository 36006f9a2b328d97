// Integration: the broker's own NATS protocol client against a real nats-server (and fake servers
// for what nats-server will not do on demand): messages both ways with nats.js on the other end,
// queue groups, flush, restart of the server (resubscribe, buffered publishes), authorization,
// servers that require TLS (the nats.js fallback), max_payload, garbage from the server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import { connect, headers as natsHeaders, type NatsConnection } from "nats";
import { ProtocolDataPath, parseServerAddress, type ProtocolDataPathOptions } from "../../src/io/nats-data-path/protocol-data-path.js";
import { createLogger } from "../../src/io/logger.js";
import { collectNats, waitUntil, within } from "../../jepsen-like/integration-fixture.js";
import { natsServerPath, startNatsServer, type NatsServerProcess } from "../../jepsen-like/nats-server-process.js";

const T = { timeout: 30_000 };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A logger whose lines the test can read. */
function capturedLogger(): { logger: ProtocolDataPathOptions["logger"]; lines: () => string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, done) { lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== "")); done(); } });
  return { logger: createLogger({ level: "debug", format: "json", destination: stream }), lines: () => lines };
}

async function open(options: Omit<ProtocolDataPathOptions, "name" | "logger"> & Partial<ProtocolDataPathOptions>): Promise<ProtocolDataPath> {
  const opened = await ProtocolDataPath.connect({ name: "test.data", logger: capturedLogger().logger, reconnectTimeWaitMs: 50, ...options });
  assert.ok(opened.ok, opened.ok ? "" : opened.message);
  return opened.value;
}

interface Received { subject: string; reply: string; data: string }

function receiver(): { got: Received[]; onMessage: (subject: string, reply: string, data: Uint8Array) => void } {
  const got: Received[] = [];
  return { got, onMessage: (subject, reply, data) => got.push({ subject, reply, data: dec.decode(data) }) };
}

/** A TCP server that answers each connection with `greet` and records what clients send. */
async function fakeServer(greet: (socket: Socket) => void): Promise<{ server: Server; port: number; received: () => string }> {
  let received = "";
  const server = createServer((socket) => {
    socket.on("data", (d) => { received += d.toString("latin1"); });
    socket.on("error", () => undefined);
    greet(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return { server, port: address.port, received: () => received };
}

test("server addresses: schemes, default port, credentials in the URL", () => {
  assert.deepEqual(parseServerAddress("nats://127.0.0.1:4223"), { host: "127.0.0.1", port: 4223, user: undefined, pass: undefined, tls: false });
  assert.deepEqual(parseServerAddress("localhost"), { host: "localhost", port: 4222, user: undefined, pass: undefined, tls: false });
  assert.deepEqual(parseServerAddress("nats://a%40b:p%3Aw@h:1"), { host: "h", port: 1, user: "a@b", pass: "p:w", tls: false });
  assert.equal(parseServerAddress("tls://h:4443").tls, true);
  assert.equal(parseServerAddress("[::1]:4222").host, "::1");
});

describe("ProtocolDataPath against nats-server", { skip: natsServerPath() === undefined ? "nats-server not installed" : false }, () => {
  let server: NatsServerProcess;
  let nc: NatsConnection;
  before(async () => {
    server = await startNatsServer({ maxPayload: 4096 });
    nc = await connect({ servers: server.url });
  }, T);
  after(async () => {
    await nc?.close();
    await server?.stop();
  }, T);

  test("receives what nats.js publishes (reply, NATS headers dropped, wildcards, queue groups) and publishes to nats.js", T, async () => {
    const path = await open({ servers: [server.url] });
    const plain = receiver();
    const wild = receiver();
    const queued = [receiver(), receiver()];
    path.subscribe("dp.plain", "", plain.onMessage);
    path.subscribe("dp.wild.*", "", wild.onMessage);
    for (const q of queued) path.subscribe("dp.queue", "workers", q.onMessage);
    await path.flush();
    const h = natsHeaders();
    h.set("X-Any", "thing");
    nc.publish("dp.plain", enc.encode("one"), { reply: "back.here" });
    nc.publish("dp.plain", enc.encode("two"), { headers: h });
    nc.publish("dp.wild.x", enc.encode("three"));
    for (let i = 0; i < 10; i++) nc.publish("dp.queue", enc.encode(`q${i}`));
    await nc.flush();
    await waitUntil(() => plain.got.length === 2 && wild.got.length === 1 && queued[0]!.got.length + queued[1]!.got.length === 10, 5000, "deliveries");
    assert.deepEqual(plain.got, [{ subject: "dp.plain", reply: "back.here", data: "one" }, { subject: "dp.plain", reply: "", data: "two" }]);
    assert.deepEqual(wild.got, [{ subject: "dp.wild.x", reply: "", data: "three" }]);

    const inbox = nc.subscribe("dp.acks");
    await nc.flush();
    for (let i = 0; i < 500; i++) path.publish("dp.acks", enc.encode(`ack${i}`), i === 0 ? "dp.reply" : undefined);
    const acks = await collectNats(inbox, 500, 5000);
    assert.deepEqual(acks.map((a) => dec.decode(a)), Array.from({ length: 500 }, (_, i) => `ack${i}`));
    await path.close();
  });

  test("unsubscribe stops deliveries; close is idempotent and later publishes are dropped", T, async () => {
    const path = await open({ servers: [server.url] });
    const r = receiver();
    const sub = path.subscribe("dp.unsub", "", r.onMessage);
    await path.flush();
    nc.publish("dp.unsub", enc.encode("before"));
    await waitUntil(() => r.got.length === 1, 5000, "first delivery");
    sub.unsubscribe();
    await path.flush();
    nc.publish("dp.unsub", enc.encode("after"));
    await nc.flush();
    await path.flush();
    assert.deepEqual(r.got.map((g) => g.data), ["before"]);
    await path.close();
    await path.close();
    path.publish("dp.closed", enc.encode("x"), undefined);
    await path.flush();
  });

  test("a publish over the server's max_payload is dropped with a warning; the connection keeps working", T, async () => {
    const { logger, lines } = capturedLogger();
    const path = await open({ servers: [server.url], logger });
    const inbox = nc.subscribe("dp.big");
    await nc.flush();
    path.publish("dp.big", new Uint8Array(5000), undefined);
    path.publish("dp.big", enc.encode("small"), undefined);
    const got = await collectNats(inbox, 1, 5000);
    assert.equal(dec.decode(got[0]), "small");
    assert.ok(lines().some((l) => l.includes("larger than the server's max_payload")), lines().join("\n"));
    await path.close();
  });
});

describe("ProtocolDataPath across a nats-server restart", { skip: natsServerPath() === undefined ? "nats-server not installed" : false }, () => {
  test("resubscribes, delivers publishes buffered while down, and resolves flushes asked for meanwhile", T, async () => {
    let server = await startNatsServer();
    const port = server.port;
    const { logger, lines } = capturedLogger();
    const path = await open({ servers: [server.url], logger });
    const r = receiver();
    path.subscribe("dp.restart", "", r.onMessage);
    await path.flush();
    await server.stop();
    await waitUntil(() => lines().some((l) => l.includes("connection lost")), 5000, "loss noticed");
    path.publish("dp.restart.out", enc.encode("buffered"), undefined);
    let flushed = false;
    const flush = path.flush().then(() => { flushed = true; });
    const late = receiver();
    path.subscribe("dp.late", "", late.onMessage);
    server = await startNatsServer({ port });
    try {
      const nc = await connect({ servers: server.url });
      const out = nc.subscribe("dp.restart.out");
      await nc.flush();
      await within(flush, 10_000, "flush after reconnect");
      assert.ok(flushed);
      nc.publish("dp.restart", enc.encode("again"));
      nc.publish("dp.late", enc.encode("late"));
      await nc.flush();
      await waitUntil(() => r.got.length === 1 && late.got.length === 1, 5000, "deliveries after reconnect");
      assert.equal(r.got[0]!.data, "again");
      assert.equal(late.got[0]!.data, "late");
      // The buffered publish went out before the flush's PING, but nc subscribed only after the
      // server came back: it may or may not have been routed to nc. What must hold is that new
      // publishes reach it.
      path.publish("dp.restart.out", enc.encode("fresh"), undefined);
      const got = (await collectNats(out, 1, 5000)).map((d) => dec.decode(d));
      assert.ok(got.includes("fresh") || got.includes("buffered"), got.join(","));
      assert.ok(lines().some((l) => l.includes("re-established")));
      await nc.close();
    } finally {
      await path.close();
      await server.stop();
    }
  });
});

describe("ProtocolDataPath authorization", { skip: natsServerPath() === undefined ? "nats-server not installed" : false }, () => {
  let server: NatsServerProcess;
  before(async () => {
    server = await startNatsServer({ extraConfig: "authorization {\n  user: lift\n  password: s3cret\n}" });
  }, T);
  after(async () => { await server?.stop(); }, T);

  test("the configured user and password (or the URL's) are sent; a wrong password is refused", T, async () => {
    const good = await open({ servers: [server.url], user: "lift", pass: "s3cret" });
    await good.flush();
    await good.close();
    const inUrl = await open({ servers: [`nats://lift:s3cret@127.0.0.1:${server.port}`] });
    await inUrl.close();
    const bad = await ProtocolDataPath.connect({ servers: [server.url], name: "t", user: "lift", pass: "nope", logger: capturedLogger().logger });
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.reason === "failed" && /Authorization Violation/i.test(bad.message), JSON.stringify(bad));
  });
});

describe("ProtocolDataPath against fake servers", () => {
  test("a server that requires TLS (or a tls:// address) is reported as tlsRequired, after trying the other servers", T, async () => {
    const tls = await fakeServer((s) => s.write('INFO {"server_id":"F","tls_required":true,"max_payload":1024}\r\n'));
    const dead = await fakeServer((s) => s.destroy());
    try {
      const r = await ProtocolDataPath.connect({ servers: [`127.0.0.1:${dead.port}`, `127.0.0.1:${tls.port}`, "tls://127.0.0.1:1"], name: "t", logger: capturedLogger().logger });
      assert.ok(!r.ok && r.reason === "tlsRequired", JSON.stringify(r));
      assert.equal(tls.received(), "", "nothing sent in clear to a TLS server");
    } finally {
      tls.server.close();
      dead.server.close();
    }
  });

  test("garbage from the server fails the handshake; no INFO within the bound fails it too", T, async () => {
    const garbage = await fakeServer((s) => s.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
    const silent = await fakeServer(() => undefined);
    try {
      const r1 = await ProtocolDataPath.connect({ servers: [`127.0.0.1:${garbage.port}`], name: "t", logger: capturedLogger().logger });
      assert.ok(!r1.ok && r1.reason === "failed" && /unknown operation "HTTP\/1.1 400 Bad Request"/.test(r1.message), JSON.stringify(r1));
      const r2 = await ProtocolDataPath.connect({ servers: [`127.0.0.1:${silent.port}`], name: "t", connectTimeoutMs: 200, logger: capturedLogger().logger });
      assert.ok(!r2.ok && /no handshake within 200 ms/.test(r2.message), JSON.stringify(r2));
    } finally {
      garbage.server.close();
      silent.server.close();
    }
  });

  test("the handshake sends CONNECT with the name, then PING; the server's PING gets a PONG", T, async () => {
    const fake = await fakeServer((s) => {
      s.write('INFO {"server_id":"F","max_payload":1024}\r\nPING\r\n');
      s.on("data", (d) => { if (d.toString("latin1").includes("PING\r\n")) s.write("PONG\r\n"); });
    });
    try {
      const path = await open({ servers: [`127.0.0.1:${fake.port}`], name: "LIFT.ns.id.data" });
      path.subscribe("a.b", "q", () => undefined);
      await waitUntil(() => fake.received().includes("SUB a.b q 1\r\n"), 5000, "SUB");
      const sent = fake.received();
      assert.match(sent, /^CONNECT \{[^\r\n]*"name":"LIFT\.ns\.id\.data"[^\r\n]*\}\r\n/);
      assert.match(sent, /"verbose":false/);
      assert.ok(sent.includes("PONG\r\n"), sent);
      await path.close();
    } finally {
      fake.server.close();
    }
  });

  test("a connection whose server stops answering PINGs is replaced; subscriptions follow", T, async () => {
    let connections = 0;
    const fake = await fakeServer((s) => {
      connections++;
      s.write('INFO {"server_id":"F","max_payload":1024}\r\n');
      let pongs = 0;
      s.on("data", (d) => {
        // Each connection answers only its handshake PING, then goes silent.
        if (d.toString("latin1").includes("PING\r\n") && pongs++ === 0) s.write("PONG\r\n");
      });
    });
    const { logger, lines } = capturedLogger();
    try {
      const path = await open({ servers: [`127.0.0.1:${fake.port}`], logger, pingIntervalMs: 30, maxPingOut: 2 });
      path.subscribe("kept", "", () => undefined);
      await waitUntil(() => connections >= 2, 5000, "a second connection");
      assert.ok(lines().some((l) => l.includes("stale (no PONG)")), lines().join("\n"));
      await waitUntil(() => (fake.received().match(/SUB kept 1\r\n/g) ?? []).length >= 2, 5000, "resubscribed on the new connection");
      await path.close();
    } finally {
      fake.server.close();
    }
  });
});

