// Integration: Subscribe against a real broker: every start position and stop position with exact
// offsets, the handshake, terminal statuses (stop reached, empty stream, readonly end, paused,
// deleted, unknown stream or partition).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { status as Status } from "@grpc/grpc-js";
import type { SubscribedMessage } from "../../jepsen-like/grpc-test-client.js";
import { natsModes, startEnv, subscribeRead, within, type IntegrationEnv } from "../../jepsen-like/integration-fixture.js";

const T = { timeout: 20_000 };
const HOOK = { timeout: 60_000 };
const N = 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const offsets = (ms: readonly SubscribedMessage[]): number[] => ms.map((m) => Number(m.offset));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const mode of natsModes()) {
  describe(`subscribe (${mode.name})`, { skip: mode.skip }, () => {
    let env: IntegrationEnv;
    /** The N records of stream "sub-pos" as first read back (timestamps included). */
    let records: SubscribedMessage[] = [];
    before(async () => {
      env = await startEnv(mode);
      await env.client.createStream({ name: "sub-pos", subject: "sub.pos" });
      for (let i = 0; i < N; i++) {
        // Distinct timestamps (milliseconds apart) so timestamp positions have exact answers.
        await env.client.publish({ stream: "sub-pos", key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
        await sleep(3);
      }
      records = (await subscribeRead(env.client, { stream: "sub-pos", startPosition: "EARLIEST", stopPosition: "STOP_LATEST" })).messages;
    }, HOOK);
    after(async () => { await env?.stop(); }, HOOK);

    const read = (request: Record<string, unknown>, count?: number, timeoutMs?: number) =>
      subscribeRead(env.client, { stream: "sub-pos", ...request }, count, timeoutMs);

    test("the first item is an empty handshake; then committed records in order", T, async () => {
      assert.deepEqual(offsets(records), range(0, N - 1));
      const out = await read({ startPosition: "EARLIEST", stopPosition: "STOP_LATEST" });
      assert.ok(out.handshake);
      assert.equal(out.handshake.stream, "");
      assert.equal(out.handshake.value.length, 0);
      assert.equal(out.handshake.offset, "0");
      assert.deepEqual(out.messages.map((m) => m.value.toString()), range(0, N - 1).map((i) => `v${i}`));
      assert.deepEqual(out.messages.map((m) => m.key.toString()), range(0, N - 1).map((i) => `k${i}`));
      for (let i = 1; i < N; i++) assert.ok(BigInt(records[i]!.timestamp) > BigInt(records[i - 1]!.timestamp));
    });

    test("start positions EARLIEST, OFFSET, LATEST, TIMESTAMP with STOP_LATEST", T, async () => {
      const cases: Array<[Record<string, unknown>, number[]]> = [
        [{ startPosition: "EARLIEST" }, range(0, 9)],
        [{ startPosition: "OFFSET", startOffset: "0" }, range(0, 9)],
        [{ startPosition: "OFFSET", startOffset: "4" }, range(4, 9)],
        [{ startPosition: "OFFSET", startOffset: "9" }, [9]],
        [{ startPosition: "LATEST" }, [9]],
        [{ startPosition: "TIMESTAMP", startTimestamp: "0" }, range(0, 9)],
        [{ startPosition: "TIMESTAMP", startTimestamp: records[6]!.timestamp }, range(6, 9)],
        [{ startPosition: "TIMESTAMP", startTimestamp: String(BigInt(records[6]!.timestamp) - 1n) }, range(6, 9)],
        [{ startPosition: "TIMESTAMP", startTimestamp: String(BigInt(records[6]!.timestamp) + 1n) }, range(7, 9)],
      ];
      for (const [request, expected] of cases) {
        const out = await read({ ...request, stopPosition: "STOP_LATEST" });
        assert.deepEqual(offsets(out.messages), expected, JSON.stringify(request));
        assert.equal(out.error?.code, Status.RESOURCE_EXHAUSTED, JSON.stringify(request));
        assert.match(out.error.details ?? "", /Stop offset reached/);
      }
    });

    test("stop positions STOP_OFFSET and STOP_TIMESTAMP (inclusive); stop before start is InvalidArgument", T, async () => {
      const ts = (i: number): bigint => BigInt(records[i]!.timestamp);
      const cases: Array<[Record<string, unknown>, number[]]> = [
        [{ startPosition: "EARLIEST", stopPosition: "STOP_OFFSET", stopOffset: "3" }, range(0, 3)],
        [{ startPosition: "OFFSET", startOffset: "2", stopPosition: "STOP_OFFSET", stopOffset: "2" }, [2]],
        [{ startPosition: "OFFSET", startOffset: "5", stopPosition: "STOP_OFFSET", stopOffset: "7" }, range(5, 7)],
        [{ startPosition: "EARLIEST", stopPosition: "STOP_TIMESTAMP", stopTimestamp: String(ts(4)) }, range(0, 4)],
        [{ startPosition: "EARLIEST", stopPosition: "STOP_TIMESTAMP", stopTimestamp: String(ts(4) + 1n) }, range(0, 4)],
        [{ startPosition: "EARLIEST", stopPosition: "STOP_TIMESTAMP", stopTimestamp: String(ts(4) - 1n) }, range(0, 3)],
        [{ startPosition: "TIMESTAMP", startTimestamp: String(ts(2)), stopPosition: "STOP_TIMESTAMP", stopTimestamp: String(ts(8)) }, range(2, 8)],
      ];
      for (const [request, expected] of cases) {
        const out = await read(request);
        assert.deepEqual(offsets(out.messages), expected, JSON.stringify(request));
        assert.equal(out.error?.code, Status.RESOURCE_EXHAUSTED, JSON.stringify(request));
        assert.match(out.error.details ?? "", /Stop offset reached/);
      }
      const bad = await read({ startPosition: "OFFSET", startOffset: "5", stopPosition: "STOP_OFFSET", stopOffset: "3" });
      assert.equal(bad.error?.code, Status.INVALID_ARGUMENT);
      assert.deepEqual(bad.messages, []);
    });

    test("STOP_LATEST on an empty stream ends with ResourceExhausted \"Stream is empty\"", T, async () => {
      await env.client.createStream({ name: "sub-empty", subject: "sub.empty" });
      const out = await subscribeRead(env.client, { stream: "sub-empty", startPosition: "EARLIEST", stopPosition: "STOP_LATEST" });
      assert.deepEqual(out.messages, []);
      assert.equal(out.error?.code, Status.RESOURCE_EXHAUSTED);
      assert.match(out.error.details ?? "", /Stream is empty/);
    });

    test("STOP_ON_CANCEL: NEW_ONLY sees only later messages, LATEST the last and later, EARLIEST all", T, async () => {
      await env.client.createStream({ name: "sub-live", subject: "sub.live" });
      for (let i = 0; i < 3; i++) await env.client.publish({ stream: "sub-live", value: Buffer.from(`old${i}`), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      // The collection promise is wrapped: an async function would flatten it and wait for the messages.
      const startLive = async (startPosition: string, count: number): Promise<{ done: Promise<SubscribedMessage[]> }> => {
        const sub = env.client.subscribe({ stream: "sub-live", startPosition });
        const handshake = await within(sub.messages.next(), 5000, `${startPosition} handshake`);
        assert.equal(handshake.done, false);
        const done = within((async () => {
          const got: SubscribedMessage[] = [];
          for await (const m of sub.messages) {
            got.push(m);
            if (got.length === count) break;
          }
          sub.cancel();
          return got;
        })(), 10_000, `${startPosition} messages`);
        return { done };
      };
      const newOnly = await startLive("NEW_ONLY", 2);
      const latest = await startLive("LATEST", 3);
      const earliest = await startLive("EARLIEST", 5);
      for (let i = 0; i < 2; i++) await env.client.publish({ stream: "sub-live", value: Buffer.from(`new${i}`), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      assert.deepEqual(offsets(await newOnly.done), [3, 4]);
      assert.deepEqual(offsets(await latest.done), [2, 3, 4]);
      assert.deepEqual(offsets(await earliest.done), [0, 1, 2, 3, 4]);
      // A TIMESTAMP beyond the end starts at the next offset.
      const future = String((BigInt(Date.now()) + 60_000n) * 1_000_000n);
      const sub = env.client.subscribe({ stream: "sub-live", startPosition: "TIMESTAMP", startTimestamp: future });
      await within(sub.messages.next(), 5000, "TIMESTAMP handshake");
      await env.client.publish({ stream: "sub-live", value: Buffer.from("x"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      const next = await within(sub.messages.next(), 5000, "TIMESTAMP message");
      sub.cancel();
      assert.equal(next.value?.offset, "5");
    });

    test("a paused partition answers FailedPrecondition unless resume is set", T, async () => {
      await env.client.createStream({ name: "sub-paused", subject: "sub.paused" });
      await env.client.publish({ stream: "sub-paused", value: Buffer.from("a"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      await env.client.pauseStream({ name: "sub-paused" });
      const refused = await subscribeRead(env.client, { stream: "sub-paused", startPosition: "EARLIEST" });
      assert.equal(refused.error?.code, Status.FAILED_PRECONDITION);
      const resumed = await subscribeRead(env.client, { stream: "sub-paused", startPosition: "EARLIEST", resume: true }, 1);
      assert.equal(resumed.error, undefined);
      assert.deepEqual(resumed.messages.map((m) => m.value.toString()), ["a"]);
      const meta = (await env.client.fetchPartitionMetadata("sub-paused", 0))["metadata"] as { paused: boolean };
      assert.equal(meta.paused, false);
    });

    test("a readonly partition drains, then ends with \"End of readonly partition\"", T, async () => {
      await env.client.createStream({ name: "sub-ro", subject: "sub.ro" });
      for (let i = 0; i < 3; i++) await env.client.publish({ stream: "sub-ro", value: Buffer.from(`r${i}`), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
      // A subscriber already reading when the partition turns readonly is ended too.
      const live = env.client.subscribe({ stream: "sub-ro", startPosition: "EARLIEST" });
      await within(live.messages.next(), 5000, "handshake");
      const liveEnd = within((async () => {
        const got: SubscribedMessage[] = [];
        try {
          for await (const m of live.messages) got.push(m);
        } catch (e) {
          return { got, error: e as { code?: number; details?: string } };
        }
        return { got, error: undefined };
      })(), 10_000, "the live subscriber to end");
      await env.client.setStreamReadonly({ name: "sub-ro", readonly: true });
      const ended = await liveEnd;
      assert.deepEqual(offsets(ended.got), [0, 1, 2]);
      assert.equal(ended.error?.code, Status.RESOURCE_EXHAUSTED);
      assert.match(ended.error.details ?? "", /End of readonly partition/);
      const out = await subscribeRead(env.client, { stream: "sub-ro", startPosition: "OFFSET", startOffset: "1" });
      assert.deepEqual(offsets(out.messages), [1, 2]);
      assert.equal(out.error?.code, Status.RESOURCE_EXHAUSTED);
      assert.match(out.error.details ?? "", /End of readonly partition/);
    });

    test("unknown stream or partition is NotFound; deleting the stream ends a subscriber with NotFound", T, async () => {
      const noStream = await subscribeRead(env.client, { stream: "sub-nope", startPosition: "EARLIEST" });
      assert.equal(noStream.error?.code, Status.NOT_FOUND);
      assert.equal(noStream.handshake, undefined);
      const noPartition = await subscribeRead(env.client, { stream: "sub-pos", partition: 3, startPosition: "EARLIEST" });
      assert.equal(noPartition.error?.code, Status.NOT_FOUND);
      assert.match(noPartition.error.details ?? "", /No such partition/);
      await env.client.createStream({ name: "sub-del", subject: "sub.del" });
      const sub = env.client.subscribe({ stream: "sub-del", startPosition: "EARLIEST" });
      await within(sub.messages.next(), 5000, "handshake");
      await env.client.deleteStream("sub-del");
      const end = await within(sub.messages.next().then(() => undefined, (e: { code?: number }) => e), 5000, "end after delete");
      assert.equal(end?.code, Status.NOT_FOUND);
    });
  });
}
