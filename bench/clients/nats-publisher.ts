// The lean NATS publishers both systems are measured with: plain `nc.publish(subject, payload,
// { reply: inbox })` with ONE reply-inbox subscription counting acks (perf-baseline's
// "js-async-raw"). Identical code for ours and JetStream; only the payload and the ack check differ.
import { build as buildHistogram } from "hdr-histogram-js";
import type { NatsConnection } from "nats";
import type { LatencyUs } from "../bench-types.js";

/** Checks acks: a cheap test on every one, a full decode on a sample. */
export interface AckChecker {
  /** Returns an error message when `data` is not a successful ack. Runs on every ack. */
  each(data: Uint8Array): string | undefined;
  /** Full decode of the `position`-th ack (1-based) of a fresh stream; returns an error message or undefined. */
  sample(data: Uint8Array, position: number): string | undefined;
}

/** What a publishing run measured. */
export interface PublishOutcome {
  readonly acked: number;
  readonly seconds: number;
  readonly complete: boolean;
  readonly cpuSeconds: number;
  readonly latencyUs?: LatencyUs;
}

/** Every 1024th ack, and the last, is fully decoded and its offset checked. */
const SAMPLE_MASK = 1023;
/** After the time bound, how long outstanding acks may take before the run fails. */
const DRAIN_GRACE_MS = 15_000;

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

/**
 * Publishes `count` copies of `payload` with `window` in flight; each ack releases the next
 * publish. Stops publishing after `maxSeconds` and waits for what is still in flight.
 */
export async function publishWindowed(
  nc: NatsConnection, subject: string, inbox: string, payload: Uint8Array,
  opts: { count: number; window: number; maxSeconds: number }, checker: AckChecker,
): Promise<PublishOutcome> {
  let sent = 0;
  let acked = 0;
  let target = opts.count;
  return await new Promise<PublishOutcome>((resolve, reject) => {
    let startMs = 0;
    let cpu = process.cpuUsage();
    let grace: NodeJS.Timeout | undefined;
    const done = (error?: string): void => {
      clearTimeout(bound);
      clearTimeout(grace);
      sub.unsubscribe();
      if (error !== undefined) reject(new Error(error));
      else resolve({ acked, seconds: (performance.now() - startMs) / 1000, complete: target === opts.count, cpuSeconds: cpuSecondsSince(cpu) });
    };
    const sub = nc.subscribe(inbox, {
      callback: (e, msg) => {
        if (e !== null) return done(e.message);
        acked++;
        const bad = checker.each(msg.data) ?? ((acked & SAMPLE_MASK) === 0 || acked === target ? checker.sample(msg.data, acked) : undefined);
        if (bad !== undefined) return done(`ack ${acked}: ${bad}`);
        if (sent < target) {
          nc.publish(subject, payload, { reply: inbox });
          sent++;
        } else if (acked === target) done();
      },
    });
    const bound = setTimeout(() => {
      target = sent;
      if (acked === target) return done();
      grace = setTimeout(() => done(`${target - acked} of ${target} acks missing ${DRAIN_GRACE_MS} ms after the time bound`), DRAIN_GRACE_MS);
    }, opts.maxSeconds * 1000);
    // The inbox subscription must reach the server before the first publish.
    nc.flush().then(() => {
      startMs = performance.now();
      cpu = process.cpuUsage();
      for (; sent < Math.min(opts.window, target); sent++) nc.publish(subject, payload, { reply: inbox });
    }, (e: unknown) => done(String(e)));
  });
}

/**
 * Publishes one message at a time, waiting for each ack; after `warmupSeconds` records every
 * round trip (publish call to ack callback) in an HdrHistogram for `maxSeconds`.
 */
export async function publishSync(
  nc: NatsConnection, subject: string, inbox: string, payload: Uint8Array,
  opts: { count: number; warmupSeconds: number; maxSeconds: number }, checker: AckChecker,
): Promise<PublishOutcome> {
  const histogram = buildHistogram({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
  let position = 0;
  let measured = 0;
  let measuring = false;
  let stopping = false;
  let sentAtMs = 0;
  let startMs = 0;
  let cpu = process.cpuUsage();
  return await new Promise<PublishOutcome>((resolve, reject) => {
    const send = (): void => {
      sentAtMs = performance.now();
      nc.publish(subject, payload, { reply: inbox });
    };
    let grace: NodeJS.Timeout | undefined;
    const finish = (error?: string): void => {
      clearTimeout(warmup);
      clearTimeout(bound);
      clearTimeout(grace);
      sub.unsubscribe();
      if (error !== undefined) return reject(new Error(error));
      const latencyUs = {
        p50: histogram.getValueAtPercentile(50) / 1000, p99: histogram.getValueAtPercentile(99) / 1000,
        p999: histogram.getValueAtPercentile(99.9) / 1000, max: histogram.maxValue / 1000, mean: histogram.mean / 1000,
      };
      resolve({ acked: measured, seconds: (performance.now() - startMs) / 1000, complete: measured >= opts.count, cpuSeconds: cpuSecondsSince(cpu), latencyUs });
    };
    const sub = nc.subscribe(inbox, {
      callback: (e, msg) => {
        const now = performance.now();
        if (e !== null) return finish(e.message);
        position++;
        const bad = checker.each(msg.data) ?? ((position & SAMPLE_MASK) === 0 ? checker.sample(msg.data, position) : undefined);
        if (bad !== undefined) return finish(`ack ${position}: ${bad}`);
        if (measuring) {
          histogram.recordValue(Math.max(1, Math.round((now - sentAtMs) * 1e6)));
          measured++;
        }
        if (stopping || measured >= opts.count) return finish();
        send();
      },
    });
    const warmup = setTimeout(() => {
      measuring = true;
      startMs = performance.now();
      cpu = process.cpuUsage();
    }, opts.warmupSeconds * 1000);
    const bound = setTimeout(() => {
      stopping = true;
      grace = setTimeout(() => finish(`ack ${position + 1} missing ${DRAIN_GRACE_MS} ms after the time bound`), DRAIN_GRACE_MS);
    }, (opts.warmupSeconds + opts.maxSeconds) * 1000);
    nc.flush().then(send, (e: unknown) => finish(String(e)));
  });
}
