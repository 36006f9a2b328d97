// The broker's side of the metadata Raft: proposals in, Readys out (persisted in the metadata lane,
// their messages released only after), committed entries applied once their Ready is durable,
// a snapshot installed from the leader reconciled with the partitions this broker runs, and the
// node rebuilt from the disk after a failed persist was repaired.
import { assert } from "../assert.js";
import { joinPath, type DiskError, type DiskOp } from "../disk.js";
import type { Offset } from "../types.js";
import { failHeldReplies } from "./failed-persist.js";
import { err, ok, type OperatingError, type Result } from "../errors.js";
import { replySubject, requestSend } from "../peers/metadata-peer-protocol.js";
import { encodeMetadataEntry, type MetadataEntry } from "../metadata/metadata-entry.js";
import type { MetadataOp } from "../metadata/metadata-op.js";
import { committedEntry, MetadataRaft, raftDir } from "../metadata/metadata-raft.js";
import { restoreMetadata } from "../metadata/metadata-snapshot.js";
import type { MetadataChange, PartitionMeta, StreamMeta } from "../metadata/metadata-state.js";
import type { InputTime, Outputs } from "../outputs.js";
import { RaftDiskLog } from "../raft/raft-disk-log.js";
import { HARD_STATE_FILE } from "../raft/raft-log-recovery.js";
import type { RaftEntry, RaftSnapshot } from "../raft/raft-types.js";
import { raftSend } from "../raft/raft-transport.js";
import type { BrokerEffect } from "./api-types.js";
import { answerProposal, applyCommittedMetadata } from "./broker-commit.js";
import { reactToChange } from "./broker-metadata.js";
import type { BrokerState, Proposal } from "./broker-state.js";

/** How long a proposal waits for a metadata leader (or its answer to a forwarding) before it fails. */
export const PROPOSAL_TIMEOUT_MS = 5000;

/**
 * Proposes `op` through the metadata Raft: at once when this broker is the leader, else (in
 * flushProposals) forwarded to the leader, or held until one is known; answered when applied.
 */
export function proposeOp(state: BrokerState, op: MetadataOp, time: InputTime): Result<Proposal> {
  if (state.raftDown) return err("Unavailable", "the metadata log is being repaired after a failed write; retry");
  const proposal: Proposal = { index: undefined, seq: state.raft.nextSeq++, op, answer: undefined, deadlineMs: time.nowMs + PROPOSAL_TIMEOUT_MS, forwarded: false };
  state.pending.push(proposal);
  return ok(proposal);
}

/**
 * Whether the applied metadata is current, so a refusal it gives (StreamExists, StreamNotFound) is
 * final: only on the leader of a cluster of one that applied all it committed. Anywhere else it may
 * be stale: the op goes through the log and the apply-time check answers (cluster workload: a
 * lagging follower, and a deposed leader inside the CheckQuorum window, answered StreamNotFound
 * for a stream created before; a leader lease is not enough, so there is no fast path with peers).
 */
export function appliedIsCurrent(state: BrokerState): boolean {
  const node = state.raft.node;
  const conf = node.confState();
  const alone = conf.voters.length === 1 && conf.voters[0] === state.config.serverId && conf.learners.length === 0;
  return alone && !state.raftDown && node.role === "leader" && state.metadata.lastAppliedIndex >= node.commitIndex;
}

/** Proposes (as leader) or forwards (to the leader) every pending proposal that can go now; fails those past their deadline. */
export function flushProposals(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  if (state.pending.length === 0 || state.raftDown || state.stopped) return;
  const node = state.raft.node;
  const ns = state.config.namespace;
  const self = state.config.serverId;
  for (const p of [...state.pending]) {
    if (p.forwarded && time.nowMs < p.deadlineMs) continue;
    if (time.nowMs >= p.deadlineMs) {
      dropPending(state, p);
      if (p.answer !== undefined) answerProposal(state, p.answer, { code: "Unavailable", message: `no answer from a metadata leader within ${PROPOSAL_TIMEOUT_MS} ms: the request may or may not have applied` }, time, out);
    } else if (node.role === "leader") {
      const proposed = node.propose(encodeMetadataEntry({ from: self, seq: p.seq, op: p.op }));
      if (!proposed.ok) continue; // a leadership transfer: it goes once that settles
      dropPending(state, p);
      indexed(state, p, proposed.index);
    } else if (node.lead !== "") {
      out.send.push(requestSend(ns, { kind: "propagate", from: self, seq: p.seq, op: p.op }, replySubject(ns, self)));
      p.forwarded = true;
    }
  }
}

