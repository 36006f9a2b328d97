// The one loop that applies a core's Outputs (docs/runtime.md): production's driver, the
// simulator's node and the test harness are IO adapters around it. Pure and callback-driven: the
// IO starts disk ops and calls back when each completes (now or later); the runtime keeps the
// core stepping meanwhile (pipelining), runs each lane's groups in token order (a lane's ops one
// after another, lanes side by side), releases what depended on a group once it and every earlier
// group of its lane succeeded, feeds `persisted`/`persistFailed` back, and re-arms the deadline.
// Reads (Outputs.reads) queue in their lane too, so they see every group staged before them, and
// come back as `readCompleted`/`readFailed` as soon as they are done, in any order.
import { assert } from "../assert.js";
import type { DiskError, DiskOp } from "../disk.js";
import { METADATA_LANE, type BaseInput, type InputTime, type LaneId, type NatsSubscriptionChange, type Outputs, type PersistGroup, type ReadRequest, type Send } from "../outputs.js";
import type { TimeMs } from "../types.js";

/** What the runtime drives: a core with one step() and one deadline. */
export interface NodeCore<TInput, TReply> {
  step(input: TInput | BaseInput): Outputs<TReply>;
  nextDeadline(): TimeMs | undefined;
}

/** What an adapter provides: clocks, disk ops, the network, effects, one timer. */
export interface NodeIo<TReply> {
  time(): InputTime;
  /** Starts one op of `lane`; calls `done` exactly once, synchronously or later. */
  startOp(lane: LaneId, op: DiskOp, done: (error: DiskError | undefined) => void): void;
  /** Starts one read; calls `done` exactly once with the bytes (short at end of file) or the error, now or later. */
  read(request: ReadRequest, done: (result: Uint8Array | DiskError) => void): void;
  /** Called with every step's outputs before anything of them is released (logs). */
  stepped(out: Outputs<TReply>): void;
  /** Subscribes or unsubscribes on NATS; the runtime calls it at once, before the step's sends. */
  natsSubscription(change: NatsSubscriptionChange): void;
  send(send: Send): void;
  reply(reply: TReply): void;
  /** What replies held behind a failed persist become (errors whose outcome is unknown). */
  failHeld(replies: readonly TReply[], error: DiskError): readonly TReply[];
  /** The core's next deadline changed (undefined: none). */
  armDeadline(atMs: TimeMs | undefined): void;
}

/** Test-only mistakes in the loop that the simulator must catch (the bug bank). */
export interface RuntimeBugs {
  /** Runs a lane's fdatasyncs side by side and completes (releases) each group when its own ops are done, before earlier groups of its lane. */
  readonly ackBeforeEarlierPersist?: boolean;
}

/** The runtime's switches of a broker's bug bank (none in production). */
export function runtimeBugs(config: { readonly plantedBugs?: RuntimeBugs }): RuntimeBugs {
  return config.plantedBugs?.ackBeforeEarlierPersist === true ? { ackBeforeEarlierPersist: true } : {};
}

interface QueuedGroup<TReply> {
  readonly group: PersistGroup<TReply>;
  /** Index of the next op to start. */
  next: number;
  /** Ops started and not yet completed (one, or several fdatasyncs of earlier steps' groups). */
  inFlight: number;
  /** Set while one of this group's ops runs: its next op waits (ops of a group run one after another). */
  running: boolean;
  done: boolean;
  released: boolean;
  error: DiskError | undefined;
  /** Set for a read queued in the lane (its group has no ops and releases nothing). */
  readonly read?: ReadRequest;
  /** A done read's bytes. */
  bytes?: Uint8Array;
}

interface Lane<TReply> {
  readonly groups: QueuedGroup<TReply>[];
  /** Ops in the IO's hands, and how many of them are fdatasyncs and reads. */
  inFlight: number;
  syncsInFlight: number;
  readsInFlight: number;
  /** The files reads in flight read, with how many: only ops that change those files wait for them. */
  readonly readPaths: Map<string, number>;
}

/**
 * Ops that may start while an earlier group's fdatasync is still in flight (pipelining): writes
 * and new files land after it in the kernel's order whatever the sync covers. Anything that
 * removes, renames, truncates or closes a file waits until the lane has nothing in flight.
 */
