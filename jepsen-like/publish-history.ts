// The history of a black-box run: every publish a client attempted, with its publisher, its
// per-publisher sequence number and what the broker answered (an ack with its offset, an error,
// or nothing before the crash). Message values carry the id, so a read can be matched back.

/** How a publish ended, as the client saw it. */
export type PublishOutcome =
  /** Sent; no answer (yet, or ever: the broker was killed). The message may or may not be stored. */
  | "pending"
  /** Acked without error: it must be stored, exactly once, in publisher order. */
  | "acked"
  /** Answered with an error (error ack, or an RPC error): not acked, may still be stored. */
  | "failed";

/** One publish attempt. */
export interface PublishOp {
  readonly publisher: string;
  readonly seq: number;
  /** `publisher#seq`, unique in the run. */
  readonly id: string;
  readonly partition: number;
  outcome: PublishOutcome;
  /** The offset the ack named, when acked. */
  ackOffset: number | undefined;
}

const SEPARATOR = "|";

/** The value a message carries: its id, then padding (so batches reach realistic sizes). */
export function messageValue(id: string, paddingBytes: number): Buffer {
  return Buffer.from(id + SEPARATOR + "x".repeat(paddingBytes), "utf8");
}

/** The id a read message carries, or undefined when the value is not one of ours. */
export function idOfValue(value: Uint8Array): string | undefined {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
  const end = text.indexOf(SEPARATOR);
  if (end <= 0) return undefined;
  const id = text.slice(0, end);
  return /^[A-Za-z0-9_.-]+#\d+$/.test(id) ? id : undefined;
}

/** Records publishes as the publishers make them; one per run, shared by every cycle. */
export class PublishHistory {
  private readonly byId = new Map<string, PublishOp>();
  private readonly nextSeq = new Map<string, number>();
  private ackWaiters: (() => void)[] = [];

  /** Records a publish about to be sent; returns its op (the caller sends messageValue(op.id)). */
  invoke(publisher: string, partition: number): PublishOp {
    const seq = this.nextSeq.get(publisher) ?? 0;
    this.nextSeq.set(publisher, seq + 1);
    const op: PublishOp = { publisher, seq, id: `${publisher}#${seq}`, partition, outcome: "pending", ackOffset: undefined };
    this.byId.set(op.id, op);
    return op;
  }

  /** The broker acked `id` at `offset`; a late answer for an op already settled is ignored. */
  ack(id: string, offset: number): void {
    const op = this.byId.get(id);
    if (op === undefined || op.outcome !== "pending") return;
    op.outcome = "acked";
    op.ackOffset = offset;
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next ack (a nemesis kills the broker right after one). */
  nextAck(): Promise<void> {
    return new Promise((resolve) => this.ackWaiters.push(resolve));
  }

  /** The broker answered `id` with an error. */
  fail(id: string): void {
    const op = this.byId.get(id);
    if (op !== undefined && op.outcome === "pending") op.outcome = "failed";
  }

  /** The op of `id`, if it was published. */
  get(id: string): PublishOp | undefined {
    return this.byId.get(id);
  }

  /** Every op, in invocation order. */
  ops(): PublishOp[] {
    return [...this.byId.values()];
  }
}