function dropPending(state: BrokerState, p: Proposal): void {
  const at = state.pending.indexOf(p);
  if (at >= 0) state.pending.splice(at, 1);
}

/** A proposal got its log index: it joins the indexed ones, kept in index order. */
export function indexed(state: BrokerState, p: Proposal, index: number): void {
  p.index = index;
  let at = state.proposals.length;
  while (at > 0 && ((state.proposals[at - 1] as Proposal).index as number) > index) at--;
  state.proposals.splice(at, 0, p);
}

/** The controller's answer to a forwarding: the proposal's index, or why it was refused. */
export function onPropagateAnswer(state: BrokerState, seq: number, answer: { index: number } | { error: OperatingError }, time: InputTime, out: Outputs<BrokerEffect>): void {
  const p = state.pending.find((q) => q.seq === seq);
  if (p === undefined) return; // already committed and answered, or timed out
  dropPending(state, p);
  if ("index" in answer) {
    // Already applied past it (the answer was slow): its entry was not ours, or it was matched by seq.
    if (answer.index <= state.metadata.lastAppliedIndex) {
      if (p.answer !== undefined) answerProposal(state, p.answer, LOST, time, out);
      return;
    }
    return indexed(state, p, answer.index);
  }
  if (answer.error.code === "NotLeader" && time.nowMs < p.deadlineMs) {
    // The leader moved: forward again once the new one is known.
    p.forwarded = false;
    state.pending.push(p);
    return;
  }
  if (p.answer !== undefined) answerProposal(state, p.answer, answer.error, time, out);
}

const LOST: OperatingError = { code: "Unavailable", message: "the metadata leader changed before the request committed; it did not apply, retry" };

/** Hands out the node's next Ready (one in flight at a time): its persist goes to the metadata lane, its messages after it. */
export function drainRaft(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  const raft = state.raft;
  // A bounded number of persist-free Readys per step (a leader answering a burst of messages).
  for (let round = 0; round < 8; round++) {
    if (state.raftDown || raft.inFlight !== undefined || state.stopped || state.failed !== undefined) return;
    // A cluster of one elects itself at once instead of after an election timeout (also at start,
    // when a log of one snapshot gives no Ready that would get here otherwise).
    const conf = raft.node.confState();
    if (conf.voters.length === 1 && conf.voters[0] === state.config.serverId && raft.node.role !== "leader") raft.node.campaign();
    if (!raft.node.hasReady()) return;
    const ready = raft.node.ready();
    const ops = raft.log.persist({
      ...(ready.snapshot !== undefined ? { snapshot: ready.snapshot } : {}), entries: ready.entries,
      ...(ready.hardState !== undefined ? { hardState: ready.hardState } : {}),
    });
    const sends = ready.messages.map((m) => raftSend(state.config.namespace, m));
    if (ops.length > 0) {
      out.persist.push(...ops);
      out.sendAfterPersist.push(...sends);
      // Broker.finish groups this step's persist as one mixed metadata-lane group: this token.
      raft.inFlight = { ready, token: state.nextToken };
      return;
    }
    out.send.push(...sends);
    raft.inFlight = { ready, token: undefined };
    completeReady(state, time, out);
  }
}

/** A persist token came back: if it carried the Ready in flight, install, apply, advance. */
export function onRaftPersisted(state: BrokerState, token: number, time: InputTime, out: Outputs<BrokerEffect>): void {
  if (state.raft.inFlight?.token === token) completeReady(state, time, out);
}

function completeReady(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  const raft = state.raft;
  assert(raft.inFlight !== undefined, "a Ready is in flight");
  const { ready } = raft.inFlight;
  raft.inFlight = undefined;
  if (ready.snapshot !== undefined) installSnapshot(state, ready.snapshot, time, out);
  applyEntries(state, ready.committedEntries, time, out);
  raft.node.advance(ready);
  maybeSnapshot(state, out);
}

