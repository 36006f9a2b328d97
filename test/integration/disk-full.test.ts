// Integration: a full disk on the real process (issue 10). The test mounts a small tmpfs as the data
// directory (root only; skipped with the reason otherwise), with a ballast file on it, and
// publishes until the disk is full: every publisher gets an answer (error acks, never silence),
// reads and metadata go on; then it deletes the ballast and writes resume without a restart, and
// nothing acked is lost (read back, after SIGTERM and after SIGKILL). With the planted bug
// noLeaderErrorAck the same check finds LEADER publishers left without an answer.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInbox, type Subscription } from "nats";
import { rejection } from "../../jepsen-like/grpc-fixture.js";
import { createStreamForNats, decodeAck, startEnv, subscribeRead, type IntegrationEnv } from "../../jepsen-like/integration-fixture.js";
import { AckError, AckPolicy } from "../../src/io/wire/api-types.js";
import { encodePublishEnvelope } from "../../src/io/wire/envelope.js";
import { mountTmpfs, unmountTmpfs } from "../../jepsen-like/tmpfs.js";

const T = { timeout: 90_000 };
const MODE = { name: "embedded NATS", external: false, skip: false as const };
const VALUE_BYTES = 8 * 1024;
const ANSWER_TIMEOUT_MS = 3000;

/** Publishes enveloped messages on NATS and matches their acks on one inbox by correlation id. */
class AckingPublisher {
  private readonly waiting = new Map<string, (ack: { offset: number; ok: boolean }) => void>();
  private readonly inbox = createInbox();
  private sub: Subscription | undefined;

  async start(env: IntegrationEnv): Promise<void> {
    this.sub = env.nc.subscribe(this.inbox);
    void (async () => {
      for await (const m of this.sub!) {
        const ack = decodeAck(m.data);
        this.waiting.get(ack.correlationId)?.({ offset: Number(ack.offset), ok: ack.ackError === AckError.OK });
        this.waiting.delete(ack.correlationId);
      }
    })();
    await env.nc.flush();
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  /** The ack of one publish, or undefined when none came within ANSWER_TIMEOUT_MS. */
  publish(env: IntegrationEnv, subject: string, id: string, policy: number): Promise<{ offset: number; ok: boolean } | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiting.delete(id); resolve(undefined); }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, (ack) => { clearTimeout(timer); resolve(ack); });
      const value = new TextEncoder().encode(id.padEnd(VALUE_BYTES, "."));
      env.nc.publish(subject, encodePublishEnvelope({ key: null, value, headers: [], ackInbox: this.inbox, correlationId: id, ackPolicy: policy }));
    });
  }
}

/** What filling the disk produced. */
interface Fill {
  readonly acked: Map<string, number>;
  readonly errors: { LEADER: number; ALL: number };
  readonly unanswered: string[];
}

/** Publishes LEADER and ALL messages in turn until both got error acks (or publishers got silence). */
async function fillDisk(env: IntegrationEnv, pub: AckingPublisher, subject: string, prefix: string): Promise<Fill> {
  const fill: Fill = { acked: new Map(), errors: { LEADER: 0, ALL: 0 }, unanswered: [] };
  for (let i = 0; i < 4000; i++) {
    if (fill.errors.LEADER >= 3 && fill.errors.ALL >= 3) break;
    if (fill.unanswered.length >= 2) break;
    const policy = i % 2 === 0 ? "LEADER" : "ALL";
    const id = `${prefix}${i}`;
    const ack = await pub.publish(env, subject, id, policy === "LEADER" ? AckPolicy.LEADER : AckPolicy.ALL);
    if (ack === undefined) fill.unanswered.push(id);
    else if (ack.ok) fill.acked.set(id, ack.offset);
    else fill.errors[policy]++;
  }
  return fill;
}

/** Every record of the partition as id -> offset (the id is the value up to its padding). */
async function readBack(env: IntegrationEnv, stream: string): Promise<Map<string, number>> {
  const r = await subscribeRead(env.client, { stream, partition: 0, startPosition: "EARLIEST", stopPosition: "STOP_LATEST" }, Infinity, 20_000);
  // STOP_LATEST ends with Liftbridge's "Stop offset reached"; anything else is a failed read.
  if (r.error !== undefined) assert.equal(r.error.details, "Stop offset reached", `read of ${stream} ended with ${r.error.message}`);
  const out = new Map<string, number>();
  r.messages.forEach((m, i) => {
    assert.equal(Number(m.offset), i, "offsets are contiguous from 0");
    out.set(m.value.toString("utf8").replace(/\.+$/, ""), Number(m.offset));
  });
  return out;
}

function assertAllAckedThere(stored: Map<string, number>, acked: Map<string, number>, when: string): void {
  for (const [id, offset] of acked) assert.equal(stored.get(id), offset, `${when}: acked ${id} is at offset ${offset}`);
}

const mount = mountTmpfs(16, "lbts-full-", "the full-disk test runs as root in CI");

