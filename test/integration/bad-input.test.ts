// Integration: bad input against a real broker: garbage bytes on the NATS port (-ERR, connection
// closed, everyone else keeps being served), garbage on the gRPC port, unknown streams and invalid
// subjects through every RPC; the process stays up and stored data stays readable.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { status as Status } from "@grpc/grpc-js";
import {
  collectNats, decodeAck, natsModes, startEnv, subscribeRead, waitForHighWatermark, within, type IntegrationEnv,
} from "../../jepsen-like/integration-fixture.js";
import { AckPolicy } from "../../src/io/wire/api-types.js";
import { encodePublishEnvelope } from "../../src/io/wire/envelope.js";
import { rejection as rejects } from "../../jepsen-like/grpc-fixture.js";

const T = { timeout: 20_000 };
const HOOK = { timeout: 60_000 };
const enc = new TextEncoder();

/** Connects to host:port, waits for the first bytes if `greeting`, sends `bytes`; everything received until the server closes. */
function sendRaw(hostPort: string, bytes: Uint8Array, greeting: boolean): Promise<{ received: string; closed: boolean }> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(":")), Number(hostPort.slice(hostPort.lastIndexOf(":") + 1))];
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    let received = "";
    let sent = false;
    const send = (): void => {
      if (sent) return;
      sent = true;
      socket.write(bytes);
    };
    const timer = setTimeout(() => { socket.destroy(); resolve({ received, closed: false }); }, 5000);
    socket.on("connect", () => { if (!greeting) send(); });
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
      send();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => { clearTimeout(timer); resolve({ received, closed: true }); });
  });
}

