// Liftbridge's internal broker-to-broker subjects (spec/liftbridge.md §3.3), parsed into typed
// routes: metadata Raft (issue 12) and partition replication (the issue after) add their handlers
// per route kind instead of matching strings.
import { nodeId, type NodeId } from "../types.js";

/** Where a broker-to-broker message goes, by its subject. */
export type PeerRoute =
  /** A follower's fetch (MsgType 2) to the partition leader. */
  | { readonly kind: "replicate"; readonly stream: string; readonly partition: number }
  /** A follower's LeaderEpochOffsetRequest (MsgType 6) before it truncates. */
  | { readonly kind: "leaderEpochOffset"; readonly stream: string; readonly partition: number }
  /** A leader telling a caught-up follower that new data is there (MsgType 14). */
  | { readonly kind: "partitionNotification"; readonly server: NodeId }
  /** Metadata Raft's own traffic (votes, appends, snapshots) to one server. */
  | { readonly kind: "raft"; readonly server: NodeId; readonly channel: string }
  /** An answer to this broker's metadata request (propagate, join, bootstrap), on its own inbox. */
  | { readonly kind: "metadataReply"; readonly server: NodeId }
  /** Metadata requests: join, propagate to the controller, info broadcast, partition status. */
  | { readonly kind: "metadataRequest"; readonly name: "join" | "propagate" | "info" | "status" | "bootstrap"; readonly server?: NodeId };

/** The route of `subject` under namespace `ns`, or undefined when it is no internal subject. */
export function parsePeerSubject(ns: string, subject: string): PeerRoute | undefined {
  if (!subject.startsWith(`${ns}.`)) return undefined;
  const tokens = subject.slice(ns.length + 1).split(".");
  if (tokens.some((t) => t.length === 0)) return undefined;
  const [first, second, third, ...rest] = tokens;
  if (first === "notify" && second !== undefined && tokens.length === 2) return { kind: "partitionNotification", server: nodeId(second) };
  if (first === "raft" && second === "metadata" && third !== undefined) return raftRoute(third, rest);
  return partitionRoute(tokens);
}

function raftRoute(third: string, rest: readonly string[]): PeerRoute | undefined {
  if (rest.length === 0 && (third === "join" || third === "propagate" || third === "info" || third === "bootstrap")) {
    return { kind: "metadataRequest", name: third };
  }
  if (third === "status" && rest.length === 1 && rest[0] !== undefined) return { kind: "metadataRequest", name: "status", server: nodeId(rest[0]) };
  const channel = rest[0];
  if (channel === "reply" && rest.length === 1) return { kind: "metadataReply", server: nodeId(third) };
  if (channel === "accept" || channel === "request") return { kind: "raft", server: nodeId(third), channel: rest.join(".") };
  return undefined;
}

/** `<stream>.<partition>.replicate|offset`; the stream name may itself hold dots. */
function partitionRoute(tokens: readonly string[]): PeerRoute | undefined {
  if (tokens.length < 3) return undefined;
  const verb = tokens[tokens.length - 1];
  const id = tokens[tokens.length - 2] ?? "";
  if (!/^(0|[1-9][0-9]{0,8})$/.test(id)) return undefined;
  const stream = tokens.slice(0, -2).join(".");
  if (verb === "replicate") return { kind: "replicate", stream, partition: Number(id) };
  if (verb === "offset") return { kind: "leaderEpochOffset", stream, partition: Number(id) };
  return undefined;
}
