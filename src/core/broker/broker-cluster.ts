// The broker among its peers: the NATS subjects it listens on for other brokers, and what arrives
// there: Raft traffic (to the node), ops forwarded to the controller (`.propagate`), brokers asking
// to join (`.join`), announcements of where each broker listens (`.info`), a would-be seed asking
// whether a cluster runs (`.bootstrap`), and the answers to this broker's own requests. Anything
// malformed or misaddressed is refused with a log line and changes nothing.
import { isValidPublishSubject } from "../nats/subject.js";
import type { InputTime, Outputs, Send } from "../outputs.js";
import {
  decodeMetadataPeerReply, decodeMetadataPeerRequest, metadataSubject, replySend, replySubject, requestSend, type MetadataPeerReply,
} from "../peers/metadata-peer-protocol.js";
import { handlePeerMessage, type PeerMessage } from "../peers/peer-message.js";
import { parsePeerSubject } from "../peers/peer-subject.js";
import { isRaftNodeIdUsable, raftSubject, receiveRaftMessage } from "../raft/raft-transport.js";
import { MAX_NODE_ID_BYTES } from "../raft/raft-conf-change.js";
import { encodeMetadataEntry } from "../metadata/metadata-entry.js";
import { nodeId } from "../types.js";
import type { BrokerEffect } from "./api-types.js";
import { appliedIsCurrent, onPropagateAnswer } from "./broker-raft.js";
import { checkStreamSettings } from "./broker-metadata.js";
import { resolveStreamSettings } from "../metadata/stream-config.js";
import type { BrokerState } from "./broker-state.js";
import type { NatsDelivery } from "./partition.js";

/** The sender of a message that came over plain NATS (the subject says where it goes, not who sent it). */
const UNKNOWN_PEER = nodeId("?");

/** How often a broker announces where it listens; a broker unheard for 3 periods is not listed. */
export const BROKER_INFO_INTERVAL_MS = 1000;
/** How often a broker with no Raft state asks to join, and how many times before it gives up (Liftbridge: 30 x 1 s). */
export const JOIN_INTERVAL_MS = 1000;
export const JOIN_ATTEMPTS = 30;

function subscribe(state: BrokerState, subject: string, out: Outputs<BrokerEffect>): number {
  const sid = state.nextSid++;
  state.peerSids.set(sid, subject);
  out.natsSubscriptions.push({ kind: "natsSubscribe", sid, subject, queue: "" });
  return sid;
}

/** Subscribes to this broker's own broker-to-broker subjects: its Raft inbox, its reply inbox, info and bootstrap. */
export function subscribePeerSubjects(state: BrokerState, out: Outputs<BrokerEffect>): void {
  const ns = state.config.namespace;
  subscribe(state, raftSubject(ns, state.config.serverId), out);
  subscribe(state, replySubject(ns, state.config.serverId), out);
  subscribe(state, metadataSubject(ns, "info"), out);
  subscribe(state, metadataSubject(ns, "bootstrap"), out);
}

/** Takes the deliveries of broker-to-broker subscriptions out of a NATS batch (handling them); returns the rest. */
export function peerDeliveries(state: BrokerState, messages: readonly NatsDelivery[], time: InputTime, out: Outputs<BrokerEffect>): readonly NatsDelivery[] {
  if (state.peerSids.size === 0 || !messages.some((m) => state.peerSids.has(m.sid))) return messages;
  const rest: NatsDelivery[] = [];
  for (const m of messages) {
    if (!state.peerSids.has(m.sid)) rest.push(m);
    else onPeerMessage(state, { from: UNKNOWN_PEER, subject: m.subject, data: m.data, ...(m.reply !== "" ? { reply: m.reply } : {}) }, time, out);
  }
  return rest;
}

function refuse(out: Outputs<BrokerEffect>, message: PeerMessage, code: string, reason: string): void {
  out.log.push({ level: "warn", msg: "peer message refused", fields: { code, reason: reason.slice(0, 300), subject: message.subject.slice(0, 300), bytes: message.data.length } });
}

