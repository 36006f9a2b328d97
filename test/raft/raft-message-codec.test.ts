// The Raft message codec: every well-formed message round-trips, and no byte string makes the
// decoder throw (garbage, truncation, a flipped bit and out-of-range fields are typed errors).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeRaftMessage, encodeRaftMessage } from "../../src/core/raft/raft-message-codec.js";
import { RAFT_MESSAGE_TYPES, raftMessage, type RaftMessage } from "../../src/core/raft/raft-message.js";

const id = fc.string({ minLength: 1, maxLength: 12 });
const counter = fc.nat({ max: Number.MAX_SAFE_INTEGER });

const message: fc.Arbitrary<RaftMessage> = fc
  .record({
    type: fc.constantFrom(...RAFT_MESSAGE_TYPES),
    from: id,
    to: id,
    term: fc.nat({ max: 1000 }),
    logTerm: fc.nat({ max: 1000 }),
    index: counter,
    commit: counter,
    reject: fc.boolean(),
    rejectHint: counter,
    transfer: fc.boolean(),
    entryData: fc.array(fc.tuple(fc.uint8Array({ maxLength: 16 }), fc.boolean()), { maxLength: 5 }),
    snapshot: fc.record({ index: fc.integer({ min: 1, max: 1e12 }), data: fc.uint8Array({ maxLength: 32 }), voters: fc.array(id, { maxLength: 5 }), learners: fc.array(id, { maxLength: 3 }) }),
  })
  .map((r) => {
    const isApp = r.type === "app";
    const index = isApp ? Math.min(r.index, 1e12) : r.index;
    const entries = isApp ? r.entryData.map(([data, conf], i) => ({ index: index + 1 + i, term: r.term, type: conf ? ("confChange" as const) : ("normal" as const), data })) : [];
    const logTerm = isApp ? Math.min(r.logTerm, r.term) : r.logTerm;
    const base = { type: r.type, from: r.from, to: r.to, term: r.term, logTerm, index, commit: r.commit, reject: r.reject, rejectHint: r.rejectHint, transfer: r.transfer, entries };
    if (r.type !== "snap") return raftMessage(base);
    const meta = { index: r.snapshot.index, term: r.term, confState: { voters: r.snapshot.voters, learners: r.snapshot.learners } };
    return raftMessage({ ...base, snapshot: { meta, data: r.snapshot.data } });
  });

test("decode(encode(m)) equals m for every well-formed message", () => {
  fc.assert(
    fc.property(message, (m) => {
      const decoded = decodeRaftMessage(encodeRaftMessage(m));
      assert.ok(decoded.ok, decoded.ok ? "" : decoded.error.message);
      assert.deepStrictEqual(decoded.message, m);
    }),
    { numRuns: 500 },
  );
});

test("random bytes never throw and almost never decode", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const r = decodeRaftMessage(bytes);
      assert.equal(typeof r.ok, "boolean");
    }),
    { numRuns: 2000 },
  );
});

test("every truncation and every single flipped bit of a valid frame is refused", () => {
  fc.assert(
    fc.property(message, fc.nat(), fc.nat({ max: 7 }), (m, at, bit) => {
      const frame = encodeRaftMessage(m);
      const cut = at % frame.length;
      assert.equal(decodeRaftMessage(frame.subarray(0, cut)).ok, false, `truncated at ${cut}`);
      const flipped = frame.slice();
      flipped[cut] = (flipped[cut] as number) ^ (1 << bit);
      assert.equal(decodeRaftMessage(flipped).ok, false, `bit ${bit} of byte ${cut} flipped`);
    }),
    { numRuns: 500 },
  );
});

test("a frame whose checksum is right but whose fields are out of range is a typed error", () => {
  // Entries that do not follow the append's index are malformed even when the frame is intact.
  const bad = raftMessage({ type: "app", from: "a", to: "b", term: 2, index: 5, entries: [{ index: 9, term: 2, type: "normal", data: new Uint8Array(0) }] });
  const r = decodeRaftMessage(encodeRaftMessage(bad));
  assert.equal(r.ok, false);
  assert.match(r.ok ? "" : r.error.message, /expected 6/);
  assert.equal(r.ok ? "" : r.error.code, "InvalidRaftMessage");
  const version = encodeRaftMessage(raftMessage({ type: "heartbeat", from: "a", to: "b", term: 1 }));
  version[0] = 9;
  const v = decodeRaftMessage(version);
  assert.match(v.ok ? "decoded" : v.error.message, /unknown version 9/);
});
