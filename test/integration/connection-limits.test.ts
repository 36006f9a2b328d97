// Connection limits on the real process (issue 10): the gRPC port closes idle connections after
// grpc.connection.idle.timeout (but not one with a call open) and refuses connections past
// grpc.max.connections; the embedded NATS server closes connections that send no CONNECT within
// its auth timeout and refuses connections past max_connections, with nats-server's errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { startBrokerProcess, type BrokerProcess } from "../../jepsen-like/broker-process.js";
import { createApiClient } from "../../jepsen-like/grpc-test-client.js";
import { waitUntil, within } from "../../jepsen-like/integration-fixture.js";

function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes("://") ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** A TCP connection and what happened to it: the bytes it received and when it closed. */
interface Probe {
  readonly socket: Socket;
  received: string;
  closedAtMs: number | undefined;
  readonly openedAtMs: number;
}

function probe(address: string): Promise<Probe> {
  const { host, port } = hostPort(address);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const p: Probe = { socket, received: "", closedAtMs: undefined, openedAtMs: performance.now() };
    socket.on("data", (d: Buffer) => { p.received += d.toString("latin1"); });
    socket.on("error", () => undefined);
    socket.on("close", () => { p.closedAtMs = performance.now(); });
    socket.once("connect", () => resolve(p));
    socket.once("error", reject);
  });
}

async function withBroker(options: Parameters<typeof startBrokerProcess>[0], body: (b: BrokerProcess) => Promise<void>): Promise<void> {
  const broker = await startBrokerProcess(options);
  try {
    await body(broker);
  } finally {
    await broker.stop();
  }
}

test("gRPC: an idle connection is closed after grpc.connection.idle.timeout; one with a call open is not", { timeout: 30_000 }, async () => {
  await withBroker({ configYaml: "grpc.connection.idle.timeout: 1s\n" }, async (broker) => {
    const client = createApiClient(broker.grpcAddress);
    try {
      await client.createStream({ subject: "idle.s", name: "idle-s" });
      const sub = client.subscribe({ stream: "idle-s", partition: 0, startPosition: "EARLIEST" });
      const silent = await probe(broker.grpcAddress); // never sends a byte
      const session = http2Connect(`http://${broker.grpcAddress}`);
      session.on("error", () => undefined);
      let sessionClosedAt: number | undefined;
      session.on("close", () => { sessionClosedAt = performance.now(); });
      const openedAt = performance.now();
      await waitUntil(() => silent.closedAtMs !== undefined && sessionClosedAt !== undefined, 8000, "idle connections closed");
      const silentMs = silent.closedAtMs! - silent.openedAtMs;
      const sessionMs = sessionClosedAt! - openedAt;
      console.log(`idle timeout 1 s: silent TCP connection closed after ${Math.round(silentMs)} ms, idle HTTP/2 session after ${Math.round(sessionMs)} ms`);
      assert.ok(silentMs >= 900 && sessionMs >= 900, "not closed before the timeout");
      // The subscriber's connection has a call open: it still gets what is published now.
      await client.publish({ stream: "idle-s", value: Buffer.from("late"), ackPolicy: "LEADER" });
      const first = await within(sub.messages.next(), 5000, "handshake");
      const late = await within(sub.messages.next(), 5000, "message after the idle timeout");
      assert.equal(first.done, false);
      assert.equal(late.value?.value.toString(), "late");
      sub.cancel();
    } finally {
      client.close();
    }
  });
});

test("gRPC: connections past grpc.max.connections are closed at once, and accepted again below it", { timeout: 30_000 }, async () => {
  await withBroker({ configYaml: "grpc.max.connections: 3\n" }, async (broker) => {
    const held = [await probe(broker.grpcAddress), await probe(broker.grpcAddress), await probe(broker.grpcAddress)];
    const refused = await probe(broker.grpcAddress);
    await waitUntil(() => refused.closedAtMs !== undefined, 3000, "the connection past the max closed");
    assert.ok(refused.closedAtMs! - refused.openedAtMs < 1000, "refused at once");
    assert.ok(held.every((p) => p.closedAtMs === undefined), "the held connections stay open");
    held[0]!.socket.destroy();
    await waitUntil(() => held[0]!.closedAtMs !== undefined, 3000, "a held connection closed");
    const client = createApiClient(broker.grpcAddress);
    try {
      assert.equal(await within(client.healthCheck(), 5000, "health check below the max"), "SERVING");
    } finally {
      client.close();
      for (const p of held) p.socket.destroy();
    }
    assert.match(broker.output(), /grpc\.max\.connections reached/);
  });
});

test("embedded NATS: no CONNECT within authorization.timeout closes the connection; past max_connections is refused", { timeout: 30_000 }, async () => {
  // The broker itself holds two connections (control and data path).
  await withBroker({ natsConfigExtra: "max_connections: 4\nauthorization { timeout: 0.5 }\n" }, async (broker) => {
    const silent = await probe(broker.natsUrl);
    await waitUntil(() => silent.closedAtMs !== undefined, 5000, "a connection without CONNECT closed");
    assert.match(silent.received, /^INFO /);
    assert.match(silent.received, /-ERR 'Authentication Timeout'/);
    const closedMs = silent.closedAtMs! - silent.openedAtMs;
    assert.ok(closedMs >= 400 && closedMs < 4000, `closed after ${closedMs} ms`);
    const connected = [await probe(broker.natsUrl), await probe(broker.natsUrl)];
    for (const p of connected) p.socket.write("CONNECT {\"verbose\":false}\r\nPING\r\n");
    await waitUntil(() => connected.every((p) => p.received.includes("PONG")), 3000, "two clients connected");
    const refused = await probe(broker.natsUrl);
    await waitUntil(() => refused.closedAtMs !== undefined, 3000, "the connection past max_connections closed");
    assert.match(refused.received, /-ERR 'maximum connections exceeded'/);
    await new Promise((r) => setTimeout(r, 700)); // past the auth timeout: CONNECTed clients stay
    assert.ok(connected.every((p) => p.closedAtMs === undefined), "connected clients are kept");
    for (const p of connected) p.socket.destroy();
  });
});
