// The production driver with a real disk and a real (embedded) NATS server, its fdatasync held
// back by a gate: no ack leaves before the fdatasync of its group commit completes, nothing is
// stepped while one is in flight, and what arrives meanwhile becomes the next group commit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { connect, createInbox } from "nats";
import { testBrokerConfig } from "../../sim/testing/broker-harness.js";
import { BrokerDriver } from "../../src/io/broker-driver.js";
import { decodeAckForSim } from "../../src/io/broker-wire-codec.js";
import { startEmbeddedNats } from "../../src/io/embedded-nats/server.js";
import { createLogger } from "../../src/io/logger.js";
import { NodeDisk } from "../../src/io/node-disk.js";
import { AckPolicy } from "../../src/io/wire/api-types.js";
import { encodePublishEnvelope } from "../../src/io/wire/envelope.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, condition: () => boolean, boundMs = 5000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test("acks wait for their group commit's fdatasync; inputs wait while one is in flight", { timeout: 30_000 }, async () => {
  const nats = await startEmbeddedNats({ host: "127.0.0.1", port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), "liftbridge-driver-fsync-"));
  const servers = `127.0.0.1:${nats.port}`;
  const brokerNc = await connect({ servers, reconnect: false });
  const clientNc = await connect({ servers, reconnect: false });
  const held: (() => void)[] = [];
  let gated = false;
  const original = Object.getOwnPropertyDescriptor(NodeDisk.prototype, "fdatasyncAsync")!;
  const realSync = original.value as NodeDisk["fdatasyncAsync"];
  NodeDisk.prototype.fdatasyncAsync = function (this: NodeDisk, path, done): void {
    if (gated) held.push(() => realSync.call(this, path, done));
    else realSync.call(this, path, done);
  };
  try {
    const logger = createLogger({ level: "error", format: "json", destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const driver = new BrokerDriver({ dataDir, config: testBrokerConfig({ syncPolicy: "always" }), nats: brokerNc, logger });
    const created = await driver.request({ kind: "createStream", name: "s", subject: "s.in", group: "", replicationFactor: 1, partitions: 1, overrides: {} });
    assert.ok(created.ok, JSON.stringify(created));
    const inbox = createInbox();
    const acked: number[] = [];
    clientNc.subscribe(inbox, { callback: (_e, m) => acked.push(decodeAckForSim(m.data)!.offset) });
    await clientNc.flush();
    const publish = (i: number): void =>
      clientNc.publish("s.in", encodePublishEnvelope({ value: new Uint8Array([i]), ackInbox: inbox, correlationId: `c${i}`, ackPolicy: AckPolicy.LEADER }));

    gated = true;
    publish(0);
    await until("the first group commit's fdatasync", () => held.length === 1);
    for (let i = 1; i < 5; i++) publish(i);
    await clientNc.flush();
    await sleep(200);
    assert.deepEqual(acked, [], "an ack left before its fdatasync completed");
    assert.equal(held.length, 1, "a second group commit started while the first fdatasync was in flight");

    // A group commit may sync more than one file (log, then index): release one sync at a time.
    const releaseUntil = async (what: string, condition: () => boolean): Promise<void> => {
      await until(what, () => {
        if (!condition() && held.length > 0) held.shift()!();
        return condition();
      });
    };
    await releaseUntil("the first ack", () => acked.length > 0);
    assert.deepEqual(acked, [0]);
    await until("the second group commit's fdatasync", () => held.length === 1);
    await sleep(100);
    assert.deepEqual(acked, [0], "messages 1-4 were acked before their fdatasync completed");
    await releaseUntil("the acks of messages 1-4", () => acked.length === 5);
    assert.deepEqual(acked, [0, 1, 2, 3, 4]);

    gated = false;
    const meta = await driver.request({ kind: "fetchPartitionMetadata", stream: "s", partition: 0 });
    assert.ok(meta.ok && meta.value.kind === "partitionMetadata");
    assert.equal(meta.value.metadata.highWatermark, 4);
    await driver.shutdown();
  } finally {
    Object.defineProperty(NodeDisk.prototype, "fdatasyncAsync", original);
    await clientNc.close();
    await brokerNc.close();
    await nats.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
