// The node runtime (docs/runtime.md): order within a lane, independence across lanes, failures
// that stay in their lane, pipelined fdatasync, the planted ackBeforeEarlierPersist bug.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DiskError, type DiskOp } from "../../src/core/disk.js";
import { emptyOutputs, type BaseInput, type Outputs, type PersistGroup, type ReadRequest } from "../../src/core/outputs.js";
import { NodeRuntime, type RuntimeBugs } from "../../src/core/runtime/node-runtime.js";
import { timeMs, timestampNs } from "../../src/core/types.js";

const write = (path: string): DiskOp => ({ kind: "write", path, position: 0, chunks: [new Uint8Array(1)] });
const sync = (path: string): DiskOp => ({ kind: "fdatasync", path });

function group(lane: string, token: number, ops: DiskOp[], ack: string, after: number[] = []): PersistGroup<string> {
  return { lane, token, ops, after, sendAfterPersist: [{ subject: ack, data: new Uint8Array() }], replyAfterPersist: [] };
}

/** A fake core returning the groups it is told to, and an IO whose fdatasyncs complete when the test says. */
function rig(bugs: RuntimeBugs = {}) {
  const fed: string[] = [];
  const sent: string[] = [];
  const started: string[] = [];
  const syncs: Array<{ op: DiskOp; done: (e: DiskError | undefined) => void }> = [];
  const reads: Array<{ request: ReadRequest; done: (result: Uint8Array | DiskError) => void }> = [];
  let next: Outputs<string> = emptyOutputs<string>();
  const core = {
    step: (input: BaseInput): Outputs<string> => {
      if (input.kind !== "tick") fed.push(`${input.kind}:${input.token}`);
      const out = next;
      next = emptyOutputs<string>();
      return out;
    },
    nextDeadline: () => undefined,
  };
  const runtime = new NodeRuntime<BaseInput, string>(core, {
    time: () => ({ nowMs: timeMs(0), wallNs: timestampNs(0n) }),
    startOp: (lane, op, done) => {
      started.push(`${lane}:${op.kind}`);
      if (op.kind === "fdatasync") syncs.push({ op, done });
      else done(undefined);
    },
    read: (request, done) => {
      started.push(`${request.lane}:read`);
      reads.push({ request, done });
    },
    stepped: () => undefined,
    natsSubscription: () => undefined,
    send: (s) => void sent.push(s.subject),
    reply: () => undefined,
    failHeld: (r) => r,
    armDeadline: () => undefined,
  }, bugs);
  const stepWith = (...groups: PersistGroup<string>[]): void => {
    next = { ...emptyOutputs<string>(), persists: groups };
    runtime.step({ kind: "tick", nowMs: timeMs(0), wallNs: timestampNs(0n) });
  };
  const stepReads = (groups: PersistGroup<string>[], ...requests: ReadRequest[]): void => {
    next = { ...emptyOutputs<string>(), persists: groups, reads: requests };
    runtime.step({ kind: "tick", nowMs: timeMs(0), wallNs: timestampNs(0n) });
  };
  return { runtime, fed, sent, started, syncs, reads, stepWith, stepReads };
}

test("within a lane: the next group's write overlaps the fdatasync in flight; its ack waits for the earlier group", () => {
  const r = rig();
  r.stepWith(group("p1", 1, [write("a"), sync("a")], "ack1"));
  r.stepWith(group("p1", 2, [write("b"), sync("b")], "ack2"));
  assert.deepEqual(r.started, ["p1:write", "p1:fdatasync", "p1:write"], "the second write went while the first sync was in flight; its sync waits");
  r.syncs.shift()!.done(undefined);
  assert.deepEqual(r.sent, ["ack1"]);
  assert.deepEqual(r.fed, ["persisted:1"]);
  r.syncs.shift()!.done(undefined);
  assert.deepEqual(r.sent, ["ack1", "ack2"]);
  assert.deepEqual(r.fed, ["persisted:1", "persisted:2"]);
  assert.equal(r.runtime.idle, true);
});

test("on the metadata lane a record is durable before the next is written (its recovery reads a torn middle as corruption)", () => {
  const r = rig();
  r.stepWith(group("metadata", 1, [write("metadata.log"), sync("metadata.log")], "ack1"));
  r.stepWith(group("metadata", 2, [write("metadata.log"), sync("metadata.log")], "ack2"));
  assert.deepEqual(r.started, ["metadata:write", "metadata:fdatasync"], "the second write waits for the first sync");
  r.syncs.shift()!.done(undefined);
  assert.deepEqual(r.started, ["metadata:write", "metadata:fdatasync", "metadata:write", "metadata:fdatasync"]);
  r.syncs.shift()!.done(undefined);
  assert.deepEqual(r.fed, ["persisted:1", "persisted:2"]);
});

test("one fdatasync completes every group parked behind it on the same file (pipelined group commit)", () => {
  const r = rig();
  r.stepWith(group("p1", 1, [write("seg"), sync("seg")], "ack1"));
  r.stepWith(group("p1", 2, [write("seg"), sync("seg")], "ack2"));
  r.stepWith(group("p1", 3, [write("seg"), sync("seg")], "ack3"));
  r.syncs.shift()!.done(undefined);
  assert.equal(r.syncs.length, 1, "groups 2 and 3 share one fdatasync");
  r.syncs.shift()!.done(undefined);
  assert.deepEqual(r.sent, ["ack1", "ack2", "ack3"]);
  assert.deepEqual(r.fed, ["persisted:1", "persisted:2", "persisted:3"]);
});

