// The production driver: the only place where the broker core meets real time, real files and a
// real NATS connection. It batches inputs per event-loop turn (every NATS message that arrived in
// one turn becomes one natsMessages input, hence one group commit) and hands each to the node
// runtime (src/core/runtime/node-runtime.ts), which applies the persist lanes and releases what
// depended on them, the same loop the simulator runs. This file is its IO: an fdatasync, and the
// write of a group commit under load, run in libuv's thread pool (isThreadPoolOp), other ops on
// the event loop; the core keeps stepping while they are in flight. Reads (a subscriber's next
// chunk) run in the thread pool too, under the same bound.
import type { NatsConnection } from "nats";
import { Broker, type BrokerInput } from "../core/broker/broker.js";
import type { ApiRequest, ApiResponse, BrokerEffect, SubscribeRequest } from "../core/broker/api-types.js";
import type { BrokerConfig } from "../core/broker/broker-config.js";
import type { NatsDelivery } from "../core/broker/partition.js";
import { failHeldReplies } from "../core/broker/failed-persist.js";
import { BrokerInputQueue, type InputMaker } from "../core/broker/input-queue.js";
import type { Crc32c } from "../core/crc32c.js";
import { applyDiskOp, DiskError } from "../core/disk.js";
import { NodeRuntime, runtimeBugs, type NodeIo } from "../core/runtime/node-runtime.js";
import { isThreadPoolOp } from "../core/runtime/thread-pool-op.js";
import type { Result } from "../core/errors.js";
import type { InputTime, NatsSubscriptionChange } from "../core/outputs.js";
import { timeMs, timestampNs, type TimeMs } from "../core/types.js";
import type { BrokerService, SubscriptionHandle, SubscriptionSink } from "./broker-service.js";
import { createWireCodec } from "./broker-wire-codec.js";
import { mathRandom } from "./embedded-nats/math-random.js";
import { logCoreEvents, type Logger } from "./logger.js";
import { BoundedJobs } from "./bounded-jobs.js";
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

export { THREAD_POOL_WRITE_MIN_BYTES } from "../core/runtime/thread-pool-op.js";

/** Thread-pool disk ops in flight at once, over every lane (libuv runs 4 at a time). */
const THREAD_POOL_OPS_MAX = 16;

/** Reads in flight at once: fewer than libuv's 4 threads, so fdatasyncs always find one. */
const READS_MAX = 2;

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
  /** Called once (in a later turn) when the core says this broker must not go on (Broker.view.fatal): stop the process. */
  readonly onFatal?: (reason: string) => void;
}

/** A running broker: the core, its disk, its NATS subscriptions and its timer. */
export class BrokerDriver implements BrokerService {
  private readonly broker: Broker;
  private readonly runtime: NodeRuntime<BrokerInput, BrokerEffect>;
  /**
   * Thread-pool disk ops (each pins a descriptor while it runs: a checkpoint of 10,000 partition
   * lanes must not pin 10,000; the pool has 4 threads anyway).
   */
  private readonly threadPool = new BoundedJobs(THREAD_POOL_OPS_MAX, () => this.maybeShutdownDone());
  /** Reads, in a queue of their own: a herd of subscribers catching up never delays a group commit's fdatasync. */
  private readonly reads = new BoundedJobs(READS_MAX);
  private readonly disk: NodeDisk;
  private readonly queue = new BrokerInputQueue();
  /**
   * Subscribers' work, after the queue's inputs, at most READY_SLICE_MS per turn: their
   * subscriptionReady inputs and their reads' completions (each verifies and sends a chunk).
   */
  private readyWork: Array<() => void> = [];
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
  /** API requests whose step subscribed to NATS subjects: answered after a flush round trip. */
  private readonly flushFirst = new Set<number>();
  /** Set once the shutdown input has been stepped: nothing after it is. */
  private shutdownStepped = false;
  private shutdownDone: Promise<void> | undefined;
  private resolveShutdown: (() => void) | undefined;
  private fatalReported = false;

  /** Recovers the broker from `dataDir` and starts consuming its partitions' subjects. */
  constructor(private readonly options: BrokerDriverOptions) {
    this.disk = new NodeDisk(options.dataDir);
    this.dataPath = options.dataPath ?? new NatsJsDataPath(options.nats, options.logger);
    const deps = { reader: this.disk, codec: createWireCodec(), random: mathRandom, ...(options.crc32c ? { crc32c: options.crc32c } : {}) };
    const opened = Broker.recover(deps, options.config, this.time());
    // A refusal (missing or damaged metadata) names a file under the data directory: say which one.
    if (!opened.ok) throw new Error(`cannot start on data directory ${options.dataDir}: ${opened.error.message}`);
    this.broker = opened.value.broker;
    this.runtime = new NodeRuntime(this.broker, this.io(), runtimeBugs(options.config));
    this.runtime.apply(opened.value.outputs);
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
    while (!this.stopped && !this.shutdownStepped) {
      const input = this.queue.next(this.time());
      if (input === undefined) {
        if (this.readyHead === this.readyWork.length) break;
        if (performance.now() > sliceEnd) {
          this.schedule(); // the rest in a later turn, after whatever arrives meanwhile
          break;
        }
        this.nextReadyWork()();
        continue;
      }
      this.runtime.step(input);
    }
    // After the shutdown step, reads in flight must still come back: the logs' closes wait for them.
    while (this.shutdownStepped && !this.stopped && this.readyHead < this.readyWork.length) this.nextReadyWork()();
    this.maybeShutdownDone();
  }

