// The metadata requests brokers send each other over NATS, beside Raft's own traffic (subjects of
// Liftbridge's §3.3 where they fit): a metadata op forwarded to the controller (`.propagate`), a
// new broker asking to be added (`.join`), each broker announcing where its API listens (`.info`),
// a would-be seed asking whether a cluster already runs (`.bootstrap`), and the answers, sent to
// the asker's own `.<id>.reply` inbox. Versioned JSON; every field is checked on decode (the bytes
// come from the network): bad input is a typed refusal, never an assertion.
import { err, ok, type ErrorCode, type OperatingError, type Result } from "../errors.js";
import { isRecord, metadataOpProblem, parseJson } from "../metadata/metadata-entry.js";
import type { MetadataOp } from "../metadata/metadata-op.js";
import type { Send } from "../outputs.js";

/** The protocol's version; a message of another is refused by name. */
export const METADATA_PEER_VERSION = 1;

/** What a broker learns of another from its announcements. */
export interface BrokerInfo {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

/** A request or announcement between brokers. */
export type MetadataPeerRequest =
  /** An op for the controller to propose, on behalf of `from` (its proposal `seq`). */
  | { readonly kind: "propagate"; readonly from: string; readonly seq: number; readonly op: MetadataOp }
  /** A broker with no Raft state asks the controller to add it. */
  | { readonly kind: "join"; readonly from: string }
  /** A broker says where its API listens (every second). */
  | ({ readonly kind: "info" } & BrokerInfo)
  /** A broker about to bootstrap a new cluster asks whether one already runs here. */
  | { readonly kind: "bootstrap"; readonly from: string };

/** An answer, sent to the asker's reply inbox. */
export type MetadataPeerReply =
  | { readonly kind: "propagated"; readonly seq: number; readonly index: number }
  | { readonly kind: "propagateRefused"; readonly seq: number; readonly error: OperatingError }
  | { readonly kind: "joined"; readonly error: string }
  /** A member of a running cluster answers a would-be seed. */
  | { readonly kind: "clusterExists"; readonly from: string; readonly leader: string };

/** The subjects of this protocol under namespace `ns`. */
export function metadataSubject(ns: string, name: "propagate" | "join" | "info" | "bootstrap"): string {
  return `${ns}.raft.metadata.${name}`;
}

/** The inbox broker `id` receives answers on. */
export function replySubject(ns: string, id: string): string {
  return `${ns}.raft.metadata.${id}.reply`;
}

/** A request as a NATS publish (with the sender's reply inbox when it expects an answer). */
export function requestSend(ns: string, request: MetadataPeerRequest, replyTo?: string): Send {
  const subject = metadataSubject(ns, request.kind);
  const data = new TextEncoder().encode(JSON.stringify({ v: METADATA_PEER_VERSION, ...request }));
  return replyTo === undefined ? { subject, data } : { subject, reply: replyTo, data };
}

/** An answer as a NATS publish to `inbox`. */
export function replySend(inbox: string, reply: MetadataPeerReply): Send {
  return { subject: inbox, data: new TextEncoder().encode(JSON.stringify({ v: METADATA_PEER_VERSION, ...reply })) };
}

const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 256;
const isSeq = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Decodes a request that arrived on `kind`'s subject, or says what is wrong with it. */
export function decodeMetadataPeerRequest(kind: MetadataPeerRequest["kind"], bytes: Uint8Array): Result<MetadataPeerRequest> {
  const m = parseJson(bytes);
  if (!isRecord(m) || m.v !== METADATA_PEER_VERSION || m["kind"] !== kind) return err("InvalidArgument", `not a version ${METADATA_PEER_VERSION} ${kind} request`);
  switch (kind) {
    case "propagate": {
      const problem = metadataOpProblem(m.op);
      if (!isId(m.from) || !isSeq(m.seq) || problem !== undefined) return err("InvalidArgument", `bad propagate request: ${problem ?? "from/seq"}`);
      return ok({ kind, from: m.from, seq: m.seq, op: m.op as MetadataOp });
    }
    case "join":
    case "bootstrap":
      return isId(m.from) ? ok({ kind, from: m.from }) : err("InvalidArgument", `bad ${kind} request: from`);
    case "info": {
      const host = m["host"];
      const port = m["port"];
      const id = m["id"];
      if (!isId(id) || typeof host !== "string" || host.length > 1024 || !Number.isSafeInteger(port) || (port as number) < 0 || (port as number) > 65535) {
        return err("InvalidArgument", "bad info announcement: id/host/port");
      }
      return ok({ kind, id, host, port: port as number });
    }
  }
}

const ERROR_CODES = new Set<string>(["NotLeader", "Unavailable", "StreamExists", "StreamNotFound", "PartitionNotFound", "InvalidArgument", "DiskFull", "DiskFailed", "Internal"]);

/** Decodes an answer, or says what is wrong with it. */
export function decodeMetadataPeerReply(bytes: Uint8Array): Result<MetadataPeerReply> {
  const m = parseJson(bytes);
  if (!isRecord(m) || m.v !== METADATA_PEER_VERSION) return err("InvalidArgument", `not a version ${METADATA_PEER_VERSION} reply`);
  const kind = m["kind"];
  if (kind === "propagated" && isSeq(m.seq) && isSeq(m["index"])) return ok({ kind, seq: m.seq, index: m["index"] });
  const e = m["error"];
  if (kind === "propagateRefused" && isSeq(m.seq) && isRecord(e) && typeof e["code"] === "string" && ERROR_CODES.has(e["code"]) && typeof e["message"] === "string") {
    return ok({ kind, seq: m.seq, error: { code: e["code"] as ErrorCode, message: e["message"].slice(0, 1000) } });
  }
  if (kind === "joined" && typeof e === "string") return ok({ kind, error: e.slice(0, 1000) });
  if (kind === "clusterExists" && isId(m.from) && typeof m["leader"] === "string") return ok({ kind, from: m.from, leader: m["leader"] });
  return err("InvalidArgument", "bad reply");
}
