// A linearizability checker in the style of Wing & Gong's search with Lowe's memoization (as
// Porcupine does): a history of operations with invocation and completion times is linearizable
// when some total order that respects real time (an op that completed before another began comes
// first) is a legal run of a sequential model. Histories are split by the model's partition key
// (one stream name, one key) and each part is checked alone, which is what keeps it fast.
// Pure and deterministic: the simulator and jepsen-like/ (real processes) share it.

/** One operation of a history: what a client asked, what it was told, and when. */
export interface Operation<TInput, TOutput> {
  readonly clientId: string;
  readonly input: TInput;
  /** Undefined when the client never learned the outcome (timeout, crash): it may or may not have taken effect. */
  readonly output: TOutput | undefined;
  readonly callMs: number;
  /** Undefined with an unknown output: the op may take effect at any time after its call. */
  readonly returnMs: number | undefined;
}

/** A sequential specification: the states an op may lead to from a state, given what it returned. */
export interface Model<TState, TInput, TOutput> {
  readonly init: TState;
  /** The part of the history an op belongs to (ops of different parts never interact). */
  partition(input: TInput): string;
  /**
   * The states `input` may lead to from `state` when it returned `output` (empty: not allowed).
   * With `output` undefined the op's outcome is unknown: return every state it could leave.
   */
  step(state: TState, input: TInput, output: TOutput | undefined): readonly TState[];
  /** A key equal for equal states (memoization). */
  key(state: TState): string;
  /** A short text of an op, for reports. */
  describe(input: TInput, output: TOutput | undefined): string;
}

/** The verdict on one part of the history. */
export interface PartitionVerdict {
  readonly partition: string;
  readonly result: "ok" | "illegal" | "unknown";
  readonly operations: number;
  /** For "illegal": the ops of the longest linearizable prefix found, in order, then the one that could not follow. */
  readonly explanation: readonly string[];
}

/** The verdict on a whole history. */
export interface LinearizabilityReport {
  /** "unknown" when some part exceeded the search budget and none was illegal. */
  readonly result: "ok" | "illegal" | "unknown";
  readonly partitions: readonly PartitionVerdict[];
}

/** Options: `maxSearchSteps` bounds the search per part (a deterministic budget, not a clock). */
export interface CheckOptions {
  readonly maxSearchSteps?: number;
}

/** Checks a whole history against a model, part by part. */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], options: CheckOptions = {}): LinearizabilityReport {
  const parts = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    const key = model.partition(op.input);
    const part = parts.get(key);
    if (part === undefined) parts.set(key, [op]);
    else part.push(op);
  }
  const verdicts = [...parts.keys()].sort().map((key) => checkPartition(model, key, parts.get(key) ?? [], options.maxSearchSteps ?? 1_000_000));
  const result = verdicts.some((v) => v.result === "illegal") ? "illegal" : verdicts.some((v) => v.result === "unknown") ? "unknown" : "ok";
  return { result, partitions: verdicts };
}

/** A call or return event of the doubly linked event list the search unlinks and relinks. */
interface Event {
  readonly op: number;
  readonly isCall: boolean;
  /** The matching return of a call (undefined on returns). */
  match: Event | undefined;
  prev: Event | undefined;
  next: Event | undefined;
}

function checkPartition<S, I, O>(model: Model<S, I, O>, partition: string, ops: readonly Operation<I, O>[], maxSteps: number): PartitionVerdict {
  for (const op of ops) {
    if (!Number.isFinite(op.callMs) || (op.returnMs !== undefined && (!Number.isFinite(op.returnMs) || op.returnMs < op.callMs))) {
      throw new RangeError(`operation of ${op.clientId} has invalid times: call ${op.callMs}, return ${op.returnMs}`);
    }
  }
  const head = buildEvents(ops);
  const search = new Search(model, ops, head, maxSteps);
  const result = search.run();
  const explanation = result === "illegal" ? search.explain() : [];
  return { partition, result, operations: ops.length, explanation };
}

