// Committing metadata: proposals are applied only once committed (today: their metadata log
// record is durable; with metadata Raft: a quorum holds the entry), in log order, each op's
// precondition checked at apply time. Then the answers that waited for them are released.
import type { DiskError } from "../disk.js";
import type { OperatingError } from "../errors.js";
import type { InputTime, Outputs } from "../outputs.js";
import type { Offset } from "../types.js";
import type { BrokerEffect } from "./api-types.js";
import { reactToChange } from "./broker-metadata.js";
import type { BrokerState, CommittedEntry, ProposalAnswer } from "./broker-state.js";
import { subscribe } from "./broker-subscriptions.js";
import { failHeldReplies } from "./failed-persist.js";

/**
 * Persist `token` completed: applies the proposals it (or an earlier token) carried, once the
 * metadata log counts them durable (after a full disk, only the repair's persist does).
 */
export function commitDurableMetadata(state: BrokerState, token: number, time: InputTime, out: Outputs<BrokerEffect>): void {
  const durable = state.metadataLog.durableIndex;
  let n = 0;
  for (let p = state.proposals[0]; p !== undefined && p.token <= token && p.index <= durable; p = state.proposals[++n]);
  if (n === 0) return;
  applyCommittedMetadata(state, state.proposals.splice(0, n), time, out);
}

/**
 * Applies committed entries in log order: each op's precondition is checked at apply time, so a
 * racing op becomes a no-op answered with its error, never an assertion. Answers and the sends
 * that depended on an op are released here (behind whatever the change itself must persist).
 */
export function applyCommittedMetadata(state: BrokerState, entries: readonly CommittedEntry[], time: InputTime, out: Outputs<BrokerEffect>): void {
  for (const entry of entries) {
    const applied = state.metadata.apply(entry.op, entry.index);
    if (!applied.ok) {
      out.log.push({ level: "info", msg: "metadata op did not apply (a racing op changed its stream first)", fields: { index: entry.index, op: entry.op.op, reason: applied.error.message } });
    } else if (applied.value !== undefined && !state.stopped && state.failed === undefined) {
      reactToChange(state, applied.value, time, out);
    }
    if (entry.answer !== undefined) answer(state, entry.answer, applied.ok ? undefined : applied.error, time, out);
  }
}

function answer(state: BrokerState, answer: ProposalAnswer, failed: OperatingError | undefined, time: InputTime, out: Outputs<BrokerEffect>): void {
  const held = out.persist.length > 0;
  if (answer.kind === "subscribe") {
    // Started now that its partition runs (or refused with the reason the resume did not apply).
    if (failed === undefined) subscribe(state, answer.subscriptionId, answer.request, time, out, answer.maxBytes);
    else (held ? out.replyAfterPersist : out.reply).push({ kind: "subscribed", subscriptionId: answer.subscriptionId, result: { ok: false, error: failed } });
    return;
  }
  const result = failed === undefined ? answer.response : { ok: false as const, error: failed };
  (held ? out.replyAfterPersist : out.reply).push({ kind: "apiResponse", requestId: answer.requestId, result });
  if (failed === undefined) (held ? out.sendAfterPersist : out.send).push(...answer.sends);
}

/** Answers every proposal still waiting with the persist's failure (the entry may still commit later, unanswered). */
export function failPendingAnswers(state: BrokerState, failure: DiskError, out: Outputs<BrokerEffect>): void {
  for (const proposal of state.proposals) {
    const held = proposal.answer;
    if (held === undefined) continue;
    proposal.answer = undefined;
    const effect: BrokerEffect = held.kind === "apiResponse"
      ? { kind: "apiResponse", requestId: held.requestId, result: held.response }
      : { kind: "subscribed", subscriptionId: held.subscriptionId, result: { ok: true, value: { startOffset: -1 as Offset } } };
    out.reply.push(...failHeldReplies([effect], failure));
  }
}