function overlapsSyncs(lane: LaneId, op: DiskOp): boolean {
  // Not on the metadata lane: its log's recovery reads damage followed by data as corruption, not
  // a torn tail, so a record must be durable before the next one is written (proposals are rare).
  if (lane === METADATA_LANE) return false;
  return op.kind === "write" || op.kind === "create" || op.kind === "fdatasync";
}

/** True when `op` would change (or drop the handle of) a file a read in flight in the lane reads. */
function changesRead<TReply>(lane: Lane<TReply>, op: DiskOp): boolean {
  if (lane.readPaths.size === 0) return false;
  switch (op.kind) {
    case "write":
    case "fdatasync":
    case "mkdir":
    case "syncDir":
      return false; // appends past what is read (reads stop at the high watermark), or no file data
    case "rename":
      return lane.readPaths.has(op.from) || lane.readPaths.has(op.to);
    case "removeTree":
      return [...lane.readPaths.keys()].some((p) => p === op.path || p.startsWith(`${op.path}/`));
    case "create":
    case "truncate":
    case "remove":
    case "close":
      return lane.readPaths.has(op.path);
  }
}

/** Steps a core and applies its outputs over an IO adapter. */
export class NodeRuntime<TInput, TReply> {
  private readonly lanes = new Map<LaneId, Lane<TReply>>();
  /** Tokens handed to the runtime and not yet fed back to the core. */
  private readonly pending = new Set<number>();
  private driving = false;
  /** Lanes that may move (a new group, an op done); only these are visited, not all 10,000. */
  private readonly dirty = new Set<LaneId>();
  /** Lanes whose next group waits for tokens of other lanes: visited again when any token completes. */
  private readonly blocked = new Set<LaneId>();
  private deadline: TimeMs | undefined;
  private stopped = false;

  constructor(
    private readonly core: NodeCore<TInput, TReply>,
    private readonly io: NodeIo<TReply>,
    private readonly bugs: RuntimeBugs = {},
  ) {}

  /** Applies outputs the core returned outside step() (Broker.recover's). */
  apply(out: Outputs<TReply>): void {
    this.accept(out);
    this.drive();
  }

  /** Steps the core with one input and applies what it returned. */
  step(input: TInput): void {
    assert(!this.stopped, "a stopped runtime takes no input");
    this.apply(this.core.step(input));
  }

  /** The adapter's timer fired: the deadline is armed again after the next step, even if unchanged. */
  deadlineFired(): void {
    this.deadline = undefined;
  }

  /** True when no persist is queued or in flight. */
  get idle(): boolean {
    return this.pending.size === 0;
  }

  /** Forgets everything in flight (the process died): completions after this are ignored. */
  stop(): void {
    this.stopped = true;
    this.lanes.clear();
    this.pending.clear();
    this.dirty.clear();
    this.blocked.clear();
  }

  private accept(out: Outputs<TReply>): void {
    this.io.stepped(out);
    // An interest must be registered before anything that depends on it is published.
    for (const change of out.natsSubscriptions) this.io.natsSubscription(change);
    for (const s of out.send) this.io.send(s);
    for (const r of out.reply) this.io.reply(r);
    for (const group of out.persists) {
      const lane = this.laneOf(group.lane);
      const last = lane.groups.findLast((g) => g.read === undefined);
      assert(last === undefined || last.group.token < group.token, `tokens of lane ${group.lane} arrive in order`);
      lane.groups.push({ group, next: 0, inFlight: 0, running: false, done: false, released: false, error: undefined });
      this.dirty.add(group.lane);
      this.pending.add(group.token);
    }
    // After the step's groups: a read sees what the core assumed when it asked.
    for (const read of out.reads) {
      const group: PersistGroup<TReply> = { lane: read.lane, token: read.token, ops: [], after: read.after, sendAfterPersist: [], replyAfterPersist: [] };
      this.laneOf(read.lane).groups.push({ group, next: 0, inFlight: 0, running: false, done: false, released: false, error: undefined, read });
      this.dirty.add(read.lane);
    }
    const deadline = this.core.nextDeadline();
    if (deadline !== this.deadline) {
      this.deadline = deadline;
      this.io.armDeadline(deadline);
    }
  }