  private nextReadyWork(): () => void {
    const work = this.readyWork[this.readyHead++]!;
    if (this.readyHead === this.readyWork.length) this.readyWork = [];
    if (this.readyWork.length === 0) this.readyHead = 0;
    return work;
  }

  /** After the shutdown step, the stop waits for its persists (checkpoints, syncs) to complete. */
  private maybeShutdownDone(): void {
    if (this.shutdownStepped && this.runtime.idle) this.resolveShutdown?.();
  }

  /** The driver's side of the node runtime: thread-pool and event-loop disk ops, NATS, effects, the timer. */
  private io(): NodeIo<BrokerEffect> {
    return {
      time: () => this.time(),
      startOp: (_lane, op, done) => {
        if (!isThreadPoolOp(op)) return done(this.applyNow(() => applyDiskOp(this.disk, op)));
        this.threadPool.run((release) => {
          const finish = (error: DiskError | undefined): void => {
            done(error);
            release();
          };
          // Opening the file may fail at once (EMFILE): that is the op's outcome too.
          const failed = this.applyNow(() => {
            if (op.kind === "fdatasync") this.disk.fdatasyncAsync(op.path, finish);
            else if (op.kind === "write") this.disk.writeAsync(op.path, op.position, op.chunks, finish);
          });
          if (failed !== undefined) finish(failed);
        });
      },
      read: (request, done) => {
        this.reads.run((release) => {
          // Delivered with the subscribers' other work (after publishes, in slices); the slot is
          // held until then, so at most READS_MAX chunks wait in memory.
          const finish = (result: Uint8Array | DiskError): void => {
            this.readyWork.push(() => {
              done(result);
              release();
            });
            this.schedule();
          };
          try {
            this.disk.readAsync(request.path, request.position, request.length, finish);
          } catch (e) {
            if (!(e instanceof DiskError)) throw e;
            finish(e);
          }
        });
      },
      stepped: (out) => {
        // The runtime applies out.natsSubscriptions right after this call.
        const subscribed = !this.intakeStopped && out.natsSubscriptions.some((c) => c.kind === "natsSubscribe");
        // "CreateStream returned" must mean the subject is being captured: API answers of a step
        // that subscribed wait until the NATS server has processed the SUBs (one flush round trip).
        if (subscribed) {
          for (const e of out.reply) if (e.kind === "apiResponse") this.flushFirst.add(e.requestId);
          for (const g of out.persists) for (const e of g.replyAfterPersist) if (e.kind === "apiResponse") this.flushFirst.add(e.requestId);
        }
        logCoreEvents(this.options.logger, out.log);
        this.checkFatal();
      },
      natsSubscription: (change) => this.applyNatsEffect(change),
      send: (s) => this.dataPath.publish(s.subject, s.data, s.reply),
      reply: (e) => this.dispatch(e),
      failHeld: failHeldReplies,
      armDeadline: (at) => this.armTimer(at),
    };
  }

  /**
   * The core set Broker.view.fatal (a second bootstrap seed, a join nobody answered): log it once
   * and hand it to onFatal in a later turn (its graceful stop must not run inside this step).
   */
  private checkFatal(): void {
    const reason = this.broker.view.fatal;
    if (reason === undefined || this.fatalReported) return;
    this.fatalReported = true;
    this.options.logger.error({ reason }, "the broker cannot go on: stopping");
    const onFatal = this.options.onFatal;
    if (onFatal !== undefined) setImmediate(() => onFatal(reason));
  }

  /** Runs a synchronous disk call; a DiskError is its outcome, anything else a bug. */
  private applyNow(call: () => void): DiskError | undefined {
    try {
      call();
      return undefined;
    } catch (e) {
      if (e instanceof DiskError) return e;
      throw e;
    }
  }

  private armTimer(deadline: TimeMs | undefined): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (deadline === undefined) return;
    const delayMs = Math.max(0, deadline - this.time().nowMs);
    this.timer = setTimeout(() => {
      this.runtime.deadlineFired();
      this.enqueue((t) => ({ kind: "tick", ...t }));
    }, delayMs);
    this.timer.unref();
  }

  /** Applies a NATS subscribe/unsubscribe change. */
  private applyNatsEffect(effect: NatsSubscriptionChange): void {
    if (effect.kind === "natsSubscribe") {
      if (this.intakeStopped) return; // e.g. a CreateStream taken just before the stop
      const sid = effect.sid;
      const sub = this.dataPath.subscribe(effect.subject, effect.queue, (subject, reply, data) => this.enqueueDelivery({ sid, subject, reply, data }));
      this.natsSubs.set(sid, sub);
      return;
    }
    this.natsSubs.get(effect.sid)?.unsubscribe();
    this.natsSubs.delete(effect.sid);
  }

  private dispatch(effect: BrokerEffect): void {
    switch (effect.kind) {
      case "apiResponse": {
        const resolve = this.requests.get(effect.requestId);
        this.requests.delete(effect.requestId);
        const flushFirst = this.flushFirst.delete(effect.requestId);
        if (resolve === undefined) return;
        if (!flushFirst) return resolve(effect.result);
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
          this.readyWork.push(() => this.runtime.step({ kind: "subscriptionReady", subscriptionId: id, ...(maxBytes !== undefined ? { maxBytes } : {}), ...this.time() }));
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
