// Committing metadata: proposals are applied only once committed (a quorum of the metadata Raft
// holds the entry, and this broker's Ready carrying the commit is durable), in log order, each
// op's precondition checked at apply time. Then the answers that waited for them are released.
import type { OperatingError } from "../errors.js";
import type { MetadataOp } from "../metadata/metadata-op.js";
import type { InputTime, Outputs } from "../outputs.js";
import type { BrokerEffect } from "./api-types.js";
import { reactToChange } from "./broker-metadata.js";
import type { BrokerState, ProposalAnswer } from "./broker-state.js";
import { subscribe } from "./broker-subscriptions.js";

/**
 * Applies committed entries in log order: each op's precondition is checked at apply time, so a
 * racing op becomes a no-op answered with its error, never an assertion. Answers and the sends
 * that depended on an op are released here (behind whatever the change itself must persist).
 */
export function applyCommittedMetadata(
  state: BrokerState, entries: ReadonlyArray<{ readonly index: number; readonly op: MetadataOp; readonly answer: ProposalAnswer | undefined }>, time: InputTime, out: Outputs<BrokerEffect>,
): void {
  for (const entry of entries) {
    const applied = state.metadata.apply(entry.op, entry.index);
    if (!applied.ok) {
      out.log.push({ level: "info", msg: "metadata op did not apply (a racing op changed its stream first)", fields: { index: entry.index, op: entry.op.op, reason: applied.error.message } });
    } else if (applied.value !== undefined && !state.stopped && state.failed === undefined) {
      reactToChange(state, applied.value, time, out);
    }
    if (entry.answer !== undefined) answerProposal(state, entry.answer, applied.ok ? undefined : applied.error, time, out);
  }
}

/** Releases a held answer: the response (and its sends) when the op applied, else `failed`. */
export function answerProposal(state: BrokerState, answer: ProposalAnswer, failed: OperatingError | undefined, time: InputTime, out: Outputs<BrokerEffect>): void {
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