/** Handles one message from another broker (see the file comment). */
export function onPeerMessage(state: BrokerState, message: PeerMessage, time: InputTime, out: Outputs<BrokerEffect>): void {
  if (state.stopped || state.failed !== undefined) return;
  const route = parsePeerSubject(state.config.namespace, message.subject);
  switch (route?.kind) {
    case "raft": {
      if (state.raftDown) return;
      const received = receiveRaftMessage(state.config.namespace, state.config.serverId, message);
      if (!received.ok) return refuse(out, message, received.refusal.code, received.refusal.message);
      // A message of an older term (a deposed leader, or a replay) changes nothing; Raft may still answer it.
      if (received.message.term > 0 && received.message.term < state.raft.node.term) {
        out.log.push({ level: "warn", msg: "Raft message refused: older term", fields: { from: received.message.from, type: received.message.type, term: received.message.term, currentTerm: state.raft.node.term } });
      }
      state.raft.node.step(received.message);
      return;
    }
    case "metadataReply":
      if (route.server !== state.config.serverId) return refuse(out, message, "NotForThisNode", "a reply for another broker");
      return onReply(state, message, time, out);
    case "metadataRequest":
      if (route.name === "status") break;
      return onRequest(state, route.name, message, time, out);
    case "leaderEpochOffset":
    case "partitionNotification":
    case "replicate":
    case undefined:
      break;
  }
  handlePeerMessage(state.config.namespace, message, out.log);
}

function onReply(state: BrokerState, message: PeerMessage, time: InputTime, out: Outputs<BrokerEffect>): void {
  const reply = decodeMetadataPeerReply(message.data);
  if (!reply.ok) return refuse(out, message, "InvalidMetadataReply", reply.error.message);
  const r: MetadataPeerReply = reply.value;
  switch (r.kind) {
    case "propagated":
      return onPropagateAnswer(state, r.seq, { index: r.index }, time, out);
    case "propagateRefused":
      return onPropagateAnswer(state, r.seq, { error: r.error }, time, out);
    case "joined":
      if (r.error !== "") out.log.push({ level: "warn", msg: "the controller did not add this broker yet", fields: { reason: r.error } });
      return;
    case "clusterExists":
      if (state.seedProbe === undefined) return;
      state.fatal = `a metadata cluster already runs on this NATS (broker ${r.from}, leader ${r.leader || "unknown"}): ` +
        "starting a second bootstrap seed would split it. Start this broker without --raft-bootstrap-seed to join it, or give it another clustering.namespace";
      return;
  }
}

function onRequest(state: BrokerState, name: "propagate" | "join" | "info" | "bootstrap", message: PeerMessage, time: InputTime, out: Outputs<BrokerEffect>): void {
  const decoded = decodeMetadataPeerRequest(name, message.data);
  if (!decoded.ok) return refuse(out, message, "InvalidMetadataRequest", decoded.error.message);
  const request = decoded.value;
  const answer = (reply: MetadataPeerReply): void => {
    if (message.reply !== undefined && isValidPublishSubject(message.reply)) out.send.push(replySend(message.reply, reply));
  };
  const node = state.raft.node;
  switch (request.kind) {
    case "info":
      if (request.id !== state.config.serverId) state.peers.set(request.id, { id: nodeId(request.id), host: request.host, port: request.port, lastSeenMs: time.nowMs });
      return;
    case "bootstrap":
      // Only a member of a running cluster answers (a broker still probing or joining has none).
      if (request.from !== state.config.serverId && state.seedProbe === undefined && state.joinAttempts === undefined && node.confState().voters.length > 0) {
        answer({ kind: "clusterExists", from: state.config.serverId, leader: node.lead });
      }
      return;
    case "propagate": {
      if (state.raftDown || node.role !== "leader") return answer({ kind: "propagateRefused", seq: request.seq, error: { code: "NotLeader", message: "not the metadata leader" } });
      const checked = state.metadata.check(request.op);
      if (!checked.ok && appliedIsCurrent(state)) return answer({ kind: "propagateRefused", seq: request.seq, error: checked.error });
      // The asking broker checked the settings; a peer that did not must not put bad ones in the log.
      if (request.op.op === "createStream") {
        const settings = checkStreamSettings(state, resolveStreamSettings(state.config.streamDefaults, request.op.overrides));
        if (!settings.ok) return answer({ kind: "propagateRefused", seq: request.seq, error: settings.error });
      }
      const key = `${request.from}/${request.seq}`;
      const earlier = state.raft.propagated.get(key);
      if (earlier !== undefined) return answer({ kind: "propagated", seq: request.seq, index: earlier });
      const proposed = node.propose(encodeMetadataEntry({ from: request.from, seq: request.seq, op: request.op }));
      if (proposed.ok) rememberPropagated(state.raft.propagated, key, proposed.index);
      return answer(proposed.ok ? { kind: "propagated", seq: request.seq, index: proposed.index } : { kind: "propagateRefused", seq: request.seq, error: { code: "NotLeader", message: proposed.error.message } });
    }
    case "join":
      return answer({ kind: "joined", error: addMember(state, request.from) });
  }
}

/** Keeps the last 4096 forwarded proposals (a duplicate arrives within the network's delays). */
function rememberPropagated(propagated: Map<string, number>, key: string, index: number): void {
  propagated.set(key, index);
  if (propagated.size > 4096) propagated.delete(propagated.keys().next().value as string);
}

