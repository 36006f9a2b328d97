// The small pure parts of the Raft node: majority arithmetic, flow control, the log's unstable tail.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MemoryRaftStorage } from "../../src/core/raft/memory-raft-storage.js";
import { Progress } from "../../src/core/raft/progress.js";
import { committedIndex, voteResult } from "../../src/core/raft/quorum.js";
import { RaftLog } from "../../src/core/raft/raft-log.js";
import type { RaftEntry } from "../../src/core/raft/raft-types.js";

test("committedIndex is the largest index a majority of voters holds (against a brute force)", () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 7 }), (matches) => {
      const voters = matches.map((_, i) => `v${i}`);
      const got = committedIndex(voters, (id) => matches[Number(id.slice(1))] ?? 0);
      const majority = Math.floor(voters.length / 2) + 1;
      const brute = Math.max(...[0, ...matches].filter((c) => matches.filter((m) => m >= c).length >= majority));
      assert.equal(got, brute);
    }),
  );
});

test("voteResult: won at a majority of grants, lost once a majority is out of reach, learners ignored", () => {
  const voters = ["a", "b", "c", "d", "e"];
  assert.equal(voteResult(voters, new Map([["a", true], ["b", true]])), "pending");
  assert.equal(voteResult(voters, new Map([["a", true], ["b", true], ["c", true]])), "won");
  assert.equal(voteResult(voters, new Map([["a", true], ["b", false], ["c", false], ["d", false]])), "lost");
  assert.equal(voteResult(["a", "b", "c"], new Map([["a", true], ["learner", true]])), "pending");
});

test("progress: probe sends one append at a time, replicate pipelines up to maxInflightMsgs", () => {
  const pr = new Progress(10, false, 2);
  assert.equal(pr.isPaused(), false);
  pr.sentEntries(10, 1);
  assert.equal(pr.isPaused(), true, "a probe waits for its answer");
  assert.equal(pr.maybeUpdate(10), true);
  pr.becomeReplicate();
  pr.sentEntries(11, 1);
  pr.sentEntries(12, 1);
  assert.equal(pr.isPaused(), true, "two in flight");
  pr.maybeUpdate(11);
  assert.equal(pr.isPaused(), false);
  assert.equal(pr.maybeDecrTo(10, 5), false, "a rejection below the match is stale");
  assert.equal(pr.maybeDecrTo(12, 5), true);
  assert.equal(pr.next, 12);
});

function entry(index: number, term: number): RaftEntry {
  return { index, term, type: "normal", data: new Uint8Array([index]) };
}

test("raft log: an append that conflicts cuts the tail, stableTo ignores entries overwritten meanwhile", () => {
  const storage = new MemoryRaftStorage();
  const log = new RaftLog(storage);
  log.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
  storage.append(log.unstableEntries());
  log.stableTo(3, 1);
  assert.equal(log.unstableEntries().length, 0);
  // A new leader's entries replace 2 and 3 (durable ones too, once persisted).
  assert.deepEqual(log.maybeAppend(1, 1, [entry(2, 2)]), { lastNew: 2 });
  assert.equal(log.lastIndex(), 2);
  assert.equal(log.term(2), 2);
  assert.equal(log.term(3), undefined);
  log.stableTo(2, 1); // a stale acknowledgement of the old entry 2
  assert.equal(log.unstableEntries().length, 1);
  storage.append(log.unstableEntries());
  log.stableTo(2, 2);
  assert.equal(storage.lastIndex(), 2);
  assert.equal(log.maybeAppend(5, 2, [entry(6, 2)]), undefined, "no match at 5: refused");
  log.commitTo(2);
  assert.deepEqual(log.maybeAppend(0, 0, [entry(1, 1), entry(2, 3)]), { problem: "append conflicts with committed entry 2" });
  assert.equal(log.findConflictByTerm(2, 1), 1);
});