test("across lanes: a later lane's persist completes first and is released first; a barrier waits for its tokens", () => {
  const r = rig();
  r.stepWith(group("p1", 1, [write("a"), sync("a")], "ack1"), group("p2", 2, [write("b"), sync("b")], "ack2"));
  r.stepWith(group("metadata", 3, [write("m"), sync("m")], "created", [1, 2]));
  assert.deepEqual(r.started.filter((s) => s.startsWith("metadata")), [], "the barrier waits for both partition lanes");
  r.syncs[1]!.done(undefined);
  assert.deepEqual(r.sent, ["ack2"]);
  r.syncs[0]!.done(undefined);
  assert.deepEqual(r.sent, ["ack2", "ack1"]);
  assert.deepEqual(r.started.filter((s) => s.startsWith("metadata")), ["metadata:write", "metadata:fdatasync"]);
});

test("a failure stays in its lane: later groups of the lane fail with it, other lanes are released", () => {
  const r = rig();
  r.stepWith(group("p1", 1, [write("a"), sync("a")], "ack1"), group("p2", 2, [write("b"), sync("b")], "ack2"));
  r.stepWith(group("p1", 3, [write("a2"), sync("a2")], "ack3"));
  r.syncs[0]!.done(new DiskError("EIO", "fdatasync", "a"));
  assert.deepEqual(r.fed, ["persistFailed:1", "persistFailed:3"]);
  assert.equal(r.syncs.length, 2, "group 3's fdatasync never started");
  r.syncs[1]!.done(undefined);
  assert.deepEqual(r.sent, ["ack2"]);
  assert.deepEqual(r.fed, ["persistFailed:1", "persistFailed:3", "persisted:2"]);
});

test("planted ackBeforeEarlierPersist: a later group's ack goes out before the earlier fdatasync of its lane completed", () => {
  const r = rig({ ackBeforeEarlierPersist: true });
  r.stepWith(group("p1", 1, [write("a"), sync("a")], "ack1"));
  r.stepWith(group("p1", 2, [write("b"), sync("b")], "ack2"));
  assert.equal(r.syncs.length, 2, "the bug runs the lane's fdatasyncs side by side");
  r.syncs[1]!.done(undefined);
  assert.deepEqual(r.sent, ["ack2"], "caught: the ack left before token 1 completed");
});

const read = (lane: string, token: number, after: number[] = []): ReadRequest => ({ token, lane, path: "a", position: 0, length: 1, after, purpose: "test" });

test("a read runs after the groups staged before it in its lane, beside their fdatasync; it completes in any order", () => {
  const r = rig();
  r.stepReads([group("p1", 1, [write("a"), sync("a")], "ack1")], read("p1", 1));
  assert.deepEqual(r.started, ["p1:write", "p1:fdatasync", "p1:read"], "the read waits for the write, not for the fdatasync");
  r.reads.shift()!.done(new Uint8Array([7]));
  assert.deepEqual(r.fed, ["readCompleted:1"], "the read came back before the earlier group's persist");
  r.syncs.shift()!.done(undefined);
  assert.deepEqual(r.fed, ["readCompleted:1", "persisted:1"]);
});

test("a read in flight holds back a later remove, truncate or rename of its file, not its lane's writes or other files; a failed read is readFailed", () => {
  const r = rig();
  r.stepReads([], read("p1", 1));
  r.stepWith(group("p1", 1, [write("b"), { kind: "rename", from: "c.tmp", to: "c" }, { kind: "remove", path: "a" }], "ack1"));
  assert.deepEqual(r.started, ["p1:read", "p1:write", "p1:rename"], "the write and another file's rename went beside the read; the remove of its file waits for it");
  r.reads.shift()!.done(new DiskError("EIO", "read", "a"));
  assert.deepEqual(r.started, ["p1:read", "p1:write", "p1:rename", "p1:remove"]);
  assert.deepEqual(r.fed, ["readFailed:1", "persisted:1"]);
});

test("a read waits for its barrier token of another lane; a failed earlier group does not fail it", () => {
  const r = rig();
  r.stepWith(group("metadata", 1, [sync("m")], "m1"));
  r.stepReads([group("p1", 2, [{ kind: "truncate", path: "a", length: 0 }, sync("a")], "ack2", [1])], read("p1", 1, [1]));
  assert.deepEqual(r.started, ["metadata:fdatasync"], "the partition lane waits for the barrier");
  r.syncs.shift()!.done(undefined);
  assert.deepEqual(r.started, ["metadata:fdatasync", "p1:truncate", "p1:fdatasync", "p1:read"], "after the truncate, beside the fdatasync");
  r.syncs.shift()!.done(new DiskError("EIO", "fdatasync", "a"));
  r.reads.shift()!.done(new Uint8Array(0));
  assert.deepEqual(r.fed, ["persisted:1", "persistFailed:2", "readCompleted:1"]);
});
