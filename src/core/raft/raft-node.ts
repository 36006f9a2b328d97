// One Raft member, pure and synchronous after etcd's RawNode: the application feeds it messages
// (step), logical clock ticks (tick) and requests (propose, proposeConfChange, transferLeadership),
// then drains a Ready (what to persist, apply and send) and calls advance once it has done so.
//
// THE READY CONTRACT: the application MUST make a Ready's snapshot, entries and hard state durable
// (entries and snapshot before, or in the same sync as, the hard state) BEFORE it sends any of the
// Ready's messages, and it applies the committed entries after that too. Every message therefore
// leaves after the term, vote and entries it depends on are durable: a vote is never granted twice
// in a term across a crash, an acknowledged entry is never lost. The leader counts its own entries
// toward commit only once advance reports them durable.
import { assert } from "../assert.js";
import type { Random } from "../random.js";
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange, type ConfChange } from "./raft-conf-change.js";
import { raftError, type RaftResult } from "./raft-errors.js";
import { RaftLog } from "./raft-log.js";
import { messageProblem, raftMessage, type RaftMessage } from "./raft-message.js";
import { Progress } from "./progress.js";
import { committedIndex, hasQuorum, voteResult } from "./quorum.js";
import type { ConfState, HardState, RaftEntry, RaftNodeId, RaftSnapshot, RaftStorage } from "./raft-types.js";

/** Test-only switches that plant known Raft bugs, so the simulator can show it catches them. */
export interface RaftPlantedBugs {
  /** Commit an entry of an earlier term by counting replicas (Raft paper, Figure 8). */
  readonly commitPreviousTermByCount?: boolean;
  /** Campaign without a pre-vote (a rejoining node bumps everybody's term). */
  readonly noPreVote?: boolean;
  /** The leader never steps down for want of a quorum, and voters ignore the leader lease. */
  readonly noCheckQuorum?: boolean;
  /** A granted vote leaves before the hard state holding it is handed over to persist. */
  readonly voteWithoutPersist?: boolean;
}

/** How a node runs; every field but id, storage and random has a default. */
export interface RaftConfig {
  readonly id: RaftNodeId;
  readonly storage: RaftStorage;
  /** Draws the randomized election timeout ("raftElectionTimeoutTicks"). */
  readonly random: Random;
  /** Ticks without a leader before campaigning; randomized in [electionTicks, 2 * electionTicks). */
  readonly electionTicks?: number;
  /** Ticks between a leader's heartbeats (less than electionTicks). */
  readonly heartbeatTicks?: number;
  /** The most entry bytes in one append (at least one entry is always sent). */
  readonly maxSizePerMsgBytes?: number;
  /** Appends in flight to one follower in replicate state (pipelining). */
  readonly maxInflightMsgs?: number;
  /** The most entry bytes handed to apply in one Ready. */
  readonly maxCommittedSizePerReadyBytes?: number;
  /** The last index the application applied (default: the snapshot's index). */
  readonly applied?: number;
  readonly plantedBugs?: RaftPlantedBugs;
}

/** A member's role. */
export type RaftRole = "follower" | "preCandidate" | "candidate" | "leader";

/** What the application must persist, apply and send, in that order (see the contract above). */
export interface Ready {
  /** The hard state to persist, when it changed since the last Ready. */
  readonly hardState?: HardState;
  /** Entries to append to durable storage (an entry at a held index replaces it and cuts the tail). */
  readonly entries: readonly RaftEntry[];
  /** A snapshot received from the leader: persist it and restore the state machine from it. */
  readonly snapshot?: RaftSnapshot;
  /** Committed entries to apply, in order, after the above are durable. */
  readonly committedEntries: readonly RaftEntry[];
  /** Messages to send AFTER the above are durable. */
  readonly messages: readonly RaftMessage[];
}

