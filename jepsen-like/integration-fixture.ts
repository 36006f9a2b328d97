// Shared pieces of the integration tests (test/integration/): the NATS modes each suite runs in
// (embedded NATS, or a real nats-server when installed), an environment of broker process + gRPC
// client + official NATS client, and bounded helpers for subscriptions, acks and polling.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createInbox, type NatsConnection, type Subscription } from "nats";
import { decodeWire } from "../src/io/wire/api-codec.js";
import type { Ack } from "../src/io/wire/api-types.js";
import { decodeEnvelopeOf, MsgType } from "../src/io/wire/envelope.js";
import { startBrokerProcess, type BrokerProcess, type BrokerProcessOptions } from "./broker-process.js";
import { createApiClient, type ApiClient, type ProtoObject, type SubscribedMessage } from "./grpc-test-client.js";
import { natsServerPath, startNatsServer, type NatsServerProcess } from "./nats-server-process.js";

/** Where the broker's NATS comes from in a suite run. */
export interface NatsMode {
  readonly name: string;
  readonly external: boolean;
  /** false, or the reason the suite is skipped in this mode. */
  readonly skip: string | false;
}

/** Every suite runs once per mode: embedded NATS, and a real nats-server (skipped when not installed). */
export function natsModes(): NatsMode[] {
  const found = natsServerPath() !== undefined;
  return [
    { name: "embedded NATS", external: false, skip: false },
    { name: "nats-server", external: true, skip: found ? false : "nats-server is not installed (looked on PATH and in /usr/sbin); install it to run this suite against a real NATS server" },
  ];
}

/** A running broker with its clients. */
export interface IntegrationEnv {
  broker: BrokerProcess;
  client: ApiClient;
  nc: NatsConnection;
  readonly natsServer: NatsServerProcess | undefined;
  /** The URL clients use for NATS (the embedded server or nats-server). */
  readonly natsUrl: string;
  /** Stops the broker (SIGTERM, or SIGKILL when `crash`) and starts it again on the same data dir. */
  restart(crash?: boolean): Promise<number | null>;
  /** Stops everything this environment started. */
  stop(): Promise<void>;
}

/** Starts the broker (and nats-server in external mode), then connects a gRPC and a NATS client. */
export async function startEnv(mode: NatsMode, options: BrokerProcessOptions = {}): Promise<IntegrationEnv> {
  const natsServer = mode.external ? await startNatsServer() : undefined;
  // One data directory for the environment's lifetime, so restarts find their data.
  const ownDataDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), "liftbridge-it-")) : undefined;
  let broker: BrokerProcess | undefined;
  try {
    const brokerOptions = { ...options, dataDir: options.dataDir ?? ownDataDir!, ...(natsServer ? { natsUrl: natsServer.url } : {}) };
    broker = await startBrokerProcess(brokerOptions);
    const natsUrl = natsServer?.url ?? broker.natsUrl;
    const env: IntegrationEnv = {
      broker, natsServer, natsUrl,
      client: createApiClient(broker.grpcAddress),
      nc: await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 100, timeout: 5000 }),
      restart: async (crash = false) => {
        env.client.close();
        const code = crash ? (await env.broker.kill(), null) : await env.broker.stop("SIGTERM", 10_000);
        env.broker = await startBrokerProcess({ ...brokerOptions, dataDir: env.broker.dataDir });
        env.client = createApiClient(env.broker.grpcAddress);
        if (!mode.external) {
          // The embedded NATS moved to a new ephemeral port with the new process.
          await env.nc.close();
          env.nc = await connect({ servers: env.broker.natsUrl, timeout: 5000 });
        }
        return code;
      },
      stop: async () => {
        env.client.close();
        await env.nc.close().catch(() => undefined);
        await env.broker.stop("SIGTERM", 10_000);
        await natsServer?.stop();
        if (ownDataDir !== undefined) rmSync(ownDataDir, { recursive: true, force: true });
      },
    };
    return env;
  } catch (e) {
    if (broker !== undefined) await broker.kill();
    await natsServer?.stop();
    if (ownDataDir !== undefined) rmSync(ownDataDir, { recursive: true, force: true });
    throw e;
  }
}