  private laneOf(id: LaneId): Lane<TReply> {
    let lane = this.lanes.get(id);
    if (lane === undefined) this.lanes.set(id, (lane = { groups: [], inFlight: 0, syncsInFlight: 0, readsInFlight: 0, readPaths: new Map() }));
    return lane;
  }

  /** Starts what can start and completes what is done, until nothing moves (re-entrant calls return). */
  private drive(): void {
    if (this.driving) return;
    this.driving = true;
    try {
      while (this.dirty.size > 0 && !this.stopped) {
        const id = this.dirty.values().next().value as LaneId;
        this.dirty.delete(id);
        for (let lane = this.lanes.get(id); lane !== undefined && this.advance(id, lane); lane = this.lanes.get(id));
      }
    } finally {
      this.driving = false;
    }
  }

  /** Moves one lane forward by one op or one completion; true when something changed. */
  private advance(id: LaneId, lane: Lane<TReply>): boolean {
    // A read releases nothing: it completes as soon as it is done, wherever it is in the lane.
    const read = lane.groups.findIndex((g) => g.read !== undefined && g.done);
    // Planted bug (test only): any done group completes, not only the lane's oldest.
    const head = lane.groups.findIndex((g) => g.read === undefined);
    const at = read >= 0 ? read : this.bugs.ackBeforeEarlierPersist === true ? lane.groups.findIndex((g) => g.done) : lane.groups[head]?.done === true ? head : -1;
    if (at >= 0) {
      const [first] = lane.groups.splice(at, 1) as [QueuedGroup<TReply>];
      if (first.read !== undefined) this.completeRead(first);
      else this.complete(first);
      if (lane.groups.length === 0 && this.lanes.get(id) === lane) this.lanes.delete(id);
      return true;
    }
    let moved = false;
    for (const g of lane.groups) {
      if (g.done || g.running || g.inFlight > 0 || g.next < g.group.ops.length || g.read !== undefined) continue;
      g.done = true;
      moved = true;
    }
    return this.startNext(id, lane) || moved;
  }

  /**
   * Starts the lane's next op, in order. Writes and new files may start while an earlier group's
   * fdatasync is in flight, passing groups parked at their final fdatasync; one fdatasync runs at
   * a time per lane, and it also completes the parked groups behind it that sync the same file
   * (pipelined group commit: one sync for every write that landed while the previous one ran).
   */
  private startNext(id: LaneId, lane: Lane<TReply>): boolean {
    for (let i = 0; i < lane.groups.length; i++) {
      const g = lane.groups[i] as QueuedGroup<TReply>;
      if (g.read !== undefined) {
        if (g.running || g.done) continue;
        if (!this.mayStartRead(id, lane, g)) return false;
        this.startRead(lane, g, g.read);
        return true;
      }
      if (g.done || g.next === g.group.ops.length) continue;
      if (g.running || g.error !== undefined) return false;
      if (!g.group.after.every((t) => !this.pending.has(t))) {
        this.blocked.add(id);
        return false;
      }
      const op = g.group.ops[g.next] as DiskOp;
      // Reads in flight hold back only what could change the bytes they read (a remove, rename or truncate of their file).
      const writing = lane.inFlight - lane.readsInFlight;
      if (changesRead(lane, op)) return false;
      if (op.kind === "fdatasync") {
        if (writing === 0) {
          this.start(id, lane, [g, ...this.parkedBehind(lane, i, op.path)], op);
          return true;
        }
        // Planted bug (test only): a second fdatasync of the lane runs beside the first and may finish first.
        if (this.bugs.ackBeforeEarlierPersist === true && writing === lane.syncsInFlight) {
          this.start(id, lane, [g], op);
          return true;
        }
        // Parked at its last op behind the running sync: later groups' writes may pass it.
        if (writing === lane.syncsInFlight && g.next === g.group.ops.length - 1) continue;
        return false;
      }
      if (writing === 0 || (writing === lane.syncsInFlight && overlapsSyncs(id, op))) {
        this.start(id, lane, [g], op);
        return true;
      }
      return false;
    }
    return false;
  }

