// Broker-to-broker messages in: one input kind, routed by subject to a handler per route kind.
// A single-node broker has no peers, so every route is refused today: logged and returned as a
// typed refusal (never an assert: the bytes come from the network; never silent).
import type { LogEvent } from "../outputs.js";
import type { NodeId } from "../types.js";
import { parsePeerSubject, type PeerRoute } from "./peer-subject.js";

/** A message from another broker, as the NATS connection delivered it. */
export interface PeerMessage {
  /** The sending broker's server id (from the envelope or the connection; unchecked). */
  readonly from: NodeId;
  readonly subject: string;
  /** The reply inbox of a request (a replication fetch, a Raft RPC), if any. */
  readonly reply?: string;
  readonly data: Uint8Array;
}

/** Why a peer message was not handled. */
export interface PeerRefusal {
  readonly code: "UnknownPeerMessage" | "NoPeerHandler";
  readonly message: string;
  readonly route: PeerRoute | undefined;
}

/** Routes one peer message; today every route is refused (there are no peers yet). */
export function handlePeerMessage(ns: string, message: PeerMessage, log: LogEvent[]): PeerRefusal {
  const route = parsePeerSubject(ns, message.subject);
  const refusal: PeerRefusal = route === undefined
    ? { code: "UnknownPeerMessage", message: "not a broker-to-broker subject of this namespace", route }
    : { code: "NoPeerHandler", message: `no handler for ${route.kind} messages: this broker runs without peers`, route };
  log.push({
    level: "warn",
    msg: "peer message refused",
    fields: { code: refusal.code, reason: refusal.message, from: message.from.slice(0, 200), subject: message.subject.slice(0, 300), bytes: message.data.length },
  });
  return refusal;
}