const DEFAULTS = { electionTicks: 10, heartbeatTicks: 1, maxSizePerMsgBytes: 64 * 1024, maxInflightMsgs: 64, maxCommittedSizePerReadyBytes: 1024 * 1024 };

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** One Raft member (etcd's raft + RawNode): never does IO, never reads a clock. */
export class RaftNode {
  readonly id: RaftNodeId;
  private readonly log: RaftLog;
  private readonly random: Random;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly maxSizePerMsgBytes: number;
  private readonly maxInflightMsgs: number;
  private readonly maxCommittedSizePerReadyBytes: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly bugs: RaftPlantedBugs;
  private termValue = 0;
  private voteValue: RaftNodeId = "";
  private leadValue: RaftNodeId = "";
  private roleValue: RaftRole = "follower";
  private conf: ConfState;
  private readonly prs = new Map<RaftNodeId, Progress>();
  private readonly votes = new Map<RaftNodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: RaftNodeId = "";
  private pendingConfIndex = 0;
  private msgs: RaftMessage[] = [];
  private prevHardState: HardState;
  private readyInFlight = false;
  /** voteWithoutPersist only: the last Ready left the vote out. */
  private voteHidden = false;
  private readonly dropCounts = new Map<string, number>();

  constructor(config: RaftConfig) {
    this.id = config.id;
    this.random = config.random;
    this.electionTicks = config.electionTicks ?? DEFAULTS.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks ?? DEFAULTS.heartbeatTicks;
    assert(this.heartbeatTicks >= 1 && this.heartbeatTicks < this.electionTicks, "need 1 <= heartbeatTicks < electionTicks");
    this.maxSizePerMsgBytes = config.maxSizePerMsgBytes ?? DEFAULTS.maxSizePerMsgBytes;
    this.maxInflightMsgs = config.maxInflightMsgs ?? DEFAULTS.maxInflightMsgs;
    this.maxCommittedSizePerReadyBytes = config.maxCommittedSizePerReadyBytes ?? DEFAULTS.maxCommittedSizePerReadyBytes;
    this.bugs = config.plantedBugs ?? {};
    this.preVote = this.bugs.noPreVote !== true;
    this.checkQuorum = this.bugs.noCheckQuorum !== true;
    this.log = new RaftLog(config.storage);
    const { hardState, confState } = config.storage.initialState();
    this.conf = confState;
    assert(this.log.commitTo(hardState.commit), `durable commit ${hardState.commit} is past the last index ${this.log.lastIndex()}`);
    if (config.applied !== undefined) this.log.applied = config.applied;
    this.becomeFollower(hardState.term, "");
    this.voteValue = hardState.vote;
    this.prevHardState = hardState;
  }

  // ---- what the application reads ----

  /** The current term. */
  get term(): number {
    return this.termValue;
  }

  /** The leader this node follows (itself when leading), "" when unknown. */
  get lead(): RaftNodeId {
    return this.leadValue;
  }

  /** The current role. */
  get role(): RaftRole {
    return this.roleValue;
  }

  /** The voter leadership is being handed to, "" when no transfer is in progress. */
  get transferee(): RaftNodeId {
    return this.leadTransferee;
  }

  /** True while a membership change this leader may have proposed is not applied yet. */
  get confChangePending(): boolean {
    return this.roleValue === "leader" && this.pendingConfIndex > this.log.applied;
  }

  /** The commit index. */
  get commitIndex(): number {
    return this.log.committed;
  }

  /** The applied index (as acknowledged by advance). */
  get appliedIndex(): number {
    return this.log.applied;
  }

  /** The last index of the log (durable or not). */
  get lastIndex(): number {
    return this.log.lastIndex();
  }

  /** The first index still held as an entry. */
  get firstIndex(): number {
    return this.log.firstIndex();
  }

  /** The term of the entry at `index`, undefined when not held. */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  /** The membership as of the applied index: persist it with the applied state, snapshot it with the state machine. */
  confState(): ConfState {
    return this.conf;
  }

  /** The leader's view of each member's log (empty unless leader): match index and state. */
  progress(): ReadonlyMap<RaftNodeId, { readonly match: number; readonly next: number; readonly state: string }> {
    return this.roleValue === "leader" ? this.prs : new Map();
  }

  /** How many messages were dropped, by reason (unknown sender, stale term, malformed, ...). */
  droppedMessages(): ReadonlyMap<string, number> {
    return this.dropCounts;
  }

  // ---- the Ready cycle ----

  /** True when a Ready would carry something. */
  hasReady(): boolean {
    return (
      !sameHardState(this.hardState(), this.prevHardState) ||
      this.log.unstableEntries().length > 0 ||
      this.log.unstableSnapshot() !== undefined ||
      this.msgs.length > 0 ||
      this.log.committed > this.log.applied
    );
  }

  /** Takes what must be persisted, applied and sent; call advance(ready) once done, before the next. */
  ready(): Ready {
    assert(!this.readyInFlight, "ready() called again before advance()");
    this.readyInFlight = true;
    let hardState: HardState | undefined = this.hardState();
    if (sameHardState(hardState, this.prevHardState)) hardState = undefined;
    else if (this.bugs.voteWithoutPersist === true && hardState.vote !== this.prevHardState.vote && !this.voteHidden) {
      // The planted bug: the vote response leaves with this Ready, the vote itself only with the next.
      hardState = { ...hardState, vote: hardState.term === this.prevHardState.term ? this.prevHardState.vote : "" };
      this.voteHidden = true;
    } else {
      this.voteHidden = false;
    }
    if (hardState !== undefined) this.prevHardState = hardState;
    const snapshot = this.log.unstableSnapshot();
    const messages = this.msgs;
    this.msgs = [];
    const ready: Ready = {
      entries: [...this.log.unstableEntries()],
      committedEntries: this.log.nextCommittedEntries(this.maxCommittedSizePerReadyBytes),
      messages,
      ...(hardState === undefined ? {} : { hardState }),
      ...(snapshot === undefined ? {} : { snapshot }),
    };
    return ready;
  }

  /** The application made `ready` durable, sent its messages and applied its committed entries. */
  advance(ready: Ready): void {
    assert(this.readyInFlight, "advance() without a ready()");
    this.readyInFlight = false;
    if (ready.snapshot !== undefined) {
      this.log.stableSnapTo(ready.snapshot.meta.index);
      this.log.applied = Math.max(this.log.applied, ready.snapshot.meta.index);
    }
    const last = ready.entries[ready.entries.length - 1];
    if (last !== undefined) {
      this.log.stableTo(last.index, last.term);
      // The leader's own acknowledgement: its entries count toward commit once durable.
      if (this.roleValue === "leader" && this.log.term(last.index) === last.term) {
        this.prs.get(this.id)?.maybeUpdate(last.index);
        if (this.maybeCommit()) this.bcastAppend();
      }
    }
    for (const entry of ready.committedEntries) {
      if (entry.type === "confChange" && entry.index > this.log.applied) this.applyConfEntry(entry);
      this.log.applied = Math.max(this.log.applied, entry.index);
    }
  }

  private hardState(): HardState {
    return { term: this.termValue, vote: this.voteValue, commit: this.log.committed };
  }

  // ---- local requests ----

  /** Advances the logical clock one tick: elections time out, leaders heartbeat and check quorum. */
  tick(): void {
    if (this.roleValue === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  /** Starts an election now (as if the election timeout elapsed). */
  campaign(): void {
    this.hup(false);
  }

  /** Appends `data` as a normal entry; only the leader accepts, and not while transferring. */
  propose(data: Uint8Array): RaftResult {
    if (this.roleValue !== "leader") return raftError("NotLeader", this.leadValue, `${this.id} is not the leader`);
    if (this.leadTransferee !== "") return raftError("TransferInProgress", this.leadValue, `leadership is moving to ${this.leadTransferee}`);
    const index = this.appendEntry("normal", data);
    this.bcastAppend();
    return { ok: true, index };
  }

  /** Proposes one membership change; refused while another is unapplied. */
  proposeConfChange(change: ConfChange): RaftResult {
    if (this.roleValue !== "leader") return raftError("NotLeader", this.leadValue, `${this.id} is not the leader`);
    if (this.leadTransferee !== "") return raftError("TransferInProgress", this.leadValue, `leadership is moving to ${this.leadTransferee}`);
    if (this.pendingConfIndex > this.log.applied) {
      return raftError("ConfChangePending", this.leadValue, `the change at ${this.pendingConfIndex} is not applied yet`);
    }
    const problem = confChangeProblem(this.conf, change);
    if (problem !== undefined) return raftError("InvalidArgument", this.leadValue, problem);
    const index = this.appendEntry("confChange", encodeConfChange(change));
    this.pendingConfIndex = index;
    this.bcastAppend();
    return { ok: true, index };
  }

  /** Hands leadership to voter `to` once its log is caught up (aborted after an election timeout). */
  transferLeadership(to: RaftNodeId): RaftResult {
    if (this.roleValue !== "leader") return raftError("NotLeader", this.leadValue, `${this.id} is not the leader`);
    if (to === this.id || !this.conf.voters.includes(to)) return raftError("InvalidArgument", this.leadValue, `${to} is not another voter`);
    if (this.leadTransferee === to) return { ok: true, index: this.log.lastIndex() };
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const pr = this.prs.get(to);
    if (pr !== undefined && pr.match === this.log.lastIndex()) this.send(raftMessage({ type: "timeoutNow", from: this.id, to, term: this.termValue }));
    else this.sendAppend(to);
    return { ok: true, index: this.log.lastIndex() };
  }

  // ---- timers ----

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.termValue, "");
        return;
      }
      if (this.leadTransferee !== "") this.leadTransferee = "";
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** CheckQuorum: whether a majority of voters was heard from since the last check; resets the marks. */
  private quorumActive(): boolean {
    const active = hasQuorum(this.conf.voters, (id) => id === this.id || this.prs.get(id)?.recentActive === true);
    for (const [id, pr] of this.prs) pr.recentActive = id === this.id;
    return active;
  }

  // ---- role changes ----

  private promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  /** Starts an election: a pre-vote first unless disabled or forced by a leadership transfer. */
  private hup(transfer: boolean): void {
    if (this.roleValue === "leader" || !this.promotable()) return;
    // A committed but unapplied membership change could make this node's view of the voters stale.
    const unapplied = this.log.slice(this.log.applied + 1, this.log.committed + 1, Number.MAX_SAFE_INTEGER) ?? [];
    if (unapplied.some((e) => e.type === "confChange")) return;
    this.startCampaign(this.preVote && !transfer ? "preElection" : transfer ? "transfer" : "election");
  }

  private startCampaign(kind: "preElection" | "election" | "transfer"): void {
    const pre = kind === "preElection";
    if (pre) this.becomePreCandidate();
    else this.becomeCandidate();
    // A pre-vote asks for the term it would campaign in, without moving to it.
    const term = pre ? this.termValue + 1 : this.termValue;
    this.votes.set(this.id, true);
    if (voteResult(this.conf.voters, this.votes) === "won") {
      if (pre) this.startCampaign("election");
      else this.becomeLeader();
      return;
    }
    const type = pre ? "preVote" : "vote";
    const [index, logTerm] = [this.log.lastIndex(), this.log.lastTerm()];
    for (const to of this.conf.voters) {
      if (to !== this.id) this.send(raftMessage({ type, from: this.id, to, term, index, logTerm, transfer: kind === "transfer" }));
    }
  }

  private reset(term: number): void {
    if (term !== this.termValue) {
      this.termValue = term;
      this.voteValue = "";
    }
    this.leadValue = "";
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    // Randomized in [electionTicks, 2 * electionTicks) so split votes resolve (Raft §5.2).
    this.randomizedElectionTimeout = this.electionTicks + this.random.int("raftElectionTimeoutTicks", this.electionTicks);
    this.leadTransferee = "";
    this.votes.clear();
    this.resetProgress();
  }

  private resetProgress(): void {
    this.prs.clear();
    const next = this.log.lastIndex() + 1;
    for (const id of this.conf.voters) this.prs.set(id, new Progress(next, false, this.maxInflightMsgs));
    for (const id of this.conf.learners) this.prs.set(id, new Progress(next, true, this.maxInflightMsgs));
  }

  private becomeFollower(term: number, lead: RaftNodeId): void {
    this.reset(term);
    this.roleValue = "follower";
    this.leadValue = lead;
  }

  private becomePreCandidate(): void {
    // Changes neither term nor vote: a pre-vote that fails leaves no trace (Raft thesis §9.6).
    this.roleValue = "preCandidate";
    this.votes.clear();
    this.leadValue = "";
  }

  private becomeCandidate(): void {
    this.reset(this.termValue + 1);
    this.voteValue = this.id;
    this.roleValue = "candidate";
  }

  private becomeLeader(): void {
    this.reset(this.termValue);
    this.roleValue = "leader";
    this.leadValue = this.id;
    this.prs.get(this.id)?.becomeReplicate();
    for (const pr of this.prs.values()) pr.recentActive = true;
    // A change in the uncommitted tail may still be pending: wait for it (etcd does the same).
    this.pendingConfIndex = this.log.lastIndex();
    // The no-op of the new term: committing it commits every earlier entry (Raft §5.4.2, §8).
    this.appendEntry("normal", new Uint8Array(0));
    this.bcastAppend();
  }

  // ---- messages ----

  /** Handles one message from the network; a malformed, misaddressed or stale one is dropped and counted. */
  step(m: RaftMessage): void {
    const problem = messageProblem(m);
    if (problem !== undefined) return this.drop(`malformed: ${problem}`);
    if (m.to !== this.id) return this.drop("addressed to another node");
    if (m.from === this.id) return this.drop("from itself");
    // A removed server (or a stranger) that still campaigns is not answered, and moves no term.
    // A node that knows no membership yet (see handleVoteRequest) still answers.
    if ((m.type === "vote" || m.type === "preVote") && this.conf.voters.length > 0 && !this.conf.voters.includes(m.from)) return this.drop(`${m.type} from a non-voter`);
    if (m.term > this.termValue && !this.stepHigherTerm(m)) return;
    if (m.term < this.termValue) return this.stepLowerTerm(m);
    switch (m.type) {
      case "vote":
      case "preVote":
        return this.handleVoteRequest(m);
      case "app":
      case "heartbeat":
      case "snap":
        return this.stepFromLeader(m);
      case "voteResp":
      case "preVoteResp":
        return this.handleVoteResponse(m);
      case "appResp":
      case "heartbeatResp":
        return this.stepResponseAtLeader(m);
      case "timeoutNow":
        if (this.roleValue !== "follower" || !this.promotable()) return this.drop("timeoutNow not applicable");
        return this.hup(true);
    }
  }

  /** A message from a later term: false when it is to be ignored (a vote inside the leader lease). */
  private stepHigherTerm(m: RaftMessage): boolean {
    if (m.type === "vote" || m.type === "preVote") {
      const inLease = this.checkQuorum && this.leadValue !== "" && this.electionElapsed < this.electionTicks;
      if (!m.transfer && inLease) {
        this.drop("vote request inside the leader lease");
        return false;
      }
    }
    if (m.type === "preVote" || (m.type === "preVoteResp" && !m.reject)) return true;
    const fromLeader = m.type === "app" || m.type === "heartbeat" || m.type === "snap";
    this.becomeFollower(m.term, fromLeader ? m.from : "");
    return true;
  }

  private stepLowerTerm(m: RaftMessage): void {
    if ((this.checkQuorum || this.preVote) && (m.type === "app" || m.type === "heartbeat")) {
      // Tells a stale leader (or a node cut off and back) the current term, so it steps down.
      this.send(raftMessage({ type: "appResp", from: this.id, to: m.from, term: this.termValue }));
    } else if (m.type === "preVote") {
      this.send(raftMessage({ type: "preVoteResp", from: this.id, to: m.from, term: this.termValue, reject: true }));
    } else {
      this.drop("stale term");
    }
  }

  private handleVoteRequest(m: RaftMessage): void {
    const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
    // A node votes whatever its own view of the membership, as etcd's do: one that sees itself as a
    // learner, as removed, or knows no membership yet (it lost an unsynced log, cluster seed 45) may
    // be a voter in the candidate's newer configuration, and without its vote that configuration may
    // never elect (raft seed 2434: a stale learner and a removed node left no majority). A candidate
    // counts only the voters of its own configuration. Leaders of this term do not vote.
    const canVote =
      (this.voteValue === m.from || (this.voteValue === "" && this.leadValue === "") || (m.type === "preVote" && m.term > this.termValue));
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send(raftMessage({ type: respType, from: this.id, to: m.from, term: m.term }));
      if (m.type === "vote") {
        this.electionElapsed = 0;
        this.voteValue = m.from;
      }
    } else {
      this.send(raftMessage({ type: respType, from: this.id, to: m.from, term: this.termValue, reject: true }));
    }
  }

  private handleVoteResponse(m: RaftMessage): void {
    const expected = this.roleValue === "preCandidate" ? "preVoteResp" : this.roleValue === "candidate" ? "voteResp" : undefined;
    if (m.type !== expected) return this.drop(`unexpected ${m.type} as ${this.roleValue}`);
    if (!this.conf.voters.includes(m.from)) return this.drop("vote from a non-voter");
    this.votes.set(m.from, !m.reject);
    const result = voteResult(this.conf.voters, this.votes);
    if (result === "won") {
      if (this.roleValue === "preCandidate") this.startCampaign("election");
      else this.becomeLeader();
    } else if (result === "lost") {
      this.becomeFollower(this.termValue, "");
    }
  }

  private stepFromLeader(m: RaftMessage): void {
    if (this.roleValue === "leader") return this.drop(`${m.type} from another leader of term ${m.term}`);
    if (this.roleValue !== "follower") this.becomeFollower(m.term, m.from);
    this.electionElapsed = 0;
    this.leadValue = m.from;
    if (m.type === "app") this.handleAppend(m);
    else if (m.type === "heartbeat") this.handleHeartbeat(m);
    else this.handleSnapshot(m);
  }

  private handleAppend(m: RaftMessage): void {
    const reply = (fields: Partial<RaftMessage>): void => this.send(raftMessage({ type: "appResp", from: this.id, to: m.from, term: this.termValue, ...fields }));
    if (m.index < this.log.committed) return reply({ index: this.log.committed });
    const result = this.log.maybeAppend(m.index, m.logTerm, m.entries);
    if (result === undefined) {
      const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
      return reply({ index: m.index, reject: true, rejectHint: hint, logTerm: this.log.term(hint) ?? 0 });
    }
    if ("problem" in result) return this.drop(result.problem);
    this.log.commitTo(Math.min(m.commit, result.lastNew));
    reply({ index: result.lastNew });
  }

  private handleHeartbeat(m: RaftMessage): void {
    if (!this.log.commitTo(m.commit)) this.drop("heartbeat commit past the log");
    this.send(raftMessage({ type: "heartbeatResp", from: this.id, to: m.from, term: this.termValue }));
  }

  private handleSnapshot(m: RaftMessage): void {
    const snapshot = m.snapshot as RaftSnapshot;
    const { index, term, confState } = snapshot.meta;
    const reply = (at: number): void => this.send(raftMessage({ type: "appResp", from: this.id, to: m.from, term: this.termValue, index: at }));
    if (index <= this.log.committed) return reply(this.log.committed);
    // A snapshot older than our (re-)addition may not list us: the entries after it will.
    if (this.log.matchTerm(index, term)) {
      // We hold the snapshot's last entry: fast-forward the commit instead of restoring.
      this.log.commitTo(index);
      return reply(this.log.committed);
    }
    this.log.restore(snapshot);
    this.conf = confState;
    this.resetProgress();
    reply(this.log.lastIndex());
  }

  private stepResponseAtLeader(m: RaftMessage): void {
    if (this.roleValue !== "leader") return this.drop(`${m.type} while ${this.roleValue}`);
    const pr = this.prs.get(m.from);
    if (pr === undefined) return this.drop(`${m.type} from a non-member`);
    pr.recentActive = true;
    if (m.type === "heartbeatResp") {
      // A snapshot may have been lost: probe again (etcd waits for ReportSnapshot instead).
      if (pr.state === "snapshot") pr.becomeProbe();
      pr.onHeartbeatResponse();
      if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
      return;
    }
    if (m.index > this.log.lastIndex()) return this.drop("appResp index past the leader's log");
    if (m.reject) return this.handleAppendRejected(m, pr);
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    }
    if (this.maybeCommit()) this.bcastAppend();
    else while (pr.match < this.log.lastIndex() && this.sendAppend(m.from, false));
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send(raftMessage({ type: "timeoutNow", from: this.id, to: m.from, term: this.termValue }));
    }
  }

  private handleAppendRejected(m: RaftMessage, pr: Progress): void {
    const hint = m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm) : m.rejectHint;
    if (!pr.maybeDecrTo(m.index, hint)) return;
    if (pr.state === "replicate") pr.becomeProbe();
    this.sendAppend(m.from);
  }

  // ---- leader replication ----

  private appendEntry(type: RaftEntry["type"], data: Uint8Array): number {
    const index = this.log.lastIndex() + 1;
    this.log.append([{ index, term: this.termValue, type, data }]);
    return index;
  }

  /** Commits what a majority of voters holds, but only by counting an entry of the current term (Raft §5.4.2). */
  private maybeCommit(): boolean {
    const index = committedIndex(this.conf.voters, (id) => this.prs.get(id)?.match ?? 0);
    if (index <= this.log.committed) return false;
    if (this.log.term(index) !== this.termValue && this.bugs.commitPreviousTermByCount !== true) return false;
    return this.log.commitTo(index);
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(): void {
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      this.send(raftMessage({ type: "heartbeat", from: this.id, to: id, term: this.termValue, commit: Math.min(pr.match, this.log.committed) }));
    }
  }

  /** Sends the next append (or the snapshot, when the entries it needs were compacted); false when nothing went. */
  private sendAppend(to: RaftNodeId, sendIfEmpty = true): boolean {
    const pr = this.prs.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const lastIndex = this.log.lastIndex();
    const entries = pr.next > lastIndex ? [] : this.log.slice(pr.next, lastIndex + 1, this.maxSizePerMsgBytes);
    if (prevTerm === undefined || entries === undefined) return this.sendSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send(raftMessage({ type: "app", from: this.id, to, term: this.termValue, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed }));
    pr.sentEntries(prevIndex + entries.length, entries.length);
    return true;
  }

  private sendSnapshot(to: RaftNodeId, pr: Progress): boolean {
    const snapshot = this.log.snapshot();
    if (!pr.recentActive || snapshot === undefined) return false;
    this.send(raftMessage({ type: "snap", from: this.id, to, term: this.termValue, snapshot }));
    pr.becomeSnapshot(snapshot.meta.index);
    return true;
  }

  // ---- membership ----

  private applyConfEntry(entry: RaftEntry): void {
    const change = decodeConfChange(entry.data);
    if (change === undefined) return this.drop("undecodable conf change entry");
    // Applied outright (each change sets a role), so re-applying after a restart is harmless.
    this.conf = applyConfChange(this.conf, change);
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      const pr = this.prs.get(id);
      if (pr === undefined) this.prs.set(id, new Progress(this.log.lastIndex() + 1, this.conf.learners.includes(id), this.maxInflightMsgs));
      else pr.isLearner = this.conf.learners.includes(id);
    }
    for (const id of [...this.prs.keys()]) if (!this.conf.voters.includes(id) && !this.conf.learners.includes(id)) this.prs.delete(id);
    if (this.roleValue !== "leader") return;
    if (!this.promotable()) return this.becomeFollower(this.termValue, "");
    if (this.leadTransferee !== "" && !this.conf.voters.includes(this.leadTransferee)) this.leadTransferee = "";
    this.maybeCommit();
    this.bcastAppend();
  }

  // ---- plumbing ----

  private send(m: RaftMessage): void {
    this.msgs.push(m);
  }

  private drop(reason: string): void {
    // Counted by a reason without its numbers, so the counter names stay few.
    const key = reason.replace(/\d+/g, "N");
    this.dropCounts.set(key, (this.dropCounts.get(key) ?? 0) + 1);
  }
}
