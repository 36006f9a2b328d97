// Integration: how NATS messages reach streams: wildcard subjects (`*` and `>`, per partition) and
// queue groups (streams in one group split a subject's messages; other groups each get all).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createStreamForNats, natsModes, startEnv, subscribeRead, waitUntil, type IntegrationEnv } from "../../jepsen-like/integration-fixture.js";

const T = { timeout: 20_000 };
const HOOK = { timeout: 60_000 };
const enc = new TextEncoder();

for (const mode of natsModes()) {
  describe(`wildcard and queue-group streams (${mode.name})`, { skip: mode.skip }, () => {
    let env: IntegrationEnv;
    before(async () => { env = await startEnv(mode); }, HOOK);
    after(async () => { await env?.stop(); }, HOOK);

    const newest = async (stream: string, partition = 0): Promise<number> =>
      Number(((await env.client.fetchPartitionMetadata(stream, partition, { timeoutMs: 2000 }))["metadata"] as { highWatermark: string }).highWatermark);
    const readAll = async (stream: string, partition = 0) =>
      (await subscribeRead(env.client, { stream, partition, startPosition: "EARLIEST", stopPosition: "STOP_LATEST" })).messages;

    test("a `*` stream takes every matching subject, records the subject, and ignores the rest", T, async () => {
      await createStreamForNats(env, { name: "wc-star", subject: "events.*", partitions: 2 });
      for (const subject of ["events.a", "events", "events.b", "events.a.b", "other.a", "events.c", "events.x.1"]) {
        env.nc.publish(subject, enc.encode(`on ${subject}`));
      }
      await env.nc.flush();
      await waitUntil(async () => (await newest("wc-star", 0)) >= 2 && (await newest("wc-star", 1)) >= 0, 5000, "wildcard messages");
      const p0 = await readAll("wc-star", 0);
      assert.deepEqual(p0.map((m) => [m.subject, m.value.toString()]), [
        ["events.a", "on events.a"], ["events.b", "on events.b"], ["events.c", "on events.c"],
      ]);
      // Partition 1 listens on `events.*.1`.
      const p1 = await readAll("wc-star", 1);
      assert.deepEqual(p1.map((m) => [m.subject, m.value.toString()]), [["events.x.1", "on events.x.1"]]);
    });

    test("a `>` stream takes every subject below it", T, async () => {
      await createStreamForNats(env, { name: "wc-gt", subject: "logs.>" });
      for (const subject of ["logs", "logs.a", "logs.a.b.c", "logsx.a"]) env.nc.publish(subject, enc.encode(subject));
      await env.nc.flush();
      await waitUntil(async () => (await newest("wc-gt")) >= 1, 5000, "> messages");
      assert.deepEqual((await readAll("wc-gt")).map((m) => m.subject), ["logs.a", "logs.a.b.c"]);
    });

    test("streams in one group split the messages; another group and a groupless stream get them all", T, async () => {
      const streams = [["qg-a1", "g1"], ["qg-a2", "g1"], ["qg-b", "g2"], ["qg-none", ""]] as const;
      for (const [name, group] of streams) await createStreamForNats(env, { name, subject: "jobs.work", group });
      const n = 100;
      for (let i = 0; i < n; i++) env.nc.publish("jobs.work", enc.encode(`job${i}`));
      await env.nc.flush();
      const all = Array.from({ length: n }, (_, i) => `job${i}`);
      await waitUntil(async () => (await newest("qg-b")) === n - 1 && (await newest("qg-none")) === n - 1, 5000, "all jobs in qg-b and qg-none");
      await waitUntil(async () => (await newest("qg-a1")) + (await newest("qg-a2")) + 2 >= n, 5000, "jobs split over g1");
      const a1 = (await readAll("qg-a1")).map((m) => m.value.toString());
      const a2 = (await readAll("qg-a2")).map((m) => m.value.toString());
      assert.equal(a1.length + a2.length, n, `g1 got ${a1.length} + ${a2.length}`);
      assert.ok(a1.length > 0 && a2.length > 0, `both members of g1 get work (${a1.length}/${a2.length})`);
      assert.deepEqual([...a1, ...a2].sort(), [...all].sort());
      // Each member keeps the publish order of what it got.
      for (const got of [a1, a2]) assert.deepEqual(got, [...got].sort((x, y) => Number(x.slice(3)) - Number(y.slice(3))));
      assert.deepEqual((await readAll("qg-b")).map((m) => m.value.toString()), all);
      assert.deepEqual((await readAll("qg-none")).map((m) => m.value.toString()), all);
    });
  });
}
