// The payloads framed by raft-frame.ts, all integers big-endian, every field inside the CRC:
//
//   payload   = version u8 (=1) | kind u8 | body
//   entry     (kind 1) = index u64 | term u64 | type u8 (0 normal, 1 confChange) | data (the rest)
//   hardState (kind 2) = term u64 | commit u64 | vote (the rest, UTF-8; empty for none)
//   snapshot  (kind 3) = index u64 | term u64 | voters ids | learners ids | data (the rest)
//   ids       = count u16 | (length u16 | UTF-8)*
//
// A reader refuses any other version or kind: a newer file is never half-understood.
import { readU64, writeU64 } from "../log/record-codec.js";
import type { ConfState, HardState, RaftEntry, RaftEntryType, RaftNodeId, RaftSnapshot } from "./raft-types.js";

/** The format version this code writes and reads. */
export const RAFT_RECORD_VERSION = 1;
/** Kind bytes. */
export const ENTRY_KIND = 1;
export const HARD_STATE_KIND = 2;
export const SNAPSHOT_KIND = 3;

const PREFIX_BYTES = 2;
const ENTRY_FIXED_BYTES = PREFIX_BYTES + 17;
const HARD_STATE_FIXED_BYTES = PREFIX_BYTES + 16;
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

function prefixed(kind: number, bodyBytes: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(PREFIX_BYTES + bodyBytes);
  bytes[0] = RAFT_RECORD_VERSION;
  bytes[1] = kind;
  return { bytes, view: new DataView(bytes.buffer) };
}

function hasPrefix(payload: Uint8Array, kind: number, minBytes: number): boolean {
  return payload.length >= minBytes && payload[0] === RAFT_RECORD_VERSION && payload[1] === kind;
}

/** The payload of one entry. */
export function encodeEntry(entry: RaftEntry): Uint8Array {
  const { bytes, view } = prefixed(ENTRY_KIND, 17 + entry.data.length);
  writeU64(view, 2, entry.index);
  writeU64(view, 10, entry.term);
  bytes[18] = entry.type === "confChange" ? 1 : 0;
  bytes.set(entry.data, ENTRY_FIXED_BYTES);
  return bytes;
}

/** An entry payload decoded (its data copied out of the read buffer), or undefined. */
export function parseEntry(payload: Uint8Array): RaftEntry | undefined {
  if (!hasPrefix(payload, ENTRY_KIND, ENTRY_FIXED_BYTES)) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const index = readU64(view, 2);
  const term = readU64(view, 10);
  const typeByte = payload[18];
  if (index < 1 || term < 0 || (typeByte !== 0 && typeByte !== 1)) return undefined;
  const type: RaftEntryType = typeByte === 1 ? "confChange" : "normal";
  return { index, term, type, data: payload.slice(ENTRY_FIXED_BYTES) };
}

/** The payload of a hard state. */
export function encodeHardState(hs: HardState): Uint8Array {
  const vote = ENCODER.encode(hs.vote);
  const { bytes, view } = prefixed(HARD_STATE_KIND, 16 + vote.length);
  writeU64(view, 2, hs.term);
  writeU64(view, 10, hs.commit);
  bytes.set(vote, HARD_STATE_FIXED_BYTES);
  return bytes;
}

/** A hard state payload decoded, or undefined. */
export function parseHardState(payload: Uint8Array): HardState | undefined {
  if (!hasPrefix(payload, HARD_STATE_KIND, HARD_STATE_FIXED_BYTES)) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const term = readU64(view, 2);
  const commit = readU64(view, 10);
  const vote = decodeUtf8(payload.subarray(HARD_STATE_FIXED_BYTES));
  if (term < 0 || commit < 0 || vote === undefined) return undefined;
  return { term, vote, commit };
}

/** The payload of a snapshot. */
export function encodeSnapshot(snapshot: RaftSnapshot): Uint8Array {
  const voters = encodeIds(snapshot.meta.confState.voters);
  const learners = encodeIds(snapshot.meta.confState.learners);
  const { bytes, view } = prefixed(SNAPSHOT_KIND, 16 + voters.length + learners.length + snapshot.data.length);
  writeU64(view, 2, snapshot.meta.index);
  writeU64(view, 10, snapshot.meta.term);
  let pos = PREFIX_BYTES + 16;
  for (const part of [voters, learners, snapshot.data]) {
    bytes.set(part, pos);
    pos += part.length;
  }
  return bytes;
}

/** A snapshot payload decoded (data copied), or undefined. */
export function parseSnapshot(payload: Uint8Array): RaftSnapshot | undefined {
  if (!hasPrefix(payload, SNAPSHOT_KIND, PREFIX_BYTES + 20)) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const index = readU64(view, 2);
  const term = readU64(view, 10);
  if (index < 0 || term < 0) return undefined;
  const voters = parseIds(payload, view, PREFIX_BYTES + 16);
  if (voters === undefined) return undefined;
  const learners = parseIds(payload, view, voters.end);
  if (learners === undefined) return undefined;
  const confState: ConfState = { voters: voters.ids, learners: learners.ids };
  return { meta: { index, term, confState }, data: payload.slice(learners.end) };
}

function encodeIds(ids: readonly RaftNodeId[]): Uint8Array {
  const encoded = ids.map((id) => ENCODER.encode(id));
  const bytes = new Uint8Array(2 + encoded.reduce((n, e) => n + 2 + e.length, 0));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, encoded.length);
  let pos = 2;
  for (const e of encoded) {
    view.setUint16(pos, e.length);
    bytes.set(e, pos + 2);
    pos += 2 + e.length;
  }
  return bytes;
}

function parseIds(payload: Uint8Array, view: DataView, pos: number): { ids: RaftNodeId[]; end: number } | undefined {
  if (payload.length - pos < 2) return undefined;
  const count = view.getUint16(pos);
  const ids: RaftNodeId[] = [];
  let p = pos + 2;
  for (let i = 0; i < count; i++) {
    if (payload.length - p < 2) return undefined;
    const length = view.getUint16(p);
    if (payload.length - p - 2 < length) return undefined;
    const id = decodeUtf8(payload.subarray(p + 2, p + 2 + length));
    if (id === undefined) return undefined;
    ids.push(id);
    p += 2 + length;
  }
  return { ids, end: p };
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}