/** Applies committed entries, answering this broker's proposals (or failing those another entry replaced). */
function applyEntries(state: BrokerState, entries: readonly RaftEntry[], time: InputTime, out: Outputs<BrokerEffect>): void {
  const batch: Array<{ index: number; op: MetadataOp; answer: Proposal["answer"] }> = [];
  for (const entry of entries) {
    const decoded = committedEntry(entry, out.log);
    const mine = takeProposal(state, entry.index, decoded, time, out);
    if (decoded !== undefined) batch.push({ index: entry.index, op: decoded.op, answer: mine?.answer });
  }
  applyCommittedMetadata(state, batch, time, out);
  state.metadata.lastAppliedIndex = Math.max(state.metadata.lastAppliedIndex, entries[entries.length - 1]?.index ?? 0);
}

/** The proposal the entry at `index` commits, if it is this broker's (known by its seq); indexed proposals it replaced are failed. */
function takeProposal(state: BrokerState, index: number, entry: MetadataEntry | undefined, time: InputTime, out: Outputs<BrokerEffect>): Proposal | undefined {
  let mine: Proposal | undefined;
  if (entry !== undefined && entry.from === state.config.serverId) {
    const seq = entry.seq;
    mine = state.proposals.find((p) => p.seq === seq) ?? state.pending.find((p) => p.seq === seq);
    if (mine !== undefined) {
      dropPending(state, mine);
      const at = state.proposals.indexOf(mine);
      if (at >= 0) state.proposals.splice(at, 1);
    }
  }
  while (state.proposals.length > 0 && ((state.proposals[0] as Proposal).index as number) <= index) {
    const p = state.proposals.shift() as Proposal;
    if (p.answer !== undefined) answerProposal(state, p.answer, LOST, time, out);
  }
  return mine;
}

/** A snapshot from the leader replaces the metadata; partitions are opened, closed and removed to match. */
function installSnapshot(state: BrokerState, snapshot: RaftSnapshot, time: InputTime, out: Outputs<BrokerEffect>): void {
  const restored = restoreMetadata(snapshot.data, state.config.streamDefaults);
  if (!restored.ok) {
    // The leader's snapshot is unusable: stop rather than run on metadata that disagrees with the cluster.
    state.failed = `the metadata snapshot at ${snapshot.meta.index} from the leader cannot be read: ${restored.error.message}`;
    out.log.push({ level: "error", msg: "metadata snapshot refused: the broker stops writing", fields: { index: snapshot.meta.index, reason: restored.error.message } });
    return;
  }
  const before = state.metadata;
  const after = restored.value;
  after.lastAppliedIndex = Math.max(after.lastAppliedIndex, snapshot.meta.index);
  state.metadata = after;
  for (const change of snapshotChanges(before.streams, after.streams)) reactToChange(state, change, time, out);
  out.log.push({ level: "info", msg: "installed a metadata snapshot from the leader", fields: { index: snapshot.meta.index, streams: after.streams.size } });
}

/** The changes that turn `before` into `after`, as if their ops had been applied one by one. */
export function snapshotChanges(before: ReadonlyMap<string, StreamMeta>, after: ReadonlyMap<string, StreamMeta>): MetadataChange[] {
  const changes: MetadataChange[] = [];
  const same = (a: StreamMeta, b: StreamMeta): boolean => a.partitions[0]?.leaderEpoch === b.partitions[0]?.leaderEpoch && a.creationTimestampNs === b.creationTimestampNs;
  for (const old of before.values()) {
    const now = after.get(old.name);
    if (now === undefined || !same(old, now)) changes.push({ kind: "streamDeleted", stream: old });
  }
  for (const now of after.values()) {
    const old = before.get(now.name);
    if (old === undefined || !same(old, now)) {
      changes.push({ kind: "streamCreated", stream: now });
      continue;
    }
    const differ = (pick: (p: PartitionMeta) => boolean): PartitionMeta[] => now.partitions.filter((p, i) => old.partitions[i] !== undefined && pick(p) !== pick(old.partitions[i]));
    const flipped = differ((p) => p.paused);
    const paused = flipped.filter((p) => p.paused);
    const resumed = flipped.filter((p) => !p.paused);
    const readonly = differ((p) => p.readonly);
    if (paused.length > 0) changes.push({ kind: "partitionsPaused", stream: now, partitions: paused });
    if (resumed.length > 0) changes.push({ kind: "partitionsResumed", stream: now, partitions: resumed });
    if (readonly.length > 0) changes.push({ kind: "partitionsReadonly", stream: now, partitions: readonly });
  }
  return changes;
}

/** Takes a snapshot of the applied metadata and compacts the Raft log behind it, every snapshotEntries entries. */
function maybeSnapshot(state: BrokerState, out: Outputs<BrokerEffect>): void {
  const raft = state.raft;
  const snapshot = raft.snapshotDue(state.metadata);
  if (snapshot === undefined) return;
  out.persist.push(...raft.log.saveSnapshot(snapshot), ...raft.log.compact(snapshot.meta.index));
}

