// The production driver: the only place where the broker core meets real time, real files and a
// real NATS connection. It batches inputs per event-loop turn (every NATS message that arrived in
// one turn becomes one natsMessages input, hence one group commit), applies each step's persist
// ops in order, and only then releases what depended on them (DESIGN.md). An fdatasync, and the
// write of a group commit under load, run in libuv's thread pool: while one is in flight no input
// is stepped (as in the simulator), but the event loop keeps reading NATS, so the next group
// commit is ready when the disk is.
import type { NatsConnection } from "nats";
import { Broker, type BrokerInput, type BrokerOutputs } from "../core/broker/broker.js";
import type { ApiRequest, ApiResponse, BrokerEffect, SubscribeRequest } from "../core/broker/api-types.js";
import type { BrokerConfig } from "../core/broker/broker-config.js";
import type { NatsDelivery } from "../core/broker/partition.js";
import { failHeldReplies } from "../core/broker/failed-persist.js";
import { BrokerInputQueue, type InputMaker } from "../core/broker/input-queue.js";
import type { Crc32c } from "../core/crc32c.js";
import { applyDiskOp, DiskError } from "../core/disk.js";
import type { Result } from "../core/errors.js";
import type { InputTime, NatsSubscriptionChange } from "../core/outputs.js";
import { timeMs, timestampNs } from "../core/types.js";
import type { BrokerService, SubscriptionHandle, SubscriptionSink } from "./broker-service.js";
import { createWireCodec } from "./broker-wire-codec.js";
import { mathRandom } from "./embedded-nats/math-random.js";
import { logCoreEvents, type Logger } from "./logger.js";
import { NodeDisk } from "./node-disk.js";
import type { DataPathSubscription, NatsDataPath } from "./nats-data-path/nats-data-path.js";
import { NatsJsDataPath } from "./nats-data-path/nats-js-data-path.js";


/**
 * How long one event-loop turn may spend stepping subscribers' ready() inputs, which come after
 * everything else queued: a herd of subscribers catching up must not delay publishes.
 */
const READY_SLICE_MS = 5;

/** What a request or Subscribe gets once intake has stopped: clients retry, elsewhere if need be. */
const SHUTTING_DOWN = { ok: false, error: { code: "Unavailable", message: "Server shutting down" } } as const;

interface PendingSubscription {
  readonly sink: SubscriptionSink;
  resolve?: (r: Result<SubscriptionHandle>) => void;
}

/**
 * Writes at least this large go to libuv's thread pool: a group commit under load is tens of KiB,
 * and the kernel may throttle such a writer (dirty page limits) while NATS keeps sending. A
 * single message's write stays on the event loop, where it costs less than a thread-pool hop.
 */
export const THREAD_POOL_WRITE_MIN_BYTES = 32 * 1024;

