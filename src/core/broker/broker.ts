// The single-node broker core: one synchronous step(input) -> Outputs, plus nextDeadline(). It
// owns the metadata state machine, the partitions this broker leads, and the subscriptions; the
// driver owns sockets, files and timers (DESIGN.md, "The core contract").
import { assert, assertNever } from "../assert.js";
import { DiskError, joinPath } from "../disk.js";
import { err, ok, type Result } from "../errors.js";
import { DEFAULT_METADATA_RAFT, openMetadataRaft } from "../metadata/metadata-raft.js";
import { emptyOutputs, METADATA_LANE, type BaseInput, type InputTime, type Outputs } from "../outputs.js";
import type { PeerMessage } from "../peers/peer-message.js";
import { brokerTimers } from "../timers/broker-timer.js";
import { type TimeMs } from "../types.js";
import type { ApiRequest, BrokerEffect, SubscribeRequest } from "./api-types.js";
import { handleApiRequest } from "./broker-api.js";
import type { BrokerConfig } from "./broker-config.js";
import { BROKER_INFO_INTERVAL_MS, infoSend, onClusterChange, onPeerMessage, peerDeliveries, subscribePeerSubjects } from "./broker-cluster.js";
import { replySubject, requestSend } from "../peers/metadata-peer-protocol.js";
import { drainRaft, flushProposals, handOffLeadership, onRaftPersisted, onRaftPersistFailed } from "./broker-raft.js";
import { reactToChange } from "./broker-metadata.js";
import { type BrokerDeps, type BrokerState, type TimerName } from "./broker-state.js";
import { onReadCompleted, onReadFailed, pumpDirtyPartitions, subscribe, subscriptionReady, unsubscribe } from "./broker-subscriptions.js";
import { groupByLane, partitionKeyOfLane } from "./persist-lanes.js";
import { retryDeferredStart } from "./broker-metadata.js";
import { appendDeliveries, onPersistFailed, onPersisted, onTimer } from "./broker-writes.js";
import type { NatsDelivery } from "./partition.js";

/** Every input the broker understands. */
export type BrokerInput =
  | BaseInput
  | ({ readonly kind: "natsMessages"; readonly messages: readonly NatsDelivery[] } & InputTime)
  | ({ readonly kind: "apiRequest"; readonly requestId: number; readonly request: ApiRequest } & InputTime)
  | ({ readonly kind: "subscribe"; readonly subscriptionId: number; readonly request: SubscribeRequest; readonly maxBytes?: number } & InputTime)
  | ({ readonly kind: "subscriptionReady"; readonly subscriptionId: number; readonly maxBytes?: number } & InputTime)
  | ({ readonly kind: "unsubscribe"; readonly subscriptionId: number } & InputTime)
  | ({ readonly kind: "peerMessage"; readonly message: PeerMessage } & InputTime)
  | ({ readonly kind: "shutdown" } & InputTime);

/** What one step returns. */
export type BrokerOutputs = Outputs<BrokerEffect>;

/** A broker core. Create it with Broker.open; drive it with step(); arm one timer for nextDeadline(). */
export class Broker {
  private constructor(private readonly state: BrokerState) {}