const hostPortOf = (url: string): string => url.replace(/^nats:\/\//, "");

for (const mode of natsModes()) {
  describe(`bad input (${mode.name})`, { skip: mode.skip }, () => {
    let env: IntegrationEnv;
    before(async () => {
      env = await startEnv(mode);
      await env.client.createStream({ name: "bad-ok", subject: "bad.ok" });
      await env.client.publish({ stream: "bad-ok", value: Buffer.from("kept"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
    }, HOOK);
    after(async () => { await env?.stop(); }, HOOK);

    const stillServing = async (marker: string): Promise<void> => {
      assert.equal(env.nc.isClosed(), false);
      const hw = Number(((await env.client.fetchPartitionMetadata("bad-ok", 0))["metadata"] as { highWatermark: string }).highWatermark);
      env.nc.publish("bad.ok", enc.encode(marker));
      await env.nc.flush();
      await waitForHighWatermark(env.client, "bad-ok", 0, hw + 1);
      const all = await subscribeRead(env.client, { stream: "bad-ok", startPosition: "EARLIEST", stopPosition: "STOP_LATEST" });
      assert.equal(all.messages[0]?.value.toString(), "kept");
      assert.equal(all.messages.at(-1)?.value.toString(), marker);
    };

    test("garbage on the NATS port gets -ERR and a closed connection; others keep being served", T, async () => {
      // [bytes, -ERR expected]: nats-server 2.9 closes a PUB with a bad size without any -ERR.
      const garbage: Array<[Uint8Array, boolean]> = [
        [enc.encode("HELLO WORLD\r\n"), true],
        [new Uint8Array([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a]), true],
        [enc.encode("CONNECT {\"verbose\":false}\r\nPUB\r\n"), true],
        [enc.encode("CONNECT {\"verbose\":false}\r\nPUB bad.ok notanumber\r\n"), false],
      ];
      for (const [i, [bytes, expectErr]] of garbage.entries()) {
        const out = await sendRaw(hostPortOf(env.natsUrl), bytes, true);
        assert.match(out.received, /^INFO /, `case ${i}`);
        if (expectErr) assert.match(out.received, /-ERR /, `case ${i}: ${JSON.stringify(out.received.slice(-200))}`);
        assert.equal(out.closed, true, `case ${i} closed`);
        await stillServing(`after-nats-garbage-${i}`);
      }
    });

    test("garbage on the gRPC port closes that connection only", T, async () => {
      for (const bytes of [enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), new Uint8Array(64).fill(0xab)]) {
        const out = await sendRaw(env.broker.grpcAddress, bytes, false);
        assert.equal(out.closed, true);
      }
      assert.equal(await env.client.healthCheck(), "SERVING");
      await stillServing("after-grpc-garbage");
    });

    test("unknown streams through every RPC", T, async () => {
      const checks: Array<[string, Promise<unknown>, number]> = [
        ["DeleteStream", env.client.deleteStream("bad-none"), Status.NOT_FOUND],
        ["PauseStream", env.client.pauseStream({ name: "bad-none" }), Status.NOT_FOUND],
        ["SetStreamReadonly", env.client.setStreamReadonly({ name: "bad-none", readonly: true }), Status.NOT_FOUND],
        ["FetchPartitionMetadata", env.client.fetchPartitionMetadata("bad-none", 0), Status.NOT_FOUND],
        ["Publish", env.client.publish({ stream: "bad-none", value: Buffer.from("x") }, { timeoutMs: 3000 }), Status.NOT_FOUND],
      ];
      for (const [name, call, code] of checks) assert.equal((await rejects(call)).code, code, name);
      const sub = await subscribeRead(env.client, { stream: "bad-none", startPosition: "EARLIEST" });
      assert.equal(sub.error?.code, Status.NOT_FOUND);
      const meta = await env.client.fetchMetadata({ streams: ["bad-none"] });
      assert.equal((meta["streamMetadata"] as Array<{ error: string }>)[0]!.error, "UNKNOWN_STREAM");
      // A subject no stream listens on: no ack arrives, so a Publish with a deadline runs out.
      const lost = await rejects(env.client.publishToSubject({ subject: "bad.nobody.listens", value: Buffer.from("x"), ackPolicy: "LEADER" }, { timeoutMs: 500 }));
      assert.equal(lost.code, Status.DEADLINE_EXCEEDED);
      await stillServing("after-unknown");
    });

    test("invalid subjects are refused with InvalidArgument", T, async () => {
      for (const subject of ["", "a b", "a..b", ".a", "a.", "a.>.b", "a\tb"]) {
        const e = await rejects(env.client.createStream({ name: "bad-subject", subject }));
        assert.equal(e.code, Status.INVALID_ARGUMENT, JSON.stringify(subject));
      }
      for (const subject of ["", "a b", "a..b", "a.*", "a.>"]) {
        const e = await rejects(env.client.publishToSubject({ subject, value: Buffer.from("x"), ackPolicy: "LEADER" }, { timeoutMs: 2000 }));
        assert.equal(e.code, Status.INVALID_ARGUMENT, `PublishToSubject ${JSON.stringify(subject)}: ${e.code} ${e.details}`);
      }
      await stillServing("after-invalid-subjects");
    });

    test("an ack inbox that is not a publish subject is refused (gRPC) or gets no ack (NATS), never injected", T, async () => {
      // Written into the broker's own NATS connection, "x 0\r\nPUB ..." would publish on the
      // broker's behalf, and a malformed PUB would get the broker disconnected.
      const evil = ["x 0\r\nPUB bad.injected 2\r\nhi", "a b", "a\tb", "a..b", "a.*", "a.>", ".a"];
      const injected = env.nc.subscribe("bad.injected");
      const acks = env.nc.subscribe("bad.evil.acks.>");
      await env.nc.flush();
      for (const ackInbox of evil) {
        const e = await rejects(env.client.publish({ stream: "bad-ok", value: Buffer.from("x"), ackInbox, ackPolicy: "LEADER" }, { timeoutMs: 3000 }));
        assert.equal(e.code, Status.INVALID_ARGUMENT, `Publish with ackInbox ${JSON.stringify(ackInbox)}: ${e.code} ${e.details}`);
      }
      const hw = Number(((await env.client.fetchPartitionMetadata("bad-ok", 0))["metadata"] as { highWatermark: string }).highWatermark);
      for (const ackInbox of evil) {
        env.nc.publish("bad.ok", encodePublishEnvelope({ value: enc.encode(`evil ${ackInbox}`), ackInbox, correlationId: "c", ackPolicy: AckPolicy.LEADER }));
      }
      env.nc.publish("bad.ok", encodePublishEnvelope({ value: enc.encode("good"), ackInbox: "bad.evil.acks.1", correlationId: "g", ackPolicy: AckPolicy.LEADER }));
      await env.nc.flush();
      const [good] = await collectNats(acks, 1, 5000);
      assert.equal(decodeAck(good!).correlationId, "g");
      // Stored (the data is fine; only its ack has nowhere to go) and nothing was injected.
      await waitForHighWatermark(env.client, "bad-ok", 0, hw + evil.length + 1);
      await env.nc.flush();
      assert.equal(injected.getProcessed(), 0);
      await stillServing("after-evil-ack-inboxes");
    });

    test("the broker logged no fatal error and is still running", T, async () => {
      const fatal = env.broker.output().split("\n").filter((l) => l.includes("\"level\":60") || l.includes("Uncaught") || l.includes("unhandled"));
      assert.deepEqual(fatal, []);
      assert.doesNotThrow(() => process.kill(env.broker.pid, 0));
      await within(env.client.fetchMetadata({}), 5000, "FetchMetadata");
    });
  });
}
