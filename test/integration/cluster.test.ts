// Integration on real processes (issue 12): one nats-server and three brokers (a seed, two joining
// with no bootstrap flag). Streams are created through any broker and every broker lists them and
// the three brokers; concurrent creates of one name through the three give exactly one success
// (checked with the linearizability checker); SIGKILL of the controller: a CreateStream through a
// survivor succeeds again within 10 s (the time is printed) and no stream is lost; the killed
// broker restarts on its data directory and rejoins; garbage, truncated, misaddressed and replayed
// Raft messages are refused with a log line and change nothing; a fourth broker joins; a second
// bootstrap seed exits with an error instead of splitting the cluster.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "nats";
import { startCluster, findController, type Cluster } from "../../jepsen-like/cluster.js";
import { createApiClient, type ApiClient } from "../../jepsen-like/grpc-test-client.js";
import { natsServerPath } from "../../jepsen-like/nats-server-process.js";
import { checkLinearizable, type Operation } from "../../sim/checkers/linearizability.js";
import { streamRegistryModel, type StreamRegistryInput, type StreamRegistryOutput } from "../../sim/checkers/stream-registry-model.js";

const NS = "liftbridge-default";
const T = { timeout: 40_000 };
const GRPC_ALREADY_EXISTS = 6;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries `attempt` until it returns a value (not undefined) or `timeoutMs` passes. */
async function eventually<R>(timeoutMs: number, attempt: () => Promise<R | undefined>, what: string): Promise<R> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const r = await attempt();
      if (r !== undefined) return r;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms (last error: ${String(last)})`);
    await sleep(100);
  }
}

interface Meta { brokers: string[]; streams: string[] }

async function metadata(client: ApiClient): Promise<Meta> {
  const m = await client.fetchMetadata({}, { timeoutMs: 3000 });
  return {
    brokers: (m["brokers"] as { id: string }[]).map((b) => b.id).sort(),
    streams: (m["streamMetadata"] as { name: string }[]).map((s) => s.name).sort(),
  };
}

describe("a cluster of real brokers over one nats-server", { skip: natsServerPath() === undefined ? "nats-server is not installed" : false }, () => {
  let cluster: Cluster;
  let nc: NatsConnection;
  const clients: (ApiClient | undefined)[] = [];
  /** Raft messages seen on the wire before the controller was killed (replayed later). */
  const captured: { subject: string; data: Uint8Array }[] = [];
  /** Every stream a CreateStream was acknowledged for. */
  const created = new Set<string>();
  let killedIndex = -1;

  const client = (i: number): ApiClient => {
    const b = cluster.brokers[i];
    assert.ok(b !== undefined, `broker ${i} runs`);
    clients[i] ??= createApiClient(b.grpcAddress);
    return clients[i];
  };
  const create = async (i: number, name: string, timeoutMs = 8000): Promise<void> => {
    await client(i).createStream({ name, subject: `sub.${name}` }, { timeoutMs });
    created.add(name);
  };
  /** Retries a create through broker i until it is acknowledged (AlreadyExists: an earlier try that timed out took effect). */
  const createEventually = (i: number, name: string, timeoutMs = 15_000): Promise<boolean> =>
    eventually(timeoutMs, async () => {
      try {
        await create(i, name, 3000);
      } catch (e) {
        if ((e as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw e;
        created.add(name);
      }
      return true;
    }, `create ${name} through broker ${i}`);
  /** Waits until broker i lists `brokers` brokers and every acknowledged stream. */
  const listsAll = (i: number, brokers: number): Promise<Meta> =>
    eventually(10_000, async () => {
      const m = await metadata(client(i));
      return m.brokers.length === brokers && [...created].every((s) => m.streams.includes(s)) ? m : undefined;
    }, `broker ${i} lists ${brokers} brokers and ${created.size} streams`);

  before(async () => {
    cluster = await startCluster({ brokers: 3 });
    nc = await connect({ servers: cluster.nats.url });
    const sub = nc.subscribe(`${NS}.raft.metadata.*.request`);
    void (async () => {
      for await (const m of sub) if (killedIndex < 0 && captured.length < 500) captured.push({ subject: m.subject, data: m.data });
    })();
  }, T);

  after(async () => {
    for (const c of clients) c?.close();
    await nc?.close();
    await cluster?.stop();
  }, T);

  test("streams created through any broker are listed by every broker, with the three brokers", T, async () => {
    for (let i = 0; i < 6; i++) await createEventually(i % 3, `any-${i}`);
    for (let i = 0; i < 3; i++) {
      const m = await listsAll(i, 3);
      assert.deepEqual(m.brokers, [0, 1, 2].map((j) => cluster.serverId(j)));
    }
  });

  test("concurrent creates of one name through the three brokers: exactly one succeeds, and the history is linearizable", T, async () => {
    const history: Operation<StreamRegistryInput, StreamRegistryOutput>[] = [];
    for (let round = 0; round < 5; round++) {
      const name = `race-${round}`;
      await Promise.all([0, 1, 2].map(async (i) => {
        const callMs = performance.now();
        let output: StreamRegistryOutput | undefined;
        try {
          await create(i, name);
          output = "ok";
        } catch (e) {
          output = (e as { code?: number }).code === GRPC_ALREADY_EXISTS ? "exists" : undefined;
        }
        history.push({ clientId: `broker-${i}`, input: { kind: "create", name }, output, callMs, returnMs: output === undefined ? undefined : performance.now() });
      }));
      const oks = history.filter((op) => op.input.name === name && op.output === "ok").length;
      assert.equal(oks, 1, `exactly one create of ${name} succeeds: ${JSON.stringify(history.filter((op) => op.input.name === name))}`);
    }
    const report = checkLinearizable(streamRegistryModel, history);
    assert.equal(report.result, "ok", JSON.stringify(report.partitions.filter((p) => p.result !== "ok")));
  });

  test("SIGKILL of the controller: a survivor takes CreateStream again within 10 s, and no stream is lost", T, async () => {
    const controller = await eventually(5000, () => Promise.resolve(findController(cluster)), "a broker logged that it is the controller");
    killedIndex = controller;
    const survivors = [0, 1, 2].filter((i) => i !== controller);
    const killedAt = performance.now();
    await cluster.kill(controller);
    clients[controller]?.close();
    clients[controller] = undefined;
    let attempt = 0;
    await eventually(15_000, () => create(survivors[attempt % 2]!, `after-kill-${attempt++}`, 2000).then(() => true), "a CreateStream through a survivor");
    const failoverMs = Math.round(performance.now() - killedAt);
    process.stdout.write(`# controller failover: CreateStream through a survivor succeeded ${failoverMs} ms after SIGKILL of ${cluster.serverId(controller)}\n`);
    assert.ok(failoverMs < 10_000, `failover took ${failoverMs} ms`);
    for (const i of survivors) await listsAll(i, 2);
  });

  test("the killed broker restarts on its data directory, rejoins, and serves CreateStream", T, async () => {
    assert.ok(killedIndex >= 0);
    await cluster.start(killedIndex);
    await createEventually(killedIndex, "after-restart");
    for (let i = 0; i < 3; i++) await listsAll(i, 3);
  });

  test("garbage, truncated, misaddressed and replayed Raft messages are refused with a log line and change nothing", T, async () => {
    assert.ok(captured.length > 10, `Raft traffic was captured (${captured.length} messages)`);
    const target = [0, 1, 2].find((i) => i !== killedIndex)!;
    const subject = `${NS}.raft.metadata.${cluster.serverId(target)}.request`;
    const refusals = (): number => cluster.brokers.reduce((n, b) => n + (b?.output().match(/peer message refused|Raft message refused/g)?.length ?? 0), 0);
    const before = refusals();
    nc.publish(subject, new TextEncoder().encode("not a Raft message at all"));
    nc.publish(subject, new Uint8Array(0));
    const real = captured.find((m) => m.data.length > 20)!;
    nc.publish(subject, real.data.slice(0, Math.floor(real.data.length / 2))); // truncated
    const other = captured.find((m) => m.subject !== subject)!;
    nc.publish(subject, other.data); // addressed to another broker, on this one's subject
    for (const m of captured) nc.publish(m.subject, m.data); // replayed from before the controller's death
    await nc.flush();
    await eventually(5000, () => Promise.resolve(refusals() >= before + 5 ? true : undefined), "the refusals are logged");
    const lines = cluster.brokers[target]!.output().split("\n").filter((l) => /peer message refused|Raft message refused/.test(l));
    assert.ok(lines.some((l) => l.includes("InvalidRaftMessage")), "garbage refused as InvalidRaftMessage");
    assert.ok(lines.some((l) => l.includes("NotForThisNode")), "a message for another broker refused");
    assert.ok(cluster.brokers.some((b) => b?.output().includes("Raft message refused: older term")), "a replay from an older term refused");
    // Nothing changed: every stream is still there, and the cluster still takes CreateStream.
    await create(target, "after-bad-input");
    for (let i = 0; i < 3; i++) await listsAll(i, 3);
  });

  test("a fourth broker with a fresh data directory joins the running cluster", T, async () => {
    await cluster.start(3);
    await createEventually(3, "via-fourth");
    for (let i = 0; i < 4; i++) await listsAll(i, 4);
  });

  test("a second --raft-bootstrap-seed on a fresh directory exits with an error instead of splitting the cluster", T, async () => {
    const seed = await cluster.start(4, "seed");
    const code = await Promise.race([seed.exited(), sleep(10_000).then(() => "still running" as const)]);
    assert.equal(code, 2, seed.output());
    assert.match(seed.output(), /a metadata cluster already runs on this NATS.*would split it/);
    cluster.brokers[4] = undefined;
    await create(0, "after-second-seed");
    assert.ok((await metadata(client(0))).streams.includes("after-second-seed"));
  });
});