/** The controller adds a joining broker: a voter while there are fewer than max.quorum.size, else a non-voter. "" when done or under way. */
function addMember(state: BrokerState, id: string): string {
  const node = state.raft.node;
  if (state.raftDown || node.role !== "leader") return "not the metadata leader";
  const conf = node.confState();
  if (conf.voters.includes(id) || conf.learners.includes(id)) return "";
  // One stray request must not add a member that can never answer (a voter that never votes can
  // cost the cluster its quorum): the id must name a Raft inbox, and its broker must be announcing
  // itself on .info (a joining broker does so before it asks).
  if (!isRaftNodeIdUsable(state.config.namespace, id) || new TextEncoder().encode(id).length > MAX_NODE_ID_BYTES) {
    return `${id.slice(0, 100)} cannot be a member id (one NATS subject token of at most ${MAX_NODE_ID_BYTES} bytes)`;
  }
  if (!state.peers.has(id)) return `${id} has not announced itself on ${metadataSubject(state.config.namespace, "info")} yet; asking again adds it once it has`;
  const type = conf.voters.length < state.raft.config.maxQuorumSize ? "addVoter" : "addLearner";
  const proposed = node.proposeConfChange({ type, nodeId: id });
  return proposed.ok ? "" : proposed.error.message;
}

/** Reacts to a change of the metadata leadership: the controller listens on propagate and join. */
export function onClusterChange(state: BrokerState, _time: InputTime, out: Outputs<BrokerEffect>): void {
  const isLeader = !state.raftDown && !state.stopped && state.raft.node.role === "leader";
  if (isLeader === state.isController) return;
  state.isController = isLeader;
  if (isLeader) {
    state.controllerSids = [subscribe(state, metadataSubject(state.config.namespace, "propagate"), out), subscribe(state, metadataSubject(state.config.namespace, "join"), out)];
  } else {
    for (const sid of state.controllerSids.splice(0)) {
      state.peerSids.delete(sid);
      out.natsSubscriptions.push({ kind: "natsUnsubscribe", sid });
    }
  }
  out.log.push({ level: "info", msg: isLeader ? "became the metadata leader (controller)" : "no longer the metadata leader", fields: { term: state.raft.node.term } });
}

/** This broker's announcement of where its API listens. */
export function infoSend(state: BrokerState): Send {
  return requestSend(state.config.namespace, { kind: "info", id: state.config.serverId, host: state.config.host, port: state.config.port });
}

/** The broker-info timer: announce, forget brokers unheard for 3 periods, re-arm. */
export function onBrokerInfoTimer(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  out.send.push(infoSend(state));
  for (const [id, peer] of state.peers) if (time.nowMs - peer.lastSeenMs > 3 * BROKER_INFO_INTERVAL_MS) state.peers.delete(id);
  state.timers.set({ kind: "brokerInfo" }, time.nowMs + BROKER_INFO_INTERVAL_MS);
}

/** The join timer: ask the controller to add this broker until the membership names it; give up after JOIN_ATTEMPTS. */
export function onJoinTimer(state: BrokerState, time: InputTime, out: Outputs<BrokerEffect>): void {
  if (state.joinAttempts === undefined) return;
  const conf = state.raft.node.confState();
  const self = state.config.serverId;
  if (conf.voters.includes(self) || conf.learners.includes(self)) {
    state.joinAttempts = undefined;
    out.log.push({ level: "info", msg: "joined the metadata cluster", fields: { voters: conf.voters.join(","), learners: conf.learners.join(",") } });
    return;
  }
  if (state.joinAttempts >= JOIN_ATTEMPTS) {
    state.fatal = `no metadata leader added this broker after ${JOIN_ATTEMPTS} join requests on ${metadataSubject(state.config.namespace, "join")}: ` +
      "is a cluster running on this NATS and namespace? Start the first broker with --raft-bootstrap-seed";
    return;
  }
  state.joinAttempts++;
  out.send.push(requestSend(state.config.namespace, { kind: "join", from: self }, replySubject(state.config.namespace, self)));
  state.timers.set({ kind: "raftJoin" }, time.nowMs + JOIN_INTERVAL_MS);
}

/** The live brokers a CreateStream may place replicas on: this one and every other heard from lately that is a Raft member. */
export function liveBrokers(state: BrokerState): string[] {
  const conf = state.raft.node.confState();
  const members = new Set([...conf.voters, ...conf.learners]);
  const ids = [state.config.serverId as string];
  for (const peer of state.peers.values()) if (members.has(peer.id)) ids.push(peer.id);
  return ids.sort();
}
