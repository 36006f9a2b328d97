// Conformance of the embedded NATS server, driven by the official `nats` client and raw sockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { connect, headers, StringCodec, type NatsConnection, type Msg } from "nats";
import { startEmbeddedNats, type EmbeddedNats, type EmbeddedNatsOptions } from "../../src/io/embedded-nats/server.js";

const sc = StringCodec();
const TEST_TIMEOUT_MS = 15_000;

async function withServer(options: EmbeddedNatsOptions, body: (server: EmbeddedNats, open: () => Promise<NatsConnection>) => Promise<void>): Promise<void> {
  const server = await startEmbeddedNats({ host: "127.0.0.1", port: 0, ...options });
  const clients: NatsConnection[] = [];
  const open = async () => {
    const nc = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false, timeout: 5000 });
    clients.push(nc);
    return nc;
  };
  try {
    await body(server, open);
  } finally {
    await Promise.all(clients.map((nc) => (nc.isClosed() ? Promise.resolve() : nc.close())));
    await server.close();
  }
}

/** A raw TCP client that records everything the server sends. */
class RawClient {
  text = "";
  closed = false;
  readonly socket: Socket;
  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (this.text += d));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => undefined);
  }
  static async open(port: number): Promise<RawClient> {
    const socket = netConnect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const raw = new RawClient(socket);
    await raw.waitFor((t) => t.includes("\r\n"));
    return raw;
  }
  write(s: string | Buffer): void {
    this.socket.write(s);
  }
  async waitFor(predicate: (text: string) => boolean, what = "expected output"): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!predicate(this.text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.text.slice(-300))}`);
      await sleep(5);
    }
  }
  async waitClosed(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the server to close the connection");
      await sleep(5);
    }
  }
  /** Drops the INFO line and everything before now. */
  clear(): void {
    this.text = "";
  }
  destroy(): void {
    this.socket.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function collect(nc: NatsConnection, subject: string, opts: { queue?: string; max?: number } = {}): Promise<Msg[]> {
  const got: Msg[] = [];
  nc.subscribe(subject, { ...opts, callback: (_e, m) => got.push(m) });
  await nc.flush();
  return got;
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test("INFO is sent on connect with nats-server's fields", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({ maxPayload: 4096, serverName: "lb-test" }, async (server) => {
    const raw = await RawClient.open(server.port);
    const line = raw.text.slice(0, raw.text.indexOf("\r\n"));
    assert.match(line, /^INFO \{/);
    const info = JSON.parse(line.slice(5)) as Record<string, unknown>;
    assert.equal(info["proto"], 1);
    assert.equal(info["headers"], true);
    assert.equal(info["max_payload"], 4096);
    assert.equal(info["port"], server.port);
    assert.equal(info["server_name"], "lb-test");
    assert.equal(typeof info["server_id"], "string");
    assert.equal(typeof info["client_id"], "number");
    assert.match(String(info["version"]), /^2\.\d+\.\d+/);
    assert.equal(server.connectionCount(), 1);
    raw.destroy();
    await until(() => server.connectionCount() === 0, "the connection to be forgotten");
  });
});

test("pub/sub delivers in order across clients", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (_server, open) => {
    const [sub, pub] = [await open(), await open()];
    const got = await collect(sub, "greet");
    for (let i = 0; i < 100; i++) pub.publish("greet", sc.encode(`m${i}`));
    await pub.flush();
    await until(() => got.length === 100, "100 messages");
    assert.deepEqual(got.map((m) => sc.decode(m.data)), Array.from({ length: 100 }, (_, i) => `m${i}`));
    assert.equal(got[0]!.subject, "greet");
  });
});

test("wildcards * and > match like NATS", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (_server, open) => {
    const nc = await open();
    const star = await collect(nc, "a.*");
    const full = await collect(nc, "a.>");
    const all = await collect(nc, ">");
    const mid = await collect(nc, "*.b.*");
    for (const s of ["a", "a.b", "a.b.c", "x.b.y", "a.c"]) nc.publish(s, sc.encode(s));
    await nc.flush();
    await until(() => all.length === 5, "five messages on >");
    await nc.flush();
    const subjects = (ms: Msg[]) => ms.map((m) => m.subject).sort();
    assert.deepEqual(subjects(star), ["a.b", "a.c"]);
    assert.deepEqual(subjects(full), ["a.b", "a.b.c", "a.c"]);
    assert.deepEqual(subjects(mid), ["a.b.c", "x.b.y"]);
    assert.deepEqual(subjects(all), ["a", "a.b", "a.b.c", "a.c", "x.b.y"]);
  });
});

test("queue groups split messages, each delivered once, while plain subscribers get all", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (_server, open) => {
    const [w1, w2, watcher, pub] = [await open(), await open(), await open(), await open()];
    const g1 = await collect(w1, "jobs", { queue: "workers" });
    const g2 = await collect(w2, "jobs", { queue: "workers" });
    const everything = await collect(watcher, "jobs");
    for (let i = 0; i < 400; i++) pub.publish("jobs", sc.encode(String(i)));
    await pub.flush();
    await until(() => g1.length + g2.length === 400 && everything.length === 400, "400 deliveries");
    await Promise.all([w1.flush(), w2.flush()]);
    assert.equal(g1.length + g2.length, 400);
    const ids = new Set([...g1, ...g2].map((m) => sc.decode(m.data)));
    assert.equal(ids.size, 400);
    assert.ok(g1.length > 50 && g2.length > 50, `split ${g1.length}/${g2.length}`);
  });
});

test("request/reply, and no-responders answers 503 at once", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (_server, open) => {
    const [svc, client] = [await open(), await open()];
    svc.subscribe("echo", { callback: (_e, m) => m.respond(sc.encode(`re:${sc.decode(m.data)}`)) });
    await svc.flush();
    const reply = await client.request("echo", sc.encode("hi"), { timeout: 2000 });
    assert.equal(sc.decode(reply.data), "re:hi");
    const started = Date.now();
    await assert.rejects(client.request("nobody.home", sc.encode("x"), { timeout: 4000 }), (e: Error & { code?: string }) => e.code === "503");
    assert.ok(Date.now() - started < 2000, "no-responders must not wait for the timeout");
  });
});

test("headers round trip through HPUB/HMSG; a client without headers gets the body only", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (server, open) => {
    const [sub, pub] = [await open(), await open()];
    const got = await collect(sub, "h.>");
    const raw = await RawClient.open(server.port);
    raw.write("CONNECT {\"headers\":false}\r\nSUB h.> 7\r\nPING\r\n");
    await raw.waitFor((t) => t.includes("PONG"));
    raw.clear();
    const h = headers();
    h.set("X-Trace", "abc");
    h.append("X-Multi", "1");
    h.append("X-Multi", "2");
    pub.publish("h.one", sc.encode("body"), { headers: h });
    await pub.flush();
    await until(() => got.length === 1, "the header message");
    assert.equal(sc.decode(got[0]!.data), "body");
    assert.equal(got[0]!.headers?.get("X-Trace"), "abc");
    assert.deepEqual(got[0]!.headers?.values("X-Multi"), ["1", "2"]);
    await raw.waitFor((t) => t.includes("body\r\n"));
    assert.equal(raw.text, "MSG h.one 7 4\r\nbody\r\n");
    raw.destroy();
  });
});

test("max_payload: the client refuses, a raw oversize PUB gets -ERR and is closed, others keep working", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({ maxPayload: 1024 }, async (server, open) => {
    const [sub, pub] = [await open(), await open()];
    assert.equal(pub.info?.max_payload, 1024);
    assert.throws(() => pub.publish("big", new Uint8Array(2000)), (e: Error & { code?: string }) => e.code === "MAX_PAYLOAD_EXCEEDED");
    const raw = await RawClient.open(server.port);
    raw.write("PUB big 2000\r\n");
    await raw.waitFor((t) => t.includes("-ERR 'Maximum Payload Violation'"));
    await raw.waitClosed();
    const got = await collect(sub, "small");
    pub.publish("small", new Uint8Array(1024));
    await pub.flush();
    await until(() => got.length === 1, "a message at exactly max_payload");
    assert.equal(got[0]!.data.length, 1024);
  });
});

test("ping/pong: flush and rtt work, raw PING gets PONG", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (server, open) => {
    const nc = await open();
    await nc.flush();
    const rtt = await nc.rtt();
    assert.ok(rtt >= 0 && rtt < 2000);
    const raw = await RawClient.open(server.port);
    raw.clear();
    raw.write("ping\r\n");
    await raw.waitFor((t) => t === "PONG\r\n");
    raw.destroy();
  });
});

test("UNSUB with max auto-unsubscribes on the server", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (server, open) => {
    const pub = await open();
    const raw = await RawClient.open(server.port);
    raw.write("SUB limited 9\r\nUNSUB 9 2\r\nSUB other 10\r\nPING\r\n");
    await raw.waitFor((t) => t.includes("PONG"));
    raw.clear();
    for (let i = 0; i < 5; i++) pub.publish("limited", sc.encode(`${i}`));
    pub.publish("other", sc.encode("end"));
    await pub.flush();
    await raw.waitFor((t) => t.includes("MSG other"));
    assert.equal(raw.text, "MSG limited 9 1\r\n0\r\nMSG limited 9 1\r\n1\r\nMSG other 10 3\r\nend\r\n");
    const official = await collect(pub, "capped", { max: 3 });
    for (let i = 0; i < 6; i++) pub.publish("capped", sc.encode(`${i}`));
    await pub.flush();
    await until(() => official.length === 3, "three messages");
    raw.destroy();
  });
});

test("verbose mode acknowledges every op with +OK; pedantic mode rejects wildcard publishes", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (server) => {
    const raw = await RawClient.open(server.port);
    raw.clear();
    raw.write('CONNECT {"verbose":true,"pedantic":true}\r\n');
    await raw.waitFor((t) => t === "+OK\r\n");
    raw.write("SUB v.x 1\r\nPUB v.x 2\r\nhi\r\nUNSUB 1\r\nPING\r\n");
    await raw.waitFor((t) => t.endsWith("PONG\r\n"));
    assert.equal(raw.text, "+OK\r\n+OK\r\nMSG v.x 1 2\r\nhi\r\n+OK\r\n+OK\r\nPONG\r\n");
    raw.clear();
    raw.write("PUB v.* 2\r\nhi\r\nSUB bad..subject 2\r\nPING\r\n");
    await raw.waitFor((t) => t.endsWith("PONG\r\n"));
    assert.equal(raw.text, "-ERR 'Invalid Publish Subject'\r\n-ERR 'Invalid Subject'\r\nPONG\r\n");
    assert.equal(raw.closed, false);
    raw.destroy();
    const nc = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false, verbose: true, pedantic: true });
    try {
      const got = await collect(nc, "v.official");
      nc.publish("v.official", sc.encode("ok"));
      await nc.flush();
      await until(() => got.length === 1, "a message to the verbose official client");
    } finally {
      await nc.close();
    }
  });
});

test("garbage on the NATS port gets -ERR and a closed connection; other clients keep working", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (server, open) => {
    const [sub, pub] = [await open(), await open()];
    const got = await collect(sub, "still.alive");
    const raw = await RawClient.open(server.port);
    assert.equal(server.connectionCount(), 3);
    raw.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x0d, 0x0a]));
    await raw.waitFor((t) => t.includes("-ERR 'Unknown Protocol Operation'"));
    await raw.waitClosed();
    await until(() => server.connectionCount() === 2, "the garbage connection to be dropped");
    const long = await RawClient.open(server.port);
    long.write("x".repeat(10_000));
    await long.waitFor((t) => t.includes("-ERR 'Maximum Control Line Exceeded'"));
    await long.waitClosed();
    pub.publish("still.alive", sc.encode("yes"));
    await pub.flush();
    await until(() => got.length === 1, "delivery after the garbage");
    assert.equal(sc.decode(got[0]!.data), "yes");
  });
});

test("frames split across TCP writes are reassembled", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withServer({}, async (server, open) => {
    const sub = await open();
    const got = await collect(sub, "split");
    const raw = await RawClient.open(server.port);
    for (const piece of ["P", "UB spl", "it 11\r", "\nhello", " world", "\r", "\nPI", "NG\r\n"]) {
      raw.write(piece);
      await sleep(10);
    }
    await raw.waitFor((t) => t.includes("PONG"));
    await until(() => got.length === 1, "the split message");
    assert.equal(sc.decode(got[0]!.data), "hello world");
    raw.destroy();
  });
});

test("a subscriber that does not read is dropped as a slow consumer; the publisher is unaffected", { timeout: TEST_TIMEOUT_MS }, async () => {
  const events: string[] = [];
  const logger = (_level: string, msg: string) => events.push(msg);
  await withServer({ maxPendingBytes: 1024 * 1024, logger }, async (server, open) => {
    const pub = await open();
    const slow = await RawClient.open(server.port);
    slow.write("SUB flood 1\r\nPING\r\n");
    await slow.waitFor((t) => t.includes("PONG"));
    slow.socket.pause();
    const watcher = await open();
    const seen = await collect(watcher, "flood");
    const payload = new Uint8Array(8 * 1024);
    for (let i = 0; i < 20_000 && server.connectionCount() === 3; i++) {
      pub.publish("flood", payload);
      if (i % 50 === 0) await pub.flush();
    }
    await until(() => events.some((m) => /slow consumer/i.test(m)), "a slow-consumer log event");
    await until(() => server.connectionCount() === 2, "the slow consumer to be dropped");
    await pub.flush();
    const before = seen.length;
    pub.publish("flood", payload);
    await pub.flush();
    await until(() => seen.length === before + 1, "delivery to the healthy watcher");
    slow.destroy();
  });
});

test("close() disconnects clients and frees the port", { timeout: TEST_TIMEOUT_MS }, async () => {
  const server = await startEmbeddedNats({ host: "127.0.0.1", port: 0 });
  const nc = await connect({ servers: `127.0.0.1:${server.port}`, reconnect: false });
  const closed = nc.closed();
  await server.close();
  await closed;
  assert.equal(nc.isClosed(), true);
  assert.equal(server.connectionCount(), 0);
  const again = await startEmbeddedNats({ host: "127.0.0.1", port: server.port });
  assert.equal(again.port, server.port);
  await again.close();
});

test("max_control_line applies to whole lines: 4096 by default, larger when configured", { timeout: TEST_TIMEOUT_MS }, async () => {
  const line = (bytes: number): string => `SUB ${"s".repeat(bytes - "SUB ".length - " 1".length)} 1`;
  await withServer({ port: 0 }, async (server) => {
    const fits = await RawClient.open(server.port);
    fits.write(`CONNECT {"verbose":true}\r\n${line(4096)}\r\n`);
    await fits.waitFor((t) => (t.match(/\+OK/g) ?? []).length === 2, "+OK for CONNECT and SUB");
    const over = await RawClient.open(server.port);
    over.write(`CONNECT {"verbose":false}\r\n${line(4097)}\r\n`);
    await over.waitFor((t) => t.includes("-ERR 'Maximum Control Line Exceeded'"));
    await over.waitClosed();
    fits.destroy();
  });
  await withServer({ port: 0, maxControlLine: 8192 }, async (server) => {
    const wide = await RawClient.open(server.port);
    wide.write(`CONNECT {"verbose":true}\r\n${line(8192)}\r\n`);
    await wide.waitFor((t) => (t.match(/\+OK/g) ?? []).length === 2, "+OK for an 8192-byte SUB");
    wide.destroy();
  });
});