/** Rejects with `what` if `promise` does not settle within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` every 20 ms until it returns true; throws after `timeoutMs`. */
export async function waitUntil(probe: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** How a Subscribe call ended: the messages after the handshake and the final error (if any). */
export interface SubscribeOutcome {
  readonly handshake: SubscribedMessage | undefined;
  readonly messages: SubscribedMessage[];
  /** The status the call ended with; undefined when `count` messages arrived first (then cancelled). */
  readonly error: (Error & { code?: number; details?: string }) | undefined;
}

/**
 * Subscribes and reads until the call ends or `count` messages (after the handshake) arrived, at
 * most `timeoutMs`; the call is cancelled on return either way.
 */
export async function subscribeRead(client: ApiClient, request: ProtoObject, count = Infinity, timeoutMs = 5000): Promise<SubscribeOutcome> {
  const sub = client.subscribe(request);
  const messages: SubscribedMessage[] = [];
  let handshake: SubscribedMessage | undefined;
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; sub.cancel(); }, timeoutMs);
  try {
    for await (const m of sub.messages) {
      if (handshake === undefined) handshake = m;
      else messages.push(m);
      if (messages.length >= count) break;
    }
    return { handshake, messages, error: undefined };
  } catch (e) {
    if (timedOut) throw new Error(`subscribe ${JSON.stringify(request)}: timed out after ${timeoutMs} ms with ${messages.length} messages`);
    return { handshake, messages, error: e as Error & { code?: number; details?: string } };
  } finally {
    clearTimeout(timer);
    sub.cancel();
  }
}

/** Decodes an Ack envelope received on an ack inbox. */
export function decodeAck(data: Uint8Array): Ack {
  const payload = decodeEnvelopeOf(data, MsgType.Ack);
  if (!payload.ok) throw new Error(`not an ack envelope: ${payload.error.message}`);
  const ack = decodeWire("proto.Ack", payload.value);
  if (!ack.ok) throw new Error(`bad ack: ${ack.error.message}`);
  return ack.value;
}

/** Collects what arrives on `sub` for `n` messages or until `timeoutMs` passes (then returns what came). */
export async function collectNats(sub: Subscription, n: number, timeoutMs: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
  try {
    for await (const m of sub) {
      got.push(m.data);
      if (got.length >= n) break;
    }
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
  return got;
}

/**
 * Returns once everything the broker sent on its NATS connection so far (partition SUBs
 * included) has been processed by the NATS server: a PublishToSubject from the broker's
 * connection is seen on ours. Works around CreateStream answering before its SUB is registered.
 */
export async function syncBrokerNats(env: IntegrationEnv): Promise<void> {
  const subject = createInbox();
  const sub = env.nc.subscribe(subject, { max: 1 });
  await env.nc.flush();
  await env.client.publishToSubject({ subject, value: new Uint8Array([1]), ackPolicy: "NONE" }, { timeoutMs: 5000 });
  const got = await collectNats(sub, 1, 5000);
  if (got.length !== 1) throw new Error("the broker's NATS connection did not deliver a PublishToSubject within 5 s");
}

/** CreateStream, then syncBrokerNats: plain NATS publishes to the stream's subjects are captured. */
export async function createStreamForNats(env: IntegrationEnv, request: ProtoObject): Promise<void> {
  await env.client.createStream(request, { timeoutMs: 5000 });
  await syncBrokerNats(env);
}

/** Waits until the partition's high watermark reaches `offset`. */
export async function waitForHighWatermark(client: ApiClient, stream: string, partition: number, offset: number, timeoutMs = 5000): Promise<void> {
  await waitUntil(async () => {
    const r = await client.fetchPartitionMetadata(stream, partition, { timeoutMs: 2000 });
    const hw = Number((r["metadata"] as { highWatermark: string }).highWatermark);
    return hw >= offset;
  }, timeoutMs, `${stream}/${partition} high watermark ${offset}`);
}