/** Events by time; at equal times calls come first, so touching ops count as concurrent (the lenient reading). */
function buildEvents<I, O>(ops: readonly Operation<I, O>[]): Event {
  const timed: { at: number; order: number; event: Event }[] = [];
  ops.forEach((op, i) => {
    const call: Event = { op: i, isCall: true, match: undefined, prev: undefined, next: undefined };
    const ret: Event = { op: i, isCall: false, match: undefined, prev: undefined, next: undefined };
    call.match = ret;
    timed.push({ at: op.callMs, order: 0, event: call }, { at: op.returnMs ?? Number.POSITIVE_INFINITY, order: 1, event: ret });
  });
  timed.sort((a, b) => a.at - b.at || a.order - b.order || a.event.op - b.event.op);
  const head: Event = { op: -1, isCall: false, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const { event } of timed) {
    last.next = event;
    event.prev = last;
    last = event;
  }
  return head;
}

/** The search over one part: a stack of (call, state before it) and a cache of visited configurations. */
class Search<S, I, O> {
  private readonly cache = new Set<string>();
  private readonly linearized: boolean[];
  private readonly stack: { call: Event; before: S; choice: number; choices: readonly S[] }[] = [];
  private best: { order: number[]; failedAt: number | undefined } = { order: [], failedAt: undefined };
  private steps = 0;

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly ops: readonly Operation<I, O>[],
    private readonly head: Event,
    private readonly maxSteps: number,
  ) {
    this.linearized = ops.map(() => false);
  }

  run(): "ok" | "illegal" | "unknown" {
    let state = this.model.init;
    let entry = this.head.next;
    while (this.head.next !== undefined) {
      if (++this.steps > this.maxSteps) return "unknown";
      if (entry !== undefined && entry.isCall) {
        const next = this.tryCall(entry, state);
        if (next !== undefined) {
          state = next;
          entry = this.head.next;
        } else {
          entry = entry.next;
        }
        continue;
      }
      // A return reached before its call was linearized: undo the last choice and try the next.
      const undone = this.backtrack();
      if (undone === undefined) return "illegal";
      ({ state, entry } = undone);
    }
    return "ok";
  }

  /** Linearizes `call` now if the model allows it from `state` and the configuration is new. */
  private tryCall(call: Event, state: S, from = 0): S | undefined {
    const op = this.ops[call.op]!;
    const choices = this.model.step(state, op.input, op.output);
    for (let i = from; i < choices.length; i++) {
      const next = choices[i]!;
      this.linearized[call.op] = true;
      const key = `${this.bits()}|${this.model.key(next)}`;
      if (this.cache.has(key)) {
        this.linearized[call.op] = false;
        continue;
      }
      this.cache.add(key);
      this.stack.push({ call, before: state, choice: i, choices });
      unlink(call);
      this.noteProgress(undefined);
      return next;
    }
    this.noteProgress(call.op);
    return undefined;
  }

  /** Pops the last linearized op back into the list; tries its next outcome, else continues after it. */
  private backtrack(): { state: S; entry: Event | undefined } | undefined {
    const top = this.stack.pop();
    if (top === undefined) return undefined;
    relink(top.call);
    this.linearized[top.call.op] = false;
    const next = this.tryCall(top.call, top.before, top.choice + 1);
    if (next !== undefined) return { state: next, entry: this.head.next };
    return { state: top.before, entry: top.call.next };
  }

  private bits(): string {
    return this.linearized.map((b) => (b ? "1" : "0")).join("");
  }

  private noteProgress(failedAt: number | undefined): void {
    if (this.stack.length < this.best.order.length) return;
    if (this.stack.length === this.best.order.length && (failedAt === undefined || this.best.failedAt !== undefined)) return;
    this.best = { order: this.stack.map((f) => f.call.op), failedAt };
  }

  /** The longest linearizable prefix seen, then an op that could not follow it. */
  explain(): string[] {
    const text = (i: number): string => {
      const op = this.ops[i]!;
      return `${op.clientId} ${this.model.describe(op.input, op.output)} [${op.callMs}, ${op.returnMs ?? "never"}]`;
    };
    const lines = this.best.order.map(text);
    if (this.best.failedAt !== undefined) lines.push(`then not: ${text(this.best.failedAt)}`);
    return lines;
  }
}

function unlink(call: Event): void {
  const ret = call.match!;
  call.prev!.next = call.next;
  if (call.next !== undefined) call.next.prev = call.prev;
  ret.prev!.next = ret.next;
  if (ret.next !== undefined) ret.next.prev = ret.prev;
}

function relink(call: Event): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== undefined) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== undefined) call.next.prev = call;
}
