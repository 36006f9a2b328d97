// A metadata op as a Raft entry's data: versioned JSON naming its proposer and the proposer's
// sequence number, so a broker recognises its own proposal when the entry commits (and knows a
// different entry committed at that index means its proposal was lost). Every field is checked on
// decode: entries and forwarded requests arrive from other brokers, so bad bytes give a typed
// error, never an assertion.
import { err, ok, type Result } from "../errors.js";
import type { MetadataOp } from "./metadata-op.js";
import { LIFTBRIDGE_STREAM_DEFAULTS, type StreamDefaults } from "./stream-config.js";

/** The entry format's version. */
export const METADATA_ENTRY_VERSION = 1;

/** What a committed metadata entry says. */
export interface MetadataEntry {
  /** The proposing broker's server id. */
  readonly from: string;
  /** The proposer's sequence number (unique per proposer process and Raft term). */
  readonly seq: number;
  readonly op: MetadataOp;
}

/** Encodes an entry's data. */
export function encodeMetadataEntry(entry: MetadataEntry): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: METADATA_ENTRY_VERSION, from: entry.from, seq: entry.seq, op: entry.op }));
}

/** Decodes an entry's data, or says what is wrong with it. */
export function decodeMetadataEntry(bytes: Uint8Array): Result<MetadataEntry> {
  const value = parseJson(bytes);
  if (!isRecord(value)) return err("InvalidArgument", "metadata entry is not a JSON object");
  if (value.v !== METADATA_ENTRY_VERSION) return err("InvalidArgument", `metadata entry version ${String(value.v)} is not supported`);
  if (typeof value.from !== "string" || !Number.isSafeInteger(value.seq)) return err("InvalidArgument", "metadata entry lacks from/seq");
  const problem = metadataOpProblem(value.op);
  if (problem !== undefined) return err("InvalidArgument", `metadata entry: ${problem}`);
  return ok({ from: value.from, seq: value.seq as number, op: value.op as MetadataOp });
}

/** Parses UTF-8 JSON, or undefined. */
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/** A JSON object as decoded: every field this module reads, each of unknown type. */
interface Fields {
  readonly [key: string]: unknown;
  readonly v?: unknown; readonly from?: unknown; readonly seq?: unknown; readonly op?: unknown; readonly name?: unknown;
  readonly subject?: unknown; readonly group?: unknown; readonly replicationFactor?: unknown; readonly partitions?: unknown;
  readonly overrides?: unknown; readonly creationTimestampNs?: unknown; readonly replicas?: unknown; readonly resumeAll?: unknown;
  readonly readonly?: unknown; readonly timestampNs?: unknown;
}

/** Whether `value` is a plain JSON object. */
export function isRecord(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isName = (v: unknown): boolean => typeof v === "string" && v.length > 0 && v.length <= 4096;
const isIdList = (v: unknown): boolean => Array.isArray(v) && v.length <= 1_000_000 && v.every((id) => Number.isSafeInteger(id) && (id as number) >= 0);
const isStamp = (v: unknown): boolean => typeof v === "string" && /^-?[0-9]{1,20}$/.test(v);

/** What is structurally wrong with a metadata op, or undefined when it has every field it needs. */
export function metadataOpProblem(op: unknown): string | undefined {
  if (!isRecord(op)) return "op is not an object";
  if (!isName(op.name)) return "op has no stream name";
  switch (op.op) {
    case "createStream": {
      const partitions = op.partitions;
      if (!isName(op.subject) || typeof op.group !== "string" || !Number.isSafeInteger(op.replicationFactor)) return "createStream lacks subject/group/replicationFactor";
      if (!Number.isSafeInteger(partitions) || (partitions as number) < 1 || (partitions as number) > 1_000_000) return "createStream has a bad partition count";
      if (!isRecord(op.overrides) || !isStamp(op.creationTimestampNs)) return "createStream lacks overrides/creationTimestampNs";
      const badOverride = Object.entries(op.overrides).find(([k, v]) => !(k in LIFTBRIDGE_STREAM_DEFAULTS) || typeof v !== typeof LIFTBRIDGE_STREAM_DEFAULTS[k as keyof StreamDefaults] || (typeof v === "number" && !Number.isSafeInteger(v)));
      if (badOverride !== undefined) return `createStream has a bad override ${badOverride[0].slice(0, 60)}`;
      const replicas = op.replicas;
      if (!Array.isArray(replicas) || replicas.length !== partitions) return "createStream needs one replica list per partition";
      if (!replicas.every((r) => Array.isArray(r) && r.length > 0 && r.every(isName))) return "createStream has an empty or bad replica list";
      return undefined;
    }
    case "deleteStream":
      return undefined;
    case "pauseStream":
      return isIdList(op.partitions) && typeof op.resumeAll === "boolean" && isStamp(op.timestampNs) ? undefined : "pauseStream lacks partitions/resumeAll/timestampNs";
    case "resumeStream":
      return isIdList(op.partitions) && isStamp(op.timestampNs) ? undefined : "resumeStream lacks partitions/timestampNs";
    case "setStreamReadonly":
      return isIdList(op.partitions) && typeof op.readonly === "boolean" && isStamp(op.timestampNs) ? undefined : "setStreamReadonly lacks partitions/readonly/timestampNs";
    default:
      return `unknown op ${String(op.op).slice(0, 40)}`;
  }
}