describe("--raft-bootstrap-peers: three named servers form a cluster together", { skip: natsServerPath() === undefined ? "nats-server is not installed" : false }, () => {
  test("each broker takes CreateStream and lists the three brokers and every stream", T, async () => {
    const cluster = await startCluster({ brokers: 3, peers: true });
    const clients = cluster.brokers.map((b) => createApiClient(b!.grpcAddress));
    try {
      for (let i = 0; i < 3; i++) {
        await eventually(15_000, () => clients[i]!.createStream({ name: `peers-${i}`, subject: `peers.${i}` }, { timeoutMs: 3000 }).then(
          () => true,
          (e: unknown) => { if ((e as { code?: number }).code === GRPC_ALREADY_EXISTS) return true; throw e; },
        ), `create through broker ${i}`);
      }
      for (let i = 0; i < 3; i++) {
        await eventually(10_000, async () => {
          const m = await metadata(clients[i]!);
          return m.brokers.length === 3 && m.streams.join() === "peers-0,peers-1,peers-2" ? true : undefined;
        }, `broker ${i} lists 3 brokers and 3 streams`);
      }
      assert.ok(cluster.brokers.every((b) => b!.output().includes("bootstrapped a new metadata Raft cluster")));
    } finally {
      for (const c of clients) c.close();
      await cluster.stop();
    }
  });
});
