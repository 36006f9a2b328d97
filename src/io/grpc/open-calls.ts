// The streaming calls (Subscribe, PublishAsync) a gRPC server has open, so that a graceful stop
// can end each with UNAVAILABLE (clients reconnect elsewhere) instead of letting grpc-js cancel
// them (CANCELLED, which go-liftbridge does not resubscribe on).

/** A streaming call that a stopping server ends itself. */
export interface StoppableCall {
  /** Answers what the call already took, then ends it with UNAVAILABLE; resolves once ended. */
  stopServing(): Promise<void>;
}

/** The open streaming calls of one server. */
export class OpenCalls {
  private readonly calls = new Set<StoppableCall>();

  /** Registers a call until `remove`. */
  add(call: StoppableCall): void {
    this.calls.add(call);
  }

  /** Forgets a call that ended. */
  remove(call: StoppableCall): void {
    this.calls.delete(call);
  }

  /** The number of open calls. */
  get size(): number {
    return this.calls.size;
  }

  /** Ends every open call with UNAVAILABLE. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.calls].map((c) => c.stopServing()));
  }
}