function chunksBytes(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** What the driver needs to start. */
export interface BrokerDriverOptions {
  /** Absolute path of the data directory (created if missing). */
  readonly dataDir: string;
  readonly config: BrokerConfig;
  /** The control connection (gRPC handlers' inboxes); also the data path unless `dataPath` is given. */
  readonly nats: NatsConnection;
  /** Where stream subjects are captured and acks published (default: over `nats`). */
  readonly dataPath?: NatsDataPath;
  readonly logger: Logger;
  readonly crc32c?: Crc32c;
}

/** A running broker: the core, its disk, its NATS subscriptions and its timer. */
export class BrokerDriver implements BrokerService {
  private readonly broker: Broker;
  private readonly disk: NodeDisk;
  private readonly queue = new BrokerInputQueue();
  /** subscriptionReady inputs, stepped after the queue's, at most READY_SLICE_MS per turn. */
  private readyInputs: InputMaker[] = [];
  private readyHead = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly natsSubs = new Map<number, DataPathSubscription>();
  private readonly dataPath: NatsDataPath;
  private readonly requests = new Map<number, (r: Result<ApiResponse>) => void>();
  private readonly subscriptions = new Map<number, PendingSubscription>();
  private nextId = 1;
  private readonly wallOriginNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  private stopped = false;
  /** Set at the first moment of a graceful stop: no NATS message or API request is taken after it. */
  private intakeStopped = false;
  /** Set while applying a step that subscribed to NATS subjects (see apply). */
  private deferApiReplies = false;
  /** Set while a step's persist ops wait for an fdatasync in the thread pool: nothing is stepped. */
  private persisting = false;
  /** Set once the shutdown input has been stepped: nothing after it is. */
  private shutdownStepped = false;
  private shutdownDone: Promise<void> | undefined;
  private resolveShutdown: (() => void) | undefined;

  /** Recovers the broker from `dataDir` and starts consuming its partitions' subjects. */
  constructor(private readonly options: BrokerDriverOptions) {
    this.disk = new NodeDisk(options.dataDir);
    this.dataPath = options.dataPath ?? new NatsJsDataPath(options.nats, options.logger);
    const deps = { reader: this.disk, codec: createWireCodec(), random: mathRandom, ...(options.crc32c ? { crc32c: options.crc32c } : {}) };
    const opened = Broker.recover(deps, options.config, this.time());
    // A refusal (missing or damaged metadata) names a file under the data directory: say which one.
    if (!opened.ok) throw new Error(`cannot start on data directory ${options.dataDir}: ${opened.error.message}`);
    this.broker = opened.value.broker;
    this.apply(opened.value.outputs);
  }

  get serverId(): string {
    return this.options.config.serverId;
  }

  get namespace(): string {
    return this.options.config.namespace;
  }

  get nats(): NatsConnection {
    return this.options.nats;
  }

  /** Read-only view of the core's state (for tests and metrics). */
  get view(): Broker["view"] {
    return this.broker.view;
  }

  private time(): InputTime {
    const now = process.hrtime.bigint();
    return { nowMs: timeMs(Number(now / 1_000_000n)), wallNs: timestampNs(this.wallOriginNs + now) };
  }

  request(request: ApiRequest): Promise<Result<ApiResponse>> {
    const requestId = this.nextId++;
    return new Promise((resolve) => {
      if (this.intakeStopped) return resolve(SHUTTING_DOWN);
      this.requests.set(requestId, resolve);
      this.enqueue((t) => ({ kind: "apiRequest", requestId, request, ...t }));
    });
  }

  subscribe(request: SubscribeRequest, sink: SubscriptionSink): Promise<Result<SubscriptionHandle>> {
    const subscriptionId = this.nextId++;
    return new Promise((resolve) => {
      if (this.intakeStopped) return resolve(SHUTTING_DOWN);
      this.subscriptions.set(subscriptionId, { sink, resolve });
      const maxBytes = sink.firstChunkMaxBytes?.();
      this.enqueue((t) => ({ kind: "subscribe", subscriptionId, request, ...(maxBytes !== undefined ? { maxBytes } : {}), ...t }));
    });
  }

  /**
   * Stops intake at once: unsubscribes from every stream subject and refuses new requests and
   * subscriptions with Unavailable. What was taken before still goes through the core; idempotent.
   */
  stopIntake(): void {
    if (this.intakeStopped) return;
    this.intakeStopped = true;
    for (const sub of this.natsSubs.values()) sub.unsubscribe();
    this.natsSubs.clear();
    this.options.logger.info({ queuedInputs: this.queue.size, pendingRequests: this.requests.size }, "intake stopped");
  }

  /** Stops intake, persists and answers what was taken, closes every log (checkpoints, syncs); idempotent. */
  shutdown(): Promise<void> {
    this.stopIntake();
    this.shutdownDone ??= this.stop();
    return this.shutdownDone;
  }

  private async stop(): Promise<void> {
    // The shutdown step's own persist (checkpoints, syncs) may go to the thread pool: wait for it.
    await new Promise<void>((resolve) => {
      this.resolveShutdown = resolve;
      this.enqueue((t) => {
        this.shutdownStepped = true;
        return { kind: "shutdown", ...t };
      });
      this.drain();
    });
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const sub of this.natsSubs.values()) sub.unsubscribe();
    this.natsSubs.clear();
    await this.dataPath.flush().catch(() => undefined);
    this.disk.closeAll();
    // Nothing is stepped after the shutdown: whatever still waits on the core gets Unavailable.
    for (const resolve of this.requests.values()) resolve(SHUTTING_DOWN);
    this.requests.clear();
    for (const pending of this.subscriptions.values()) {
      if (pending.resolve !== undefined) pending.resolve(SHUTTING_DOWN);
      else pending.sink.end(SHUTTING_DOWN.error);
    }
    this.subscriptions.clear();
  }

  private enqueue(make: InputMaker): void {
    this.queue.push(make);
    this.schedule();
  }

  private enqueueDelivery(delivery: NatsDelivery): void {
    // Arrived after the intake stop (NATS had sent it before our UNSUB): not taken, never acked.
    if (this.intakeStopped) return;
    this.queue.pushDelivery(delivery);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Feeds every queued input to the core, consecutive NATS deliveries as one batch; then ready() inputs, for a while. */
  private drain(): void {
    const sliceEnd = performance.now() + READY_SLICE_MS;
    while (!this.stopped && !this.persisting && !this.shutdownStepped) {
      let input = this.queue.next(this.time());
      if (input === undefined) {
        if (this.readyHead === this.readyInputs.length) break;
        if (performance.now() > sliceEnd) {
          this.schedule(); // the rest in a later turn, after whatever arrives meanwhile
          break;
        }
        input = this.readyInputs[this.readyHead++]!(this.time());
        if (this.readyHead === this.readyInputs.length) this.readyInputs = [];
        if (this.readyInputs.length === 0) this.readyHead = 0;
      }
      this.stepWith(input);
    }
    if (this.persisting) return; // the persist chain drains again when it is done
    if (this.shutdownStepped) return this.resolveShutdown?.();
    this.armTimer();
  }

  private stepWith(input: BrokerInput): void {
    this.apply(this.broker.step(input));
  }

  /** Carries out one step's outputs; persist first, then what depended on it, then the rest. */
  private apply(out: BrokerOutputs): void {
    let subscribed = false;
    for (const change of out.natsSubscriptions) subscribed = this.applyNatsEffect(change) || subscribed;
    // "CreateStream returned" must mean the subject is being captured: API answers of a step
    // that subscribed wait until the NATS server has processed the SUBs (one flush round trip).
    this.deferApiReplies = subscribed;
    for (const s of out.send) this.publish(s);
    logCoreEvents(this.options.logger, out.log);
    this.persistFrom(out, 0);
  }

  private publish(s: BrokerOutputs["send"][number]): void {
    this.dataPath.publish(s.subject, s.data, s.reply);
  }

  /** Applies a step's persist ops from `index` on; an op in the thread pool continues from its callback. */
  private persistFrom(out: BrokerOutputs, index: number): void {
    try {
      for (let i = index; i < out.persist.length; i++) {
        const op = out.persist[i]!;
        const next = (error: DiskError | undefined): void => (error === undefined ? this.persistFrom(out, i + 1) : this.persisted(out, error));
        if (op.kind === "fdatasync") {
          this.persisting = true;
          this.disk.fdatasyncAsync(op.path, next);
          return;
        }
        if (op.kind === "write" && chunksBytes(op.chunks) >= THREAD_POOL_WRITE_MIN_BYTES) {
          this.persisting = true;
          this.disk.writeAsync(op.path, op.position, op.chunks, next);
          return;
        }
        applyDiskOp(this.disk, op);
      }
    } catch (e) {
      if (e instanceof DiskError) return this.persisted(out, e);
      throw e;
    }
    this.persisted(out, undefined);
  }

  /** Releases (or fails) what waited for a step's persist, feeds the outcome back, and resumes. */
  private persisted(out: BrokerOutputs, failure: DiskError | undefined): void {
    if (failure === undefined) {
      for (const s of out.sendAfterPersist) this.publish(s);
      for (const e of out.replyAfterPersist) this.dispatch(e);
    } else {
      for (const e of failHeldReplies(out.replyAfterPersist, failure)) this.dispatch(e);
    }
    for (const e of out.reply) this.dispatch(e);
    const token = out.persistToken;
    if (token !== undefined) {
      const time = this.time();
      return this.apply(this.broker.step(failure === undefined ? { kind: "persisted", token, ...time } : { kind: "persistFailed", token, error: failure, ...time }));
    }
    if (!this.persisting) return;
    this.persisting = false;
    this.schedule();
  }

  private armTimer(): void {
    if (this.stopped) return;
    const deadline = this.broker.nextDeadline();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (deadline === undefined) return;
    const delayMs = Math.max(0, deadline - this.time().nowMs);
    this.timer = setTimeout(() => this.enqueue((t) => ({ kind: "tick", ...t })), delayMs);
    this.timer.unref();
  }

  /** Applies a NATS subscribe/unsubscribe effect; true when it subscribed. */
  private applyNatsEffect(effect: NatsSubscriptionChange): boolean {
    if (effect.kind === "natsSubscribe") {
      if (this.intakeStopped) return false; // e.g. a CreateStream taken just before the stop
      const sid = effect.sid;
      const sub = this.dataPath.subscribe(effect.subject, effect.queue, (subject, reply, data) => this.enqueueDelivery({ sid, subject, reply, data }));
      this.natsSubs.set(sid, sub);
      return true;
    }
    if (effect.kind === "natsUnsubscribe") {
      this.natsSubs.get(effect.sid)?.unsubscribe();
      this.natsSubs.delete(effect.sid);
    }
    return false;
  }

  private dispatch(effect: BrokerEffect): void {
    switch (effect.kind) {
      case "apiResponse": {
        const resolve = this.requests.get(effect.requestId);
        this.requests.delete(effect.requestId);
        if (resolve === undefined) return;
        if (!this.deferApiReplies) return resolve(effect.result);
        this.dataPath.flush().then(
          () => resolve(effect.result),
          () => resolve(effect.result),
        );
        return;
      }
      case "subscribed":
        return this.onSubscribed(effect.subscriptionId, effect.result);
      case "subscriptionRecords":
        this.subscriptions.get(effect.subscriptionId)?.sink.records(effect.stream, effect.partition, effect.records);
        return;
      case "subscriptionEnded":
        this.subscriptions.get(effect.subscriptionId)?.sink.end(effect.error);
        this.subscriptions.delete(effect.subscriptionId);
        return;
    }
  }

  private onSubscribed(id: number, result: Extract<BrokerEffect, { kind: "subscribed" }>["result"]): void {
    const pending = this.subscriptions.get(id);
    const resolve = pending?.resolve;
    if (pending === undefined || resolve === undefined) return;
    delete pending.resolve;
    if (!result.ok) {
      this.subscriptions.delete(id);
      return resolve(result);
    }
    resolve({
      ok: true,
      value: {
        startOffset: result.value.startOffset,
        ready: (maxBytes?: number) => {
          this.readyInputs.push((t) => ({ kind: "subscriptionReady", subscriptionId: id, ...(maxBytes !== undefined ? { maxBytes } : {}), ...t }));
          this.schedule();
        },
        cancel: () => {
          this.subscriptions.delete(id);
          this.enqueue((t) => ({ kind: "unsubscribe", subscriptionId: id, ...t }));
        },
      },
    });
  }
}