  /** A read may start once its barrier passed and only fdatasyncs and other reads are in flight in its lane. */
  private mayStartRead(id: LaneId, lane: Lane<TReply>, g: QueuedGroup<TReply>): boolean {
    if (!g.group.after.every((t) => !this.pending.has(t))) {
      this.blocked.add(id);
      return false;
    }
    return lane.inFlight === lane.syncsInFlight + lane.readsInFlight;
  }

  private startRead(lane: Lane<TReply>, g: QueuedGroup<TReply>, read: ReadRequest): void {
    g.running = true;
    lane.inFlight++;
    lane.readsInFlight++;
    lane.readPaths.set(read.path, (lane.readPaths.get(read.path) ?? 0) + 1);
    this.io.read(read, (result) => {
      if (this.stopped) return;
      g.running = false;
      g.done = true;
      lane.inFlight--;
      lane.readsInFlight--;
      const left = (lane.readPaths.get(read.path) ?? 1) - 1;
      if (left === 0) lane.readPaths.delete(read.path);
      else lane.readPaths.set(read.path, left);
      if (result instanceof Uint8Array) g.bytes = result;
      else g.error = result;
      this.dirty.add(read.lane);
      this.drive();
    });
  }

  /** A read is done: its bytes or its error go back to the core. */
  private completeRead(g: QueuedGroup<TReply>): void {
    const time = this.io.time();
    const token = g.group.token;
    this.accept(this.core.step(g.error === undefined ? { kind: "readCompleted", token, bytes: g.bytes ?? new Uint8Array(0), ...time } : { kind: "readFailed", token, error: g.error, ...time }));
  }

  /** The groups right after index `i` whose only op left is an fdatasync of `path`. */
  private parkedBehind(lane: Lane<TReply>, i: number, path: string): QueuedGroup<TReply>[] {
    const parked: QueuedGroup<TReply>[] = [];
    for (const q of lane.groups.slice(i + 1)) {
      const op = q.group.ops[q.next];
      const ready = !q.running && q.inFlight === 0 && q.error === undefined && q.next === q.group.ops.length - 1 && q.group.after.every((t) => !this.pending.has(t));
      if (!ready || op?.kind !== "fdatasync" || op.path !== path) break;
      parked.push(q);
    }
    return parked;
  }

  private start(id: LaneId, lane: Lane<TReply>, groups: readonly QueuedGroup<TReply>[], op: DiskOp): void {
    for (const g of groups) {
      g.next++;
      g.inFlight++;
      g.running = true;
    }
    lane.inFlight++;
    const sync = op.kind === "fdatasync";
    if (sync) lane.syncsInFlight++;
    this.io.startOp(id, op, (error) => {
      if (this.stopped) return;
      for (const g of groups) {
        g.inFlight--;
        g.running = false;
      }
      lane.inFlight--;
      if (sync) lane.syncsInFlight--;
      if (error !== undefined) this.fail(lane, groups[0] as QueuedGroup<TReply>, error);
      this.dirty.add(id);
      this.drive();
    });
  }

  /** An op failed: its group fails, and so does every later group of the lane (their ops assumed it). */
  private fail(lane: Lane<TReply>, g: QueuedGroup<TReply>, error: DiskError): void {
    for (const q of lane.groups.slice(lane.groups.indexOf(g))) {
      // A read assumed nothing of the failed group's ops being done: it runs anyway.
      if (q.error !== undefined || q.read !== undefined) continue;
      q.error = error;
      q.next = q.group.ops.length; // nothing more of it starts
    }
  }

  /** A group at the head of its lane is done: release or fail its dependents, tell the core. */
  private complete(g: QueuedGroup<TReply>): void {
    this.release(g);
    this.pending.delete(g.group.token);
    for (const id of this.blocked) this.dirty.add(id);
    this.blocked.clear();
    const time = this.io.time();
    const token = g.group.token;
    this.accept(this.core.step(g.error === undefined ? { kind: "persisted", token, ...time } : { kind: "persistFailed", token, error: g.error, ...time }));
  }

  private release(g: QueuedGroup<TReply>): void {
    if (g.released) return;
    g.released = true;
    if (g.error !== undefined) {
      for (const r of this.io.failHeld(g.group.replyAfterPersist, g.error)) this.io.reply(r);
      return;
    }
    for (const s of g.group.sendAfterPersist) this.io.send(s);
    for (const r of g.group.replyAfterPersist) this.io.reply(r);
  }
}
