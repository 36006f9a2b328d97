// Splits a step's staged disk work into persist lanes (docs/runtime.md): one lane per partition
// directory, and the metadata lane for the metadata log and for every step whose work crosses
// lanes (creating, deleting, pausing a stream; the repair after a full disk). Such a mixed step
// is one group on the metadata lane that waits for every partition lane in flight, and every
// partition lane's next group waits for it: a partition's lane never runs ahead of its
// directory's creation, and a stream's removal never races its partitions' writes.
import { assert } from "../assert.js";
import { joinPath, type DiskOp } from "../disk.js";
import { METADATA_LANE, partitionLane, type LaneId, type Outputs, type PersistGroup, type Send } from "../outputs.js";
import type { BrokerEffect } from "./api-types.js";
import { partitionKey, type BrokerState } from "./broker-state.js";

/** The lane an op belongs to: its partition's when it stays inside one partition directory. */
export function laneOfPath(streamsRoot: string, path: string): LaneId {
  if (!path.startsWith(streamsRoot)) return METADATA_LANE;
  const parts = path.slice(streamsRoot.length).split("/");
  // streams/<stream>/<partition>[/<file>]: a stream directory itself is shared by its partitions.
  if (parts.length < 2 || parts.length > 3 || !/^\d+$/.test(parts[1] as string)) return METADATA_LANE;
  return partitionLane(parts[0] as string, Number(parts[1]));
}

function laneOfOp(streamsRoot: string, op: DiskOp): LaneId {
  if (op.kind !== "rename") return laneOfPath(streamsRoot, op.path);
  const from = laneOfPath(streamsRoot, op.from);
  return from === laneOfPath(streamsRoot, op.to) ? from : METADATA_LANE;
}

/** Moves the step's staged persist into lane groups, hands out their tokens, and registers them in flight. */
export function groupByLane(state: BrokerState, out: Outputs<BrokerEffect>): void {
  const whole = out.sendAfterPersist.length > 0 || out.replyAfterPersist.length > 0;
  if (out.persist.length === 0 && out.sendAfterLane.size === 0) {
    // Nothing to wait for: what depended on this step's persist depends on nothing.
    out.send.push(...out.sendAfterPersist.splice(0));
    out.reply.push(...out.replyAfterPersist.splice(0));
    return;
  }
  const streamsRoot = joinPath(state.config.dataDir, "streams") + "/";
  const byLane = new Map<LaneId, DiskOp[]>();
  let mixed = whole;
  for (const op of out.persist) {
    const lane = laneOfOp(streamsRoot, op);
    if (lane === METADATA_LANE) mixed = true;
    const ops = byLane.get(lane);
    if (ops === undefined) byLane.set(lane, [op]);
    else ops.push(op);
  }
  if (mixed) return addMixedGroup(state, out);
  for (const lane of out.sendAfterLane.keys()) if (!byLane.has(lane)) byLane.set(lane, []);
  const provisional = state.nextToken;
  const barrier = state.barrierToken !== undefined && state.persistOps.has(state.barrierToken) ? [state.barrierToken] : [];
  for (const [lane, ops] of byLane) {
    const token = addGroup(state, out, lane, ops, barrier, out.sendAfterLane.get(lane) ?? [], []);
    // Batches were appended under the step's provisional token: give them their lane's.
    const key = partitionKeyOfLane(lane);
    if (token !== provisional && key !== undefined) state.partitions.get(key)?.retoken(provisional, token);
  }
  out.sendAfterLane.clear();
}

/** A step whose work crosses lanes: one group on the metadata lane, a barrier for every partition lane. */
function addMixedGroup(state: BrokerState, out: Outputs<BrokerEffect>): void {
  const after: number[] = [];
  for (const [lane, tokens] of state.laneTokens) if (lane !== METADATA_LANE && tokens.length > 0) after.push(tokens[tokens.length - 1] as number);
  const sends: Send[] = [...out.sendAfterPersist.splice(0)];
  for (const laneSends of out.sendAfterLane.values()) sends.push(...laneSends);
  out.sendAfterLane.clear();
  const token = addGroup(state, out, METADATA_LANE, [...out.persist], after, sends, out.replyAfterPersist.splice(0));
  assert(token === state.nextToken - 1, "a mixed step has one token");
  state.barrierToken = token;
}

function addGroup(state: BrokerState, out: Outputs<BrokerEffect>, lane: LaneId, ops: readonly DiskOp[], after: readonly number[], sends: readonly Send[], replies: readonly BrokerEffect[]): number {
  const token = state.nextToken++;
  let tokens = state.laneTokens.get(lane);
  if (tokens === undefined) state.laneTokens.set(lane, (tokens = []));
  tokens.push(token);
  state.persistOps.set(token, { lane, ops });
  const group: PersistGroup<BrokerEffect> = { lane, token, ops, after, sendAfterPersist: sends, replyAfterPersist: replies };
  out.persists.push(group);
  return token;
}

/** The partition a lane belongs to, by its map key (undefined for the metadata lane). */
export function partitionKeyOfLane(lane: LaneId): string | undefined {
  if (!lane.startsWith("partition/")) return undefined;
  const rest = lane.slice("partition/".length);
  const slash = rest.lastIndexOf("/");
  return partitionKey(rest.slice(0, slash), Number(rest.slice(slash + 1)));
}
