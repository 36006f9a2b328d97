// The binary form of a RaftMessage between brokers: hand-written (the core imports no protobuf),
// little-endian, length-prefixed strings and byte runs, a version byte first and a CRC-32C of
// everything before it last. Decoding never throws: garbage, a truncated frame, a bad checksum or
// an out-of-range field is a typed error, and a decoded message also passes messageProblem().
//
// Frame: u8 version(1) | u8 type | str from | str to | u64 term | u64 logTerm | u64 index |
//   u64 commit | u64 rejectHint | u8 flags(1 reject, 2 transfer, 4 snapshot) | u32 entryCount |
//   entries (u64 index, u64 term, u8 type, bytes data) | [snapshot: u64 index, u64 term,
//   u16 voterCount, str voters, u16 learnerCount, str learners, bytes data] | u32 crc32c
// where str = u8 length + UTF-8 and bytes = u32 length + bytes.
import { crc32c } from "../crc32c.js";
import { messageProblem, RAFT_MESSAGE_TYPES, type RaftMessage } from "./raft-message.js";
import type { RaftEntry, RaftEntryType, RaftSnapshot } from "./raft-types.js";

/** The frame version written and the only one read. */
export const RAFT_CODEC_VERSION = 1;
/** The largest frame decoded (a bound on what garbage can make us allocate). */
export const MAX_RAFT_FRAME_BYTES = 64 * 1024 * 1024;

const ENTRY_TYPES: readonly RaftEntryType[] = ["normal", "confChange"];
const FLAG_REJECT = 1;
const FLAG_TRANSFER = 2;
const FLAG_SNAPSHOT = 4;
const TWO_POW_32 = 0x1_0000_0000;

/** Why a frame was refused. */
export interface RaftDecodeError {
  readonly code: "InvalidRaftMessage";
  readonly message: string;
}

