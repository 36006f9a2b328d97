// The Raft safety properties (Raft paper, Figure 3), checked incrementally so they can run after
// every simulated event: Election Safety, Log Matching, Leader Completeness, State Machine Safety,
// commit indexes that never go back (on a running node, and durably across restarts), and the
// leader commit rule (§5.4.2: a leader's commit lands only on an entry of its own term).
import type { RaftEntry, RaftNodeId } from "../../src/core/raft/raft-types.js";

/** What the checker needs to see of a running node. */
export interface CheckedNode {
  readonly id: RaftNodeId;
  /** "down" while crashed (skipped). */
  readonly role: string;
  readonly term: number;
  readonly commitIndex: number;
  readonly firstIndex: number;
  termAt(index: number): number | undefined;
}

/** A short, comparable identity of an entry's content. */
export function entryKey(entry: RaftEntry): string {
  let s = `${entry.term}/${entry.type}/`;
  for (const b of entry.data) s += String.fromCharCode(b);
  return s;
}

/** Accumulates what the cluster has shown so far and names the first property broken. */
export class RaftSafetyChecker {
  private readonly leaderOfTerm = new Map<number, RaftNodeId>();
  /** Log Matching: (index, term) -> the entry's key and the term of the entry before it. */
  private readonly entries = new Map<string, { readonly key: string; readonly prevTerm: number | undefined }>();
  /** Every index known committed by some node, with its term. */
  private readonly committedTerms = new Map<number, number>();
  /** State Machine Safety: the entry applied at each index (by whichever node applied it first). */
  private readonly appliedKeys = new Map<number, string>();
  private readonly lastCommit = new Map<RaftNodeId, number>();
  private readonly lastLeaderTerm = new Map<RaftNodeId, number>();
  private failure: string | undefined;

  /** The first violation, or undefined. */
  get violation(): string | undefined {
    return this.failure;
  }

  /** Terms that had a leader so far. */
  get leaderTerms(): number {
    return this.leaderOfTerm.size;
  }

  /** Indexes known committed so far. */
  get committedCount(): number {
    return this.committedTerms.size;
  }

  /** Records a violation found elsewhere (the first one wins). */
  fail(message: string): void {
    this.failure ??= message;
  }

  /** Log Matching for entries a node is about to persist: same (index, term), same entry and same predecessor term. */
  onEntries(node: RaftNodeId, entries: readonly RaftEntry[], prevTermOf: (index: number) => number | undefined): void {
    for (const e of entries) {
      const slot = `${e.index}:${e.term}`;
      const seen = this.entries.get(slot);
      const prevTerm = prevTermOf(e.index - 1);
      if (seen === undefined) {
        this.entries.set(slot, { key: entryKey(e), prevTerm });
      } else if (seen.key !== entryKey(e)) {
        this.fail(`Log Matching: ${node} holds a different entry at index ${e.index} term ${e.term}`);
      } else if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        this.fail(`Log Matching: ${node} has term ${prevTerm} before ${e.index}/${e.term}, another node ${seen.prevTerm}`);
      }
    }
  }

  /** State Machine Safety: a node applies `entry` (in order after `appliedIndex`). */
  onApply(node: RaftNodeId, appliedIndex: number, entry: RaftEntry): void {
    if (entry.index !== appliedIndex + 1) this.fail(`State Machine Safety: ${node} applied ${entry.index} after ${appliedIndex}`);
    const key = entryKey(entry);
    const seen = this.appliedKeys.get(entry.index);
    if (seen === undefined) this.appliedKeys.set(entry.index, key);
    else if (seen !== key) this.fail(`State Machine Safety: ${node} applied ${JSON.stringify(key)} at ${entry.index}, another node ${JSON.stringify(seen)}`);
  }

  /** A node restarted: its commit index starts again from its durable commit. */
  onRestart(node: RaftNodeId, durableCommit: number): void {
    this.lastCommit.set(node, durableCommit);
    this.lastLeaderTerm.delete(node);
  }

  /** A node made a hard state durable: its durable commit never goes back. */
  onDurableCommit(node: RaftNodeId, previous: number, next: number): void {
    if (next < previous) this.fail(`commit monotonic: ${node}'s durable commit went from ${previous} to ${next}`);
  }

  /** After every event: Election Safety, commit monotonicity, committed entries, Leader Completeness. */
  afterEvent(nodes: readonly CheckedNode[]): void {
    for (const n of nodes) {
      if (n.role === "down") continue;
      this.checkCommit(n);
      if (n.role !== "leader") continue;
      const other = this.leaderOfTerm.get(n.term);
      if (other === undefined) this.leaderOfTerm.set(n.term, n.id);
      else if (other !== n.id) this.fail(`Election Safety: ${other} and ${n.id} both lead term ${n.term}`);
      if (this.lastLeaderTerm.get(n.id) !== n.term) {
        this.lastLeaderTerm.set(n.id, n.term);
        this.checkLeaderCompleteness(n);
      }
    }
  }

  private checkCommit(n: CheckedNode): void {
    const last = this.lastCommit.get(n.id) ?? 0;
    if (n.commitIndex < last) this.fail(`commit monotonic: ${n.id}'s commit went from ${last} to ${n.commitIndex}`);
    if (n.commitIndex <= last) return;
    this.lastCommit.set(n.id, n.commitIndex);
    // Raft §5.4.2: a leader moves its commit index only onto an entry of its own term (Figure 8).
    const termAtCommit = n.termAt(n.commitIndex);
    if (n.role === "leader" && termAtCommit !== undefined && termAtCommit !== n.term) {
      this.fail(`Leader commit rule: ${n.id}, leader of term ${n.term}, committed ${n.commitIndex} of term ${termAtCommit} by counting`);
    }
    for (let i = Math.max(last + 1, n.firstIndex - 1); i <= n.commitIndex; i++) {
      const term = n.termAt(i);
      if (term === undefined) continue;
      const seen = this.committedTerms.get(i);
      if (seen === undefined) this.committedTerms.set(i, term);
      else if (seen !== term) this.fail(`State Machine Safety: ${n.id} committed term ${term} at ${i}, another node term ${seen}`);
    }
  }

  /** Leader Completeness: a new leader holds every entry committed before it (or a snapshot covering it). */
  private checkLeaderCompleteness(n: CheckedNode): void {
    for (const [index, term] of this.committedTerms) {
      if (index < n.firstIndex - 1 || term > n.term) continue;
      const held = n.termAt(index);
      if (held !== term) this.fail(`Leader Completeness: ${n.id} leads term ${n.term} without committed entry ${index} of term ${term} (holds ${held})`);
    }
  }
}
