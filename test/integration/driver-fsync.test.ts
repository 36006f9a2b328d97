// The production driver with a real disk and a real (embedded) NATS server, its fdatasync (or its
// thread-pool write) held back by a gate: no ack leaves before the persist of its group commit
// completes, nothing is stepped while one is in flight, and what arrives meanwhile becomes the
// next group commit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { connect, createInbox } from "nats";
import { testBrokerConfig } from "../../sim/testing/broker-harness.js";
import { BrokerDriver, THREAD_POOL_WRITE_MIN_BYTES } from "../../src/io/broker-driver.js";
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

type GatedMethod = "fdatasyncAsync" | "writeAsync";

/** Runs the broker with `method` of NodeDisk held back by a gate, and checks acks and stepping against it. */
async function gatedPersist(method: GatedMethod, syncPolicy: "always" | "never", valueBytes: number): Promise<void> {
  const nats = await startEmbeddedNats({ host: "127.0.0.1", port: 0 });
  const dataDir = mkdtempSync(join(tmpdir(), "liftbridge-driver-fsync-"));
  const servers = `127.0.0.1:${nats.port}`;
  const brokerNc = await connect({ servers, reconnect: false });
  const clientNc = await connect({ servers, reconnect: false });
  const held: (() => void)[] = [];
  let gated = false;
  const original = Object.getOwnPropertyDescriptor(NodeDisk.prototype, method)!;
  const real = original.value as (this: NodeDisk, ...args: unknown[]) => void;
  Object.defineProperty(NodeDisk.prototype, method, {
    ...original,
    value: function (this: NodeDisk, ...args: unknown[]): void {
      if (gated) held.push(() => real.apply(this, args));
      else real.apply(this, args);
    },
  });
  try {
    const logger = createLogger({ level: "error", format: "json", destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const driver = new BrokerDriver({ dataDir, config: testBrokerConfig({ syncPolicy }), nats: brokerNc, logger });
    const created = await driver.request({ kind: "createStream", name: "s", subject: "s.in", group: "", replicationFactor: 1, partitions: 1, overrides: {} });
    assert.ok(created.ok, JSON.stringify(created));
    const inbox = createInbox();
    const acked: number[] = [];
    clientNc.subscribe(inbox, { callback: (_e, m) => acked.push(decodeAckForSim(m.data)!.offset) });
    await clientNc.flush();
    const publish = (i: number): void =>
      clientNc.publish("s.in", encodePublishEnvelope({ value: new Uint8Array(valueBytes).fill(i), ackInbox: inbox, correlationId: `c${i}`, ackPolicy: AckPolicy.LEADER }));

    gated = true;
    publish(0);
    await until("the first group commit's fdatasync", () => held.length === 1);
    for (let i = 1; i < 5; i++) publish(i);
    await clientNc.flush();
    await sleep(200);
    assert.deepEqual(acked, [], "an ack left before its fdatasync completed");
    assert.equal(held.length, 1, "a second group commit started while the first fdatasync was in flight");

    // A group commit may persist more than one file (log, then index): release one held call at
    // a time, and give each release time to show its effect (an ack crosses NATS) before the
    // next, so the next group commit's call is never released by mistake.
    const releaseUntil = async (what: string, condition: () => boolean): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        if (held.length === 0) {
          await sleep(5);
          continue;
        }
        held.shift()!();
        await until(what, condition, 300).catch(() => undefined);
      }
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
    Object.defineProperty(NodeDisk.prototype, method, original);
    await clientNc.close();
    await brokerNc.close();
    await nats.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

test("acks wait for their group commit's fdatasync; inputs wait while one is in flight", { timeout: 30_000 }, () => gatedPersist("fdatasyncAsync", "always", 1));

test("a group commit's write in the thread pool: acks wait for it; inputs wait while it is in flight", { timeout: 30_000 }, () =>
  gatedPersist("writeAsync", "never", THREAD_POOL_WRITE_MIN_BYTES));
