// Metadata Raft over NATS subjects: what one node sends, the addressee decodes intact; garbage,
// truncated, altered, misaddressed and self-sent messages are refused with a reason, never thrown.
import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import type { PeerMessage } from "../../src/core/peers/peer-message.js";
import { raftMessage } from "../../src/core/raft/raft-message.js";
import { isRaftNodeIdUsable, raftSend, raftSubject, receiveRaftMessage } from "../../src/core/raft/raft-transport.js";
import type { NodeId } from "../../src/core/types.js";

const NS = "liftbridge-default";
const app = raftMessage({
  type: "app", from: "b1", to: "b2", term: 3, logTerm: 2, index: 4, commit: 4,
  entries: [{ index: 5, term: 3, type: "normal", data: new Uint8Array([1, 2, 3]) }],
});

function peer(subject: string, data: Uint8Array): PeerMessage {
  return { from: "b1" as NodeId, subject, data };
}

test("a Raft message travels on <ns>.raft.metadata.<to>.request and arrives intact", () => {
  const send = raftSend(NS, app);
  assert.equal(send.subject, "liftbridge-default.raft.metadata.b2.request");
  const received = receiveRaftMessage(NS, "b2", peer(send.subject, send.data));
  assert.ok(received.ok, received.ok ? "" : received.refusal.message);
  assert.deepEqual(received.message, app);
});

test("misaddressed and self-sent messages are refused with their reason", () => {
  const send = raftSend(NS, app);
  const code = (self: string, subject: string, data: Uint8Array): string => {
    const r = receiveRaftMessage(NS, self, peer(subject, data));
    return r.ok ? "ok" : r.refusal.code;
  };
  assert.equal(code("b2", `other-ns.raft.metadata.b2.request`, send.data), "NotRaftSubject");
  assert.equal(code("b2", `${NS}.raft.metadata.b2.accept`, send.data), "NotRaftSubject");
  assert.equal(code("b3", send.subject, send.data), "NotForThisNode");
  // The right subject, but the frame names another addressee (a replay aimed elsewhere).
  assert.equal(code("b3", raftSubject(NS, "b3"), send.data), "NotForThisNode");
  const loop = raftSend(NS, raftMessage({ type: "heartbeat", from: "b2", to: "b2", term: 3 }));
  assert.equal(code("b2", loop.subject, loop.data), "InvalidRaftMessage");
});

test("every truncation and every single flipped byte of a frame is refused", () => {
  const { subject, data } = raftSend(NS, app);
  for (let n = 0; n < data.length; n++) {
    const r = receiveRaftMessage(NS, "b2", peer(subject, data.subarray(0, n)));
    assert.equal(r.ok, false, `a frame cut to ${n} bytes was accepted`);
  }
  for (let i = 0; i < data.length; i++) {
    const altered = data.slice();
    altered[i]! ^= 0x20;
    const r = receiveRaftMessage(NS, "b2", peer(subject, altered));
    assert.equal(r.ok, false, `a frame with byte ${i} flipped was accepted`);
  }
});

test("property: random bytes on a Raft subject are refused, never thrown", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const r = receiveRaftMessage(NS, "b2", peer(raftSubject(NS, "b2"), bytes));
      assert.equal(r.ok, false);
    }),
    { numRuns: 2000, seed: 1210 },
  );
});

test("a member id must be one subject token", () => {
  assert.equal(isRaftNodeIdUsable(NS, "b1"), true);
  assert.equal(isRaftNodeIdUsable(NS, "server-2"), true);
  for (const bad of ["", "a.b", "a b", "a\tb", "*", ">"]) assert.equal(isRaftNodeIdUsable(NS, bad), false, JSON.stringify(bad));
});