  /**
   * Recovers the broker from its data directory: replays the metadata log, accounts for every
   * stream directory, reopens every partition that is not paused, and subscribes to their
   * subjects. Apply the returned Outputs (persist first) before the next step. Refuses (an error
   * naming the file and what to do) when the metadata is missing or damaged and the operator did
   * not ask for recovery (docs/decisions.md, "Metadata at startup").
   */
  static recover(deps: BrokerDeps, config: BrokerConfig, time: InputTime): Result<{ broker: Broker; outputs: BrokerOutputs }> {
    let recovered: ReturnType<typeof openMetadataRaft>;
    try {
      recovered = openMetadataRaft(deps.reader, {
        dataDir: config.dataDir, defaults: config.streamDefaults, serverId: config.serverId, recovery: config.metadataRecovery === true,
        deleteUnknownStreamDirs: config.plantedBugs?.deleteUnknownStreamDirs === true, wallNs: time.wallNs,
        ...(deps.crc32c !== undefined ? { crc: deps.crc32c } : {}),
      }, deps.random, config.raft ?? DEFAULT_METADATA_RAFT);
    } catch (e) {
      // The disk refused a read of the metadata: the broker cannot start (said, not thrown).
      if (!(e instanceof DiskError)) throw e;
      return err("Internal", `cannot read the metadata: ${e.message}`);
    }
    if (!recovered.ok) return recovered;
    const { metadata, raft } = recovered.value;
    const out = emptyOutputs<BrokerEffect>();
    // The streams directory's own entry must be durable before any partition directory in it is.
    out.persist.push(...recovered.value.ops, { kind: "mkdir", path: joinPath(config.dataDir, "streams") }, { kind: "syncDir", path: config.dataDir });
    out.log.push(...recovered.value.events);
    const state: BrokerState = {
      config, deps, metadata, raft, raftDown: false, proposals: [], pending: [], peers: new Map(), controllerSids: [], joinAttempts: recovered.value.joining ? 0 : undefined, fatal: undefined, seedProbe: undefined, peerSids: new Map(), isController: false, partitions: new Map(), partitionsBySid: new Map(),
      subscriptions: new Map(), timers: brokerTimers(), deferredStarts: new Set(), dirty: new Set(), nextSid: 1, nextToken: 1, nextReadToken: 1, reads: new Map(), laneTokens: new Map(), persistOps: new Map(), barrierToken: undefined, stopped: false, failed: undefined, diskFull: undefined, hwCheckpointRound: undefined,
    };
    subscribePeerSubjects(state, out);
    raft.nextSeq = 1 + deps.random.int("proposalSeq", 2 ** 30) * 2 ** 20;
    startMembership(state, recovered.value, time, out);
    for (const stream of metadata.streams.values()) reactToChange(state, { kind: "streamCreated", stream }, time, out);
    armTimers(state, time.nowMs);
    const broker = new Broker(state);
    broker.finish(out, time);
    out.log.push({ level: "info", msg: "broker recovered", fields: { streams: metadata.streams.size, partitions: state.partitions.size, metadataIndex: metadata.lastAppliedIndex, joining: recovered.value.joining } });
    return ok({ broker, outputs: out });
  }

  /** recover() for data directories this process wrote itself (simulator, tests): a refusal is a bug there. */
  static open(deps: BrokerDeps, config: BrokerConfig, time: InputTime): { broker: Broker; outputs: BrokerOutputs } {
    const recovered = Broker.recover(deps, config, time);
    assert(recovered.ok, `broker recovery refused: ${recovered.ok ? "" : recovered.error.message}`);
    return recovered.value;
  }

  /** Handles one input. */
  step(input: BrokerInput): BrokerOutputs {
    const out = emptyOutputs<BrokerEffect>();
    const s = this.state;
    switch (input.kind) {
      case "tick":
        onTimer(s, input, out);
        break;
      case "persisted":
        onPersisted(s, input.token, input, out);
        // The Ready whose persist this was: its committed entries apply now.
        onRaftPersisted(s, input.token, input, out);
        break;
      case "persistFailed": {
        const lane = s.persistOps.get(input.token)?.lane;
        onRaftPersistFailed(s, input.token, input.error, out);
        onPersistFailed(s, input.token, input.error, input, out);
        // A reopen waiting for this lane to drain runs (or, if the partition failed, stays down).
        const key = lane === undefined ? undefined : partitionKeyOfLane(lane);
        if (key !== undefined) retryDeferredStart(s, key, input, out);
        break;
      }
      case "readCompleted":
        onReadCompleted(s, input.token, input.bytes, out);
        break;
      case "readFailed":
        onReadFailed(s, input.token, input.error, out);
        break;
      case "natsMessages":
        if (!s.stopped && s.failed === undefined) appendDeliveries(s, peerDeliveries(s, input.messages, input, out), input, out);
        break;
      case "apiRequest":
        if (s.failed !== undefined && input.request.kind !== "fetchMetadata") {
          out.reply.push({ kind: "apiResponse", requestId: input.requestId, result: { ok: false, error: diskFailed(s.failed) } });
        } else if (s.diskFull !== undefined && input.request.kind !== "fetchMetadata" && input.request.kind !== "fetchPartitionMetadata") {
          // Until the repair after a full disk persists, nothing new is written (reads go on).
          out.reply.push({ kind: "apiResponse", requestId: input.requestId, result: { ok: false, error: { code: "DiskFull", message: `disk full, write refused: ${s.diskFull.reason}` } } });
        } else {
          handleApiRequest(s, input.requestId, input.request, input, out);
        }
        break;
      case "subscribe":
        if (s.failed !== undefined) out.reply.push({ kind: "subscribed", subscriptionId: input.subscriptionId, result: { ok: false, error: diskFailed(s.failed) } });
        else subscribe(s, input.subscriptionId, input.request, input, out, input.maxBytes);
        break;
      case "subscriptionReady":
        subscriptionReady(s, input.subscriptionId, input.maxBytes);
        break;
      case "unsubscribe":
        unsubscribe(s, input.subscriptionId);
        break;
      case "peerMessage":
        onPeerMessage(s, input.message, input, out);
        break;
      case "shutdown":
        this.shutdown(out, input);
        break;
      default:
        assertNever(input, "broker input");
    }
    this.finish(out, input);
    return out;
  }

