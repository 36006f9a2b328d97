// Workload 3 readers. Ours: gRPC Subscribe from EARLIEST to STOP_LATEST through the lean client,
// every message fully decoded (the hand-written proto.Message decoder) and its offset checked.
// JetStream: an ordered consumer (`js.consumers.get(stream)`, 1,000 messages per pull) with the
// stream sequence of every message checked.
import { connect } from "nats";
import { encodeWire } from "../../src/io/wire/api-codec.js";
import { AsciiCache } from "../../src/core/ascii.js";
import { decodeMessage } from "../../src/io/wire/message-decoder.js";
import type { CatchUpJob, ClientResult } from "../bench-types.js";
import { createLeanApiClient } from "./grpc-lean-client.js";

const START_EARLIEST = 2;
const STOP_LATEST = 2;

/** What a reader counted. */
export interface ReadCounter {
  received: number;
  bytes: number;
  startMs: number;
  endMs: number;
  cpu: NodeJS.CpuUsage;
}

/** The counter of a read starting now. */
export function startCounter(): ReadCounter {
  return { received: 0, bytes: 0, startMs: performance.now(), endMs: 0, cpu: process.cpuUsage() };
}

/** The result of a finished read. */
export function resultOf(job: CatchUpJob, c: ReadCounter, notes: string): ClientResult {
  const seconds = (c.endMs - c.startMs) / 1000;
  const u = process.cpuUsage(c.cpu);
  return {
    messages: c.received, seconds, msgsPerSec: c.received / seconds, mbPerSec: c.bytes / seconds / 1e6,
    complete: c.received === job.expected, clientCpuSeconds: (u.user + u.system) / 1e6, notes,
  };
}

/**
 * Checks and counts each Subscribe response of ours: the empty handshake first, then every
 * message fully decoded with offsets 0, 1, 2, ...; calls `finish` at `expected` or on a mismatch.
 */
export function oursMessageChecker(job: CatchUpJob, c: ReadCounter, finish: (e?: Error) => void): (data: Uint8Array) => void {
  let handshake = true;
  const strings = new AsciiCache();
  return (data) => {
    if (handshake && data.length === 0) return void (handshake = false);
    handshake = false;
    const m = decodeMessage(data, strings);
    if (!m.ok) return finish(new Error(`message ${c.received}: ${m.error.message}`));
    if (m.value.offset !== BigInt(c.received)) return finish(new Error(`offset ${m.value.offset}, expected ${c.received}`));
    c.received++;
    c.bytes += m.value.value.length;
    if (c.received === job.expected) finish();
  };
}

/** The encoded SubscribeRequest of a catch-up read: partition 0, EARLIEST to STOP_LATEST. */
export function catchUpRequest(job: CatchUpJob): Uint8Array {
  return encodeWire("proto.SubscribeRequest", { stream: job.stream, partition: 0, startPosition: START_EARLIEST, stopPosition: STOP_LATEST });
}

/**
 * Runs a read until `start`'s reader calls finish (at `expected`, at the end, on an error) or the
 * job's time bound passes; the counter's end time is set once, by whichever comes first.
 */
export function boundedRead(job: CatchUpJob, c: ReadCounter, start: (finish: (e?: Error) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const finish = (e?: Error): void => {
      if (c.endMs !== 0) return;
      clearTimeout(bound);
      c.endMs = performance.now();
      if (e !== undefined) reject(e);
      else resolve();
    };
    const bound = setTimeout(() => finish(), job.maxSeconds * 1000);
    start(finish);
  });
}

/** Reads a stream of ours through gRPC Subscribe; resolves at `expected` messages, at the end of the call or at the bound. */
export async function readOursGrpc(job: CatchUpJob): Promise<ClientResult> {
  const client = createLeanApiClient(job.address);
  const request = catchUpRequest(job);
  const c = startCounter();
  const call = client.subscribe(request);
  try {
    await boundedRead(job, c, (finish) => {
      call.on("data", oursMessageChecker(job, c, finish));
      call.on("error", (e: Error) => finish(e));
      call.on("end", () => finish());
    });
  } finally {
    call.cancel();
    client.close();
  }
  return resultOf(job, c, `last offset ${c.received - 1}`);
}

/** Reads a JetStream stream through an ordered consumer. */
export async function readJetStreamOrdered(job: CatchUpJob): Promise<ClientResult> {
  const nc = await connect({ servers: job.address });
  let messages: { stop(): void } | undefined;
  let stopped = false;
  try {
    const consumer = await nc.jetstream().consumers.get(job.stream);
    const c = startCounter();
    await boundedRead(job, c, (finish) => {
      consumer.consume({
        max_messages: 1000,
        callback: (m) => {
          if (c.endMs !== 0) return;
          if (m.seq !== c.received + 1) return finish(new Error(`seq ${m.seq}, expected ${c.received + 1}`));
          c.received++;
          c.bytes += m.data.length;
          if (c.received === job.expected) finish();
        },
      }).then((iter) => {
        messages = iter;
        if (stopped) iter.stop();
      }, (e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    });
    return resultOf(job, c, `last seq ${c.received}`);
  } finally {
    stopped = true;
    messages?.stop();
    await nc.close();
  }
}
