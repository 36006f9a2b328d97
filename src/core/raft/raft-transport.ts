// Metadata Raft over NATS: one NATS message per Raft message, on `<ns>.raft.metadata.<to>.request`
// (the subject family Liftbridge's nats-on-a-log transport uses; our framing is the codec's, one
// message per frame, no connection handshake: docs/raft.md). Whatever arrives on such a subject is
// network input: it is checked here and refused with a reason, never handed to the node half-valid.
import { isValidPublishSubject } from "../nats/subject.js";
import type { Send } from "../outputs.js";
import type { PeerMessage } from "../peers/peer-message.js";
import { parsePeerSubject } from "../peers/peer-subject.js";
import { decodeRaftMessage, encodeRaftMessage } from "./raft-message-codec.js";
import type { RaftMessage } from "./raft-message.js";
import type { RaftNodeId } from "./raft-types.js";

/** The subject Raft messages to `to` travel on. */
export function raftSubject(namespace: string, to: RaftNodeId): string {
  return `${namespace}.raft.metadata.${to}.request`;
}

/** True when `id` can name a Raft member in a subject (one NATS token: no dots, spaces or wildcards). */
export function isRaftNodeIdUsable(namespace: string, id: RaftNodeId): boolean {
  return id.length > 0 && !id.includes(".") && isValidPublishSubject(raftSubject(namespace, id));
}

/** A Raft message leaving as a NATS publish. */
export function raftSend(namespace: string, message: RaftMessage): Send {
  return { subject: raftSubject(namespace, message.to), data: encodeRaftMessage(message) };
}

/** Why an incoming peer message is not a Raft message for this node. */
export interface RaftRefusal {
  readonly code: "NotRaftSubject" | "NotForThisNode" | "InvalidRaftMessage";
  readonly message: string;
}

/** A Raft message for `self`, or why the peer message is not one. */
export type RaftReceive = { readonly ok: true; readonly message: RaftMessage } | { readonly ok: false; readonly refusal: RaftRefusal };

/** Checks and decodes a peer message that arrived for this node's Raft. */
export function receiveRaftMessage(namespace: string, self: RaftNodeId, peer: PeerMessage): RaftReceive {
  const route = parsePeerSubject(namespace, peer.subject);
  if (route === undefined || route.kind !== "raft" || route.channel !== "request") {
    return refuse("NotRaftSubject", "not a Raft request subject of this namespace");
  }
  if (route.server !== self) return refuse("NotForThisNode", `sent to Raft member ${route.server.slice(0, 100)}, this is ${self}`);
  const decoded = decodeRaftMessage(peer.data);
  if (!decoded.ok) return refuse("InvalidRaftMessage", decoded.error.message);
  const m = decoded.message;
  if (m.to !== self) return refuse("NotForThisNode", `addressed to ${m.to.slice(0, 100)} on this node's subject`);
  if (m.from === self) return refuse("InvalidRaftMessage", "a message from this node to itself");
  return { ok: true, message: m };
}

function refuse(code: RaftRefusal["code"], message: string): RaftReceive {
  return { ok: false, refusal: { code, message } };
}