  /** The monotonic time of the next timer, for the driver to wake the broker with a tick. */
  nextDeadline(): TimeMs | undefined {
    return this.state.timers.nextDeadline() as TimeMs | undefined;
  }

  /** Read-only access for tests and the simulator's invariants. */
  get view(): Readonly<BrokerState> {
    return this.state;
  }

  private finish(out: BrokerOutputs, time: InputTime): void {
    const s = this.state;
    flushProposals(s, time, out);
    drainRaft(s, time, out);
    onClusterChange(s, time, out);
    pumpDirtyPartitions(s, out);
    // Batches appended this step were registered under nextToken, provisionally: the lane
    // groups get their tokens here, and each partition's batches its lane's.
    groupByLane(s, out);
    const raftToken = s.raft.inFlight?.token;
    assert(raftToken === undefined || s.persistOps.get(raftToken)?.lane === METADATA_LANE, "a Ready's persist is one metadata-lane group");
  }

  private shutdown(out: BrokerOutputs, time: InputTime): void {
    const s = this.state;
    // A controller hands its leadership to the most caught-up voter first, so the cluster does
    // not wait an election timeout for a new one (best effort: the message leaves with this step).
    handOffLeadership(s);
    drainRaft(s, time, out);
    s.stopped = true;
    for (const p of s.partitions.values()) {
      if (p.sid !== undefined) out.natsSubscriptions.push({ kind: "natsUnsubscribe", sid: p.sid });
      if (p.log !== undefined) out.persist.push(...p.log.close());
    }
    for (const sub of s.subscriptions.values()) {
      out.reply.push({ kind: "subscriptionEnded", subscriptionId: sub.id, error: { code: "Unavailable", message: "Server shutting down" } });
    }
    s.subscriptions.clear();
    s.timers.clear();
    out.log.push({ level: "info", msg: "broker stopped" });
  }
}

function diskFailed(reason: string): { code: "DiskFailed"; message: string } {
  return { code: "DiskFailed", message: `the broker's disk failed (${reason}); it writes nothing until restarted` };
}

/** Starts what a broker without a cluster does: a seed's probe, or joining; every broker announces itself. */
function startMembership(state: BrokerState, opened: { readonly joining: boolean; readonly probing: boolean }, time: InputTime, out: BrokerOutputs): void {
  const bootstrap = state.raft.config.bootstrap;
  const ns = state.config.namespace;
  const self = state.config.serverId;
  if (opened.probing && bootstrap.kind === "seed") {
    state.seedProbe = { untilMs: time.nowMs + (bootstrap.probeMs ?? 0) };
    out.send.push(requestSend(ns, { kind: "bootstrap", from: self }, replySubject(ns, self)));
    state.timers.set({ kind: "seedProbe" }, state.seedProbe.untilMs);
  }
  if (opened.joining) state.timers.set({ kind: "raftJoin" }, time.nowMs);
  out.send.push(infoSend(state));
  state.timers.set({ kind: "brokerInfo" }, time.nowMs + BROKER_INFO_INTERVAL_MS);
}

function armTimers(state: BrokerState, nowMs: number): void {
  const set = (kind: TimerName, afterMs: number): void => state.timers.set({ kind }, nowMs + afterMs);
  set("raftTick", state.raft.config.tickMs);
  set("hwCheckpoint", state.config.hwCheckpointIntervalMs);
  set("cleaner", state.config.streamDefaults.cleanerIntervalMs);
  if (state.config.syncPolicy === "interval") set("syncInterval", state.config.syncIntervalMs);
  assert(state.timers.size >= 2, "timers armed");
}