/** A decoded message, or why the bytes are not one. */
export type RaftDecodeResult = { readonly ok: true; readonly message: RaftMessage } | { readonly ok: false; readonly error: RaftDecodeError };

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(n: number): void {
    this.reserve(1);
    this.view.setUint8(this.length++, n);
  }

  u16(n: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, n, true);
    this.length += 2;
  }

  u32(n: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, n >>> 0, true);
    this.length += 4;
  }

  u64(n: number): void {
    this.u32(n % TWO_POW_32);
    this.u32(Math.floor(n / TWO_POW_32));
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  str(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.u8(bytes.length);
    this.raw(bytes);
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Encodes a well-formed message (node ids of at most 255 UTF-8 bytes, at most 65535 members). */
export function encodeRaftMessage(m: RaftMessage): Uint8Array {
  const w = new Writer();
  w.u8(RAFT_CODEC_VERSION);
  w.u8(RAFT_MESSAGE_TYPES.indexOf(m.type));
  w.str(m.from);
  w.str(m.to);
  for (const n of [m.term, m.logTerm, m.index, m.commit, m.rejectHint]) w.u64(n);
  w.u8((m.reject ? FLAG_REJECT : 0) | (m.transfer ? FLAG_TRANSFER : 0) | (m.snapshot !== undefined ? FLAG_SNAPSHOT : 0));
  w.u32(m.entries.length);
  for (const e of m.entries) {
    w.u64(e.index);
    w.u64(e.term);
    w.u8(ENTRY_TYPES.indexOf(e.type));
    w.bytes(e.data);
  }
  if (m.snapshot !== undefined) encodeSnapshot(w, m.snapshot);
  const body = w.finish();
  w.u32(crc32c(body));
  return w.finish();
}

function encodeSnapshot(w: Writer, s: RaftSnapshot): void {
  w.u64(s.meta.index);
  w.u64(s.meta.term);
  for (const ids of [s.meta.confState.voters, s.meta.confState.learners]) {
    w.u16(ids.length);
    for (const id of ids) w.str(id);
  }
  w.bytes(s.data);
}

/** Thrown inside the decoder only, caught at its edge: a field that does not fit. */
class Malformed extends Error {}

class Reader {
  private pos = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.remaining < n) throw new Malformed(`truncated in ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }

  u16(what: string): number {
    this.need(2, what);
    const n = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return n;
  }

  u32(what: string): number {
    this.need(4, what);
    const n = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return n;
  }

  u64(what: string): number {
    const lo = this.u32(what);
    const hi = this.u32(what);
    const n = hi * TWO_POW_32 + lo;
    if (!Number.isSafeInteger(n)) throw new Malformed(`${what} ${hi}:${lo} is past 2^53`);
    return n;
  }

  raw(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str(what: string): string {
    const bytes = this.raw(this.u8(what), what);
    try {
      return this.decoder.decode(bytes);
    } catch {
      throw new Malformed(`${what} is not UTF-8`);
    }
  }

  bytes(what: string): Uint8Array {
    return this.raw(this.u32(what), what);
  }
}

/** Decodes one frame; never throws. */
export function decodeRaftMessage(frame: Uint8Array): RaftDecodeResult {
  const fail = (message: string): RaftDecodeResult => ({ ok: false, error: { code: "InvalidRaftMessage", message } });
  if (frame.length < 6) return fail(`frame of ${frame.length} bytes is too short`);
  if (frame.length > MAX_RAFT_FRAME_BYTES) return fail(`frame of ${frame.length} bytes is too long`);
  if (frame[0] !== RAFT_CODEC_VERSION) return fail(`unknown version ${frame[0]}`);
  const body = frame.subarray(0, frame.length - 4);
  const crc = new DataView(frame.buffer, frame.byteOffset + frame.length - 4, 4).getUint32(0, true);
  if (crc32c(body) !== crc) return fail("checksum mismatch");
  let message: RaftMessage;
  try {
    message = readMessage(new Reader(body));
  } catch (error) {
    if (error instanceof Malformed) return fail(error.message);
    throw error;
  }
  const problem = messageProblem(message);
  return problem === undefined ? { ok: true, message } : fail(problem);
}

function readMessage(r: Reader): RaftMessage {
  r.u8("version");
  const type = RAFT_MESSAGE_TYPES[r.u8("type")];
  if (type === undefined) throw new Malformed("unknown message type");
  const from = r.str("from");
  const to = r.str("to");
  const [term, logTerm, index, commit, rejectHint] = ["term", "logTerm", "index", "commit", "rejectHint"].map((what) => r.u64(what)) as [number, number, number, number, number];
  const flags = r.u8("flags");
  if (flags > 7) throw new Malformed(`unknown flags ${flags}`);
  const count = r.u32("entryCount");
  // Each entry takes at least 21 bytes: a count beyond what is left is garbage, not an allocation.
  if (count * 21 > r.remaining) throw new Malformed(`entry count ${count} exceeds the frame`);
  const entries: RaftEntry[] = [];
  for (let i = 0; i < count; i++) {
    const [eIndex, eTerm] = [r.u64("entry index"), r.u64("entry term")];
    const eType = ENTRY_TYPES[r.u8("entry type")];
    if (eType === undefined) throw new Malformed("unknown entry type");
    entries.push({ index: eIndex, term: eTerm, type: eType, data: r.bytes("entry data") });
  }
  const snapshot = (flags & FLAG_SNAPSHOT) !== 0 ? readSnapshot(r) : undefined;
  if (r.remaining !== 0) throw new Malformed(`${r.remaining} trailing bytes`);
  const base = { type, from, to, term, logTerm, index, commit, rejectHint, entries, reject: (flags & FLAG_REJECT) !== 0, transfer: (flags & FLAG_TRANSFER) !== 0 };
  return snapshot === undefined ? base : { ...base, snapshot };
}

function readSnapshot(r: Reader): RaftSnapshot {
  const index = r.u64("snapshot index");
  const term = r.u64("snapshot term");
  const readIds = (what: string): string[] => {
    const n = r.u16(what);
    if (n > r.remaining) throw new Malformed(`${what} count ${n} exceeds the frame`);
    return Array.from({ length: n }, () => r.str(what));
  };
  const voters = readIds("voters");
  const learners = readIds("learners");
  return { meta: { index, term, confState: { voters, learners } }, data: r.bytes("snapshot data") };
}