describe("full disk (tmpfs, real process)", { skip: "skip" in mount ? mount.skip : false }, () => {
  const mountDir = "dir" in mount ? mount.dir : "";
  after(() => { if (mountDir !== "") unmountTmpfs(mountDir); });

  test("publishers get error acks, reads go on, writes resume when space is freed, nothing acked is lost", T, async () => {
    const dataDir = join(mountDir, "data");
    mkdirSync(dataDir);
    const ballast = join(mountDir, "ballast");
    writeFileSync(ballast, Buffer.alloc(6 * 1024 * 1024, 7));
    const env = await startEnv(MODE, { dataDir, configYaml: "streams:\n  segment.max.bytes: 1048576\n" });
    const pub = new AckingPublisher();
    try {
      await createStreamForNats(env, { name: "other", subject: "other", partitions: 1 });
      await createStreamForNats(env, { name: "full", subject: "full", partitions: 1 });
      await pub.start(env);
      const other = new Map<string, number>();
      for (let i = 0; i < 5; i++) {
        const ack = await pub.publish(env, "other", `o${i}`, AckPolicy.ALL);
        assert.ok(ack?.ok);
        other.set(`o${i}`, ack.offset);
      }

      const fill = await fillDisk(env, pub, "full", "f");
      assert.deepEqual(fill.unanswered, [], "every publish gets an answer");
      assert.ok(fill.errors.LEADER >= 3 && fill.errors.ALL >= 3, `error acks for both policies: ${JSON.stringify(fill.errors)}`);
      assert.ok(fill.acked.size > 100, `the disk took ${fill.acked.size} messages first`);

      // While full: a gRPC Publish fails (it is not left waiting), reads and metadata go on.
      const refused = await rejection(env.client.publish({ stream: "full", partition: 0, value: Buffer.alloc(VALUE_BYTES), ackPolicy: "LEADER" }, { timeoutMs: 10_000 }));
      assert.notEqual(refused.code, 4, "an error, not DEADLINE_EXCEEDED");
      assertAllAckedThere(await readBack(env, "full"), fill.acked, "while full");
      assertAllAckedThere(await readBack(env, "other"), other, "other stream while full");
      await env.client.fetchMetadata({}, { timeoutMs: 5000 });
      // A CreateStream on the full disk is answered (taken, or refused with RESOURCE_EXHAUSTED), in time.
      const during = await env.client.createStream({ name: "during", subject: "during", partitions: 1 }, { timeoutMs: 10_000 }).then(() => "created", (e: { code?: number }) => e.code);
      assert.ok(during === "created" || during === 8, `CreateStream while full: ${String(during)}`);

      // Space returns: writes resume without a restart.
      rmSync(ballast);
      const resumed = new Map<string, number>();
      const deadline = Date.now() + 15_000;
      for (let i = 0; resumed.size < 50 && Date.now() < deadline; i++) {
        const ack = await pub.publish(env, "full", `r${i}`, i % 2 === 0 ? AckPolicy.LEADER : AckPolicy.ALL);
        assert.notEqual(ack, undefined, "every publish gets an answer");
        if (ack!.ok) resumed.set(`r${i}`, ack!.offset);
      }
      assert.equal(resumed.size, 50, "writes resumed after the ballast was deleted");
      const ackedOtherAfter = await pub.publish(env, "other", "o-after", AckPolicy.LEADER);
      assert.ok(ackedOtherAfter?.ok, "other partitions write again too");
      other.set("o-after", ackedOtherAfter.offset);

      const allAcked = new Map([...fill.acked, ...resumed]);
      const offsets = [...allAcked.values()];
      assert.equal(new Set(offsets).size, offsets.length, "no acked offset was reused");
      assertAllAckedThere(await readBack(env, "full"), allAcked, "after space returned");
      pub.stop();
      await env.restart(false);
      assertAllAckedThere(await readBack(env, "full"), allAcked, "after SIGTERM");
      assertAllAckedThere(await readBack(env, "other"), other, "other stream after SIGTERM");
      await env.restart(true);
      const afterKill = await readBack(env, "full");
      assertAllAckedThere(afterKill, allAcked, "after SIGKILL");
      await env.client.createStream({ name: "later", subject: "later", partitions: 1 }, { timeoutMs: 10_000 });
      await env.restart(true);
      const names = ((await env.client.fetchMetadata({}, { timeoutMs: 5000 }))["streamMetadata"] as Array<{ name: string }>).map((m) => m.name);
      for (const name of ["other", "full", "later"]) assert.ok(names.includes(name), `stream ${name} survives: ${names.join()}`);
      assert.equal(afterKill.size, allAcked.size, "nothing but acked messages is stored (refused writes were cut back)");
    } finally {
      pub.stop();
      await env.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(ballast, { force: true });
    }
  });

  test("planted bug noLeaderErrorAck: the same check finds LEADER publishers without an answer", T, async () => {
    const dataDir = join(mountDir, "planted");
    mkdirSync(dataDir);
    const ballast = join(mountDir, "ballast2");
    writeFileSync(ballast, Buffer.alloc(10 * 1024 * 1024, 7));
    const env = await startEnv(MODE, { dataDir, env: { LBTS_PLANTED_BUGS: "noLeaderErrorAck" } });
    const pub = new AckingPublisher();
    try {
      await createStreamForNats(env, { name: "full", subject: "full", partitions: 1 });
      await pub.start(env);
      const fill = await fillDisk(env, pub, "full", "p");
      assert.ok(fill.unanswered.length > 0, "with the bug planted, LEADER publishers get silence: the check fails");
      assert.ok(fill.errors.ALL > 0, "ALL publishers still get their error acks");
    } finally {
      pub.stop();
      await env.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(ballast, { force: true });
    }
  });
});
