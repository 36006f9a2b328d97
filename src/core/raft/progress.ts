// What the leader knows of one follower (etcd's tracker.Progress): how far its log matches, the
// next index to send, and the flow-control state: probe (one append per heartbeat until the match
// is found), replicate (pipelined appends, at most maxInflightMsgs unacknowledged) or snapshot
// (nothing until the snapshot is reported applied or failed).

/** The replication state of one follower. */
export type ProgressState = "probe" | "replicate" | "snapshot";

/** The leader's view of one member's log. */
export class Progress {
  /** The highest index known to match the leader's log. */
  match = 0;
  /** The next index to send. */
  next: number;
  state: ProgressState = "probe";
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from in the current CheckQuorum window. */
  recentActive = false;
  /** In probe state: an append is out, wait for its answer or the next heartbeat. */
  probeSent = false;
  /** In replicate state: the last index of each unacknowledged append, oldest first. */
  private readonly inflights: number[] = [];

  constructor(
    next: number,
    public isLearner: boolean,
    private readonly maxInflightMsgs: number,
  ) {
    this.next = next;
  }

  /** Back to probing from the match (a rejection or an unreachable follower). */
  becomeProbe(): void {
    const fromSnapshot = this.state === "snapshot";
    this.reset("probe");
    this.next = fromSnapshot ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.pendingSnapshot = 0;
  }

  /** Pipelining from the match on. */
  becomeReplicate(): void {
    this.reset("replicate");
    this.next = this.match + 1;
  }

  /** A snapshot at `index` is on its way: send nothing else until it is answered. */
  becomeSnapshot(index: number): void {
    this.reset("snapshot");
    this.pendingSnapshot = index;
  }

  /** Records an acknowledged match; false if it is stale (no progress). */
  maybeUpdate(index: number): boolean {
    const updated = this.match < index;
    if (updated) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    this.freeLE(index);
    return updated;
  }

  /**
   * Handles a rejected append of the entry after `rejected`: false when the rejection is stale
   * (answers an append sent before a later match), else moves `next` back using the follower's
   * hint (etcd's MaybeDecrTo).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Accounts for an append whose entries end at `lastIndex` (none: a probe carrying no entries). */
  sentEntries(lastIndex: number, entryCount: number): void {
    if (this.state === "replicate" && entryCount > 0) {
      this.next = lastIndex + 1;
      this.inflights.push(lastIndex);
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /** True when no append may be sent now (flow control). */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.length >= this.maxInflightMsgs;
      case "snapshot":
        return true;
    }
  }

  /** A heartbeat answer: a probe may go again, and a full pipeline frees one slot (etcd's FreeFirstOne). */
  onHeartbeatResponse(): void {
    this.probeSent = false;
    if (this.state === "replicate" && this.inflights.length >= this.maxInflightMsgs) this.inflights.shift();
  }

  /** Unacknowledged appends in flight. */
  get inflightCount(): number {
    return this.inflights.length;
  }

  private freeLE(index: number): void {
    let n = 0;
    while (n < this.inflights.length && (this.inflights[n] as number) <= index) n++;
    if (n > 0) this.inflights.splice(0, n);
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.inflights.length = 0;
  }
}