/**
 * A persist of the metadata lane failed. Raft's in-memory log may now be ahead of the disk: the
 * node is dropped (nothing more is sent from it), its waiting proposals are failed, and once the
 * repair has synced what the disk holds, restartRaft rebuilds it from there, as after a crash.
 */
export function onRaftPersistFailed(state: BrokerState, token: number, failure: DiskError, out: Outputs<BrokerEffect>): void {
  const raft = state.raft;
  if (raft.inFlight?.token !== token) return;
  state.raftDown = true;
  raft.inFlight = undefined;
  // Their entries may still commit (another broker may hold them): the outcome is unknown.
  for (const p of [...state.proposals.splice(0), ...state.pending.splice(0)]) {
    const held = p.answer;
    if (held === undefined) continue;
    const effect: BrokerEffect = held.kind === "apiResponse"
      ? { kind: "apiResponse", requestId: held.requestId, result: held.response }
      : { kind: "subscribed", subscriptionId: held.subscriptionId, result: { ok: true, value: { startOffset: -1 as Offset } } };
    out.reply.push(...failHeldReplies([effect], failure));
  }
}

/** The disk work that makes what the Raft directory holds durable (the repair after a full disk). */
export function raftSyncOps(state: BrokerState): DiskOp[] {
  const raft = state.raft;
  const dir = raftDir(state.config.dataDir);
  const files = [...raft.log.segmentPaths(), joinPath(dir, HARD_STATE_FILE)];
  const present = files.filter((f) => state.deps.reader.stat(f) !== undefined);
  return [...present.map((path) => ({ kind: "fdatasync" as const, path })), { kind: "syncDir" as const, path: dir }];
}

/** After the repair's sync succeeded: the node is rebuilt from the Raft log as the disk holds it. */
export function restartRaft(state: BrokerState, out: Outputs<BrokerEffect>): void {
  const raft = state.raft;
  if (!state.raftDown) return;
  const opened = RaftDiskLog.open(state.deps.reader, raftDir(state.config.dataDir), state.deps.crc32c !== undefined ? { crc: state.deps.crc32c } : {});
  if (!opened.ok) {
    state.failed = `the Raft log cannot be reopened after a failed write: ${opened.error.message}`;
    out.log.push({ level: "error", msg: "metadata Raft log cannot be reopened: the broker stops writing", fields: { reason: opened.error.message } });
    return;
  }
  raft.log = opened.value.log;
  raft.node = MetadataRaft.node(state.config.serverId, opened.value.log, state.deps.random, raft.config);
  state.raftDown = false;
  out.persist.push(...opened.value.ops);
  out.log.push(...opened.value.events, { level: "info", msg: "metadata Raft node restarted from its log after the disk was repaired", fields: { lastIndex: raft.log.lastIndex() } });
}

/** One Raft tick (elections, heartbeats, the leader's quorum check), and the next one armed. */
export function raftTick(state: BrokerState, time: InputTime): void {
  if (!state.raftDown) state.raft.node.tick();
  state.timers.set({ kind: "raftTick" }, time.nowMs + state.raft.config.tickMs);
}

/** A leader about to stop asks the voter with the longest log to take over (Raft's leadership transfer). */
export function handOffLeadership(state: BrokerState): void {
  const node = state.raft.node;
  if (state.raftDown || node.role !== "leader") return;
  const voters = node.confState().voters;
  let best: { id: string; match: number } | undefined;
  for (const [id, pr] of node.progress()) {
    if (id === state.config.serverId || !voters.includes(id)) continue;
    if (best === undefined || pr.match > best.match) best = { id, match: pr.match };
  }
  if (best !== undefined) node.transferLeadership(best.id);
}

/** The seed's probe ended with no cluster answering: bootstrap a cluster of one. */
export function endSeedProbe(state: BrokerState, out: Outputs<BrokerEffect>): void {
  if (state.seedProbe === undefined || state.fatal !== undefined) return;
  state.seedProbe = undefined;
  out.persist.push(...state.raft.bootstrapSeed(state.config.serverId, state.deps.random));
  out.log.push({ level: "info", msg: "no metadata cluster answered: bootstrapped a new one with this broker as its seed", fields: { id: state.config.serverId } });
}
