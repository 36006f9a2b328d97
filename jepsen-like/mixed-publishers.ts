// The publishers of a crash cycle, all at once, each on its own partition and in its own way:
// gRPC Publish with AckPolicy LEADER and with ALL (one at a time, as a careful client does),
// a PublishAsync stream and plain NATS publish envelopes with an ack inbox (both pipelined).
// Every publish is recorded in the PublishHistory before it is sent and settled by its answer.
import { createInbox, type NatsConnection } from "nats";
import { AckError, AckPolicy } from "../src/io/wire/api-types.js";
import { encodePublishEnvelope } from "../src/io/wire/envelope.js";
import type { ApiClient } from "./grpc-test-client.js";
import { decodeAck } from "./integration-fixture.js";
import { messageValue, type PublishHistory } from "./publish-history.js";

/** One kind of publisher; the partition it writes is its index in MIXED_PUBLISHERS. */
export type PublisherKind = "grpc-leader" | "grpc-all" | "publish-async" | "nats-envelope";

/** The publishers of every cycle, partition i written by publisher i. */
export const MIXED_PUBLISHERS: readonly PublisherKind[] = ["grpc-leader", "grpc-all", "publish-async", "nats-envelope"];

/** What the publishers write to and with. */
export interface PublisherTarget {
  readonly stream: string;
  /** The stream's subject (partition 0); partition n > 0 is `${subject}.${n}`. */
  readonly subject: string;
  readonly client: ApiClient;
  readonly nc: NatsConnection;
  readonly history: PublishHistory;
  /** Prefix of publisher names, unique per cycle (e.g. "c3"). */
  readonly prefix: string;
  readonly paddingBytes: number;
}

const CALL_TIMEOUT_MS = 2000;
/** Unanswered publishes a pipelined publisher allows before it waits. */
const WINDOW = 64;
const RETRY_PAUSE_MS = 50;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Running publishers; stop() ends them (what is unanswered stays "pending" in the history). */
export interface RunningPublishers {
  stop(): Promise<void>;
}

/** Starts one publisher of each kind in MIXED_PUBLISHERS. */
export function startMixedPublishers(target: PublisherTarget): RunningPublishers {
  const state = { stopped: false };
  const loops = MIXED_PUBLISHERS.map((kind, partition) => {
    const name = `${target.prefix}-${kind}`;
    switch (kind) {
      case "grpc-leader": return unaryPublisher(target, name, partition, "LEADER", state);
      case "grpc-all": return unaryPublisher(target, name, partition, "ALL", state);
      case "publish-async": return asyncPublisher(target, name, partition, state);
      case "nats-envelope": return envelopePublisher(target, name, partition, state);
    }
  });
  return {
    stop: async () => {
      state.stopped = true;
      await Promise.all(loops.map((p) => p.catch(() => undefined)));
    },
  };
}

interface StopFlag {
  readonly stopped: boolean;
}

/** Publish, one at a time, each awaited: an error answer fails the op and the publisher goes on. */
async function unaryPublisher(t: PublisherTarget, name: string, partition: number, ackPolicy: "LEADER" | "ALL", state: StopFlag): Promise<void> {
  while (!state.stopped) {
    const op = t.history.invoke(name, partition);
    try {
      const r = await t.client.publish(
        { stream: t.stream, partition, value: messageValue(op.id, t.paddingBytes), ackPolicy, correlationId: op.id },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
      if (r.ack !== null && r.ack.ackError === "OK") t.history.ack(op.id, Number(r.ack.offset));
      else t.history.fail(op.id);
    } catch {
      t.history.fail(op.id);
      await pause(RETRY_PAUSE_MS);
    }
  }
}

/** A window of unanswered sends; `settle` frees a slot. */
class Window {
  private readonly open = new Set<string>();
  private waiter: (() => void) | undefined;

  add(id: string): void {
    this.open.add(id);
  }

  settle(id: string): void {
    if (this.open.delete(id)) this.waiter?.();
  }

  /** Waits until there is room (or `timeoutMs`, after which the oldest unanswered ids are given up). */
  async room(timeoutMs: number): Promise<void> {
    if (this.open.size < WINDOW) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiter = () => { clearTimeout(timer); resolve(); };
    });
    this.waiter = undefined;
    if (this.open.size >= WINDOW) this.open.clear(); // no answers: the broker is gone; they stay pending
  }
}

/** One PublishAsync stream, pipelined, alternating LEADER and ALL; answers settle by correlation id. */
async function asyncPublisher(t: PublisherTarget, name: string, partition: number, state: StopFlag): Promise<void> {
  while (!state.stopped) {
    const session = t.client.publishAsync();
    const window = new Window();
    const answers = (async () => {
      for await (const r of session.responses) {
        const id = r.correlationId;
        if (r.asyncError === null && r.ack !== null && r.ack.ackError === "OK") t.history.ack(id, Number(r.ack.offset));
        else t.history.fail(id);
        window.settle(id);
      }
    })().catch(() => undefined);
    let ended = false;
    void answers.then(() => { ended = true; });
    for (let i = 0; !state.stopped && !ended; i++) {
      const op = t.history.invoke(name, partition);
      window.add(op.id);
      session.send({ stream: t.stream, partition, value: messageValue(op.id, t.paddingBytes), ackPolicy: i % 2 === 0 ? "LEADER" : "ALL", correlationId: op.id });
      // A killed broker never drains the call: its end (or a bound) must release the sender too.
      await Promise.race([session.drained(), answers, pause(CALL_TIMEOUT_MS)]);
      await window.room(CALL_TIMEOUT_MS);
    }
    session.cancel();
    await answers;
    if (!state.stopped) await pause(RETRY_PAUSE_MS);
  }
}

/** Publish envelopes straight onto the partition's NATS subject, acks on one inbox, pipelined. */
async function envelopePublisher(t: PublisherTarget, name: string, partition: number, state: StopFlag): Promise<void> {
  const inbox = createInbox();
  const window = new Window();
  const sub = t.nc.subscribe(inbox);
  const answers = (async () => {
    for await (const m of sub) {
      const ack = decodeAck(m.data);
      if (ack.ackError === AckError.OK) t.history.ack(ack.correlationId, Number(ack.offset));
      else t.history.fail(ack.correlationId);
      window.settle(ack.correlationId);
    }
  })().catch(() => undefined);
  await t.nc.flush();
  const subject = partition === 0 ? t.subject : `${t.subject}.${partition}`;
  for (let i = 0; !state.stopped; i++) {
    const op = t.history.invoke(name, partition);
    window.add(op.id);
    const ackPolicy = i % 2 === 0 ? AckPolicy.LEADER : AckPolicy.ALL;
    t.nc.publish(subject, encodePublishEnvelope({ value: messageValue(op.id, t.paddingBytes), ackInbox: inbox, correlationId: op.id, ackPolicy, offset: -1 }));
    // Yield to the event loop now and then so acks are read while publishing.
    if (i % 16 === 15) await t.nc.flush().catch(() => pause(RETRY_PAUSE_MS));
    await window.room(CALL_TIMEOUT_MS);
  }
  sub.unsubscribe();
  await answers;
}
