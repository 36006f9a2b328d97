// Crash properties of the Raft log on SimDisk. Any sequence of append (with conflicting suffixes),
// setHardState, saveSnapshot (the node's own, or a leader's installed on a follower) and compact;
// power loss after any op (unsynced writes kept, torn or lost; directory entries lost), another
// during recovery; reopen. The recovered state is one a crash allows: the snapshot and hard state
// of before or after the interrupted change, and entries that are a prefix of the log before or
// after it, holding every entry that was durable and not being cut by that change. Bit flips in a
// frame followed by others are refused with the file named; in the last frame they are cut.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { DiskOp } from "../../src/core/disk.js";
import type { RaftDiskLogPlantedBugs } from "../../src/core/raft/raft-disk-log.js";
import type { HardState, RaftEntry, RaftSnapshot } from "../../src/core/raft/raft-types.js";
import type { SimDiskFaults } from "../../sim/sim-disk.js";
import { CrashPoint, RAFT_DIR, RaftLogHarness, textEntry, textOf } from "../../sim/testing/raft-log-harness.js";

type Action =
  | { readonly kind: "append"; readonly back: number; readonly count: number; readonly bump: boolean }
  | { readonly kind: "hardState"; readonly vote: number; readonly advance: number }
  | { readonly kind: "snapshot"; readonly pick: number }
  | { readonly kind: "install"; readonly ahead: number; readonly conflict: boolean }
  | { readonly kind: "compact"; readonly pick: number };

const arbAction: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("append" as const), back: fc.nat(6), count: fc.integer({ min: 1, max: 4 }), bump: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("hardState" as const), vote: fc.nat(2), advance: fc.nat(8) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("snapshot" as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("install" as const), ahead: fc.integer({ min: 1, max: 5 }), conflict: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const), pick: fc.nat(20) }) },
);

const arbFaults = fc.record({
  tornWritePerMille: fc.integer({ min: 0, max: 500 }),
  droppedWritePerMille: fc.integer({ min: 0, max: 500 }),
  lostDirEntryPerMille: fc.integer({ min: 0, max: 1000 }),
});

interface Ent {
  readonly term: number;
  readonly text: string;
}

interface Snap {
  readonly index: number;
  readonly term: number;
  readonly text: string;
}

/** The model: what the log holds, independent of how it is stored. */
interface Model {
  hs: HardState;
  snap: Snap | undefined;
  compacted: number;
  compactedTerm: number;
  /** log[i] for 1 <= i <= last; undefined where a leader's snapshot replaced the entries. */
  log: (Ent | undefined)[];
  last: number;
  term: number;
  counter: number;
  /** Every hard state ever set (the initial one too): a recovered one must be among them. */
  hsHistory: HardState[];
}

const clone = (m: Model): Model => ({ ...m, log: [...m.log], hsHistory: [...m.hsHistory] });

function freshModel(): Model {
  const hs = { term: 0, vote: "", commit: 0 };
  return { hs, snap: undefined, compacted: 0, compactedTerm: 0, log: [undefined], last: 0, term: 1, counter: 0, hsHistory: [hs] };
}

function toSnapshot(s: Snap): RaftSnapshot {
  return { meta: { index: s.index, term: s.term, confState: { voters: ["b1"], learners: [] } }, data: new TextEncoder().encode(s.text) };
}

/** What a step asks of the log (called on the log, it returns the ops) and, for the check, the lowest index the step may cut from. */
interface Planned {
  readonly run: (h: RaftLogHarness) => DiskOp[];
  /** Entries up to this index were durable before the step and the step does not cut them (unless the snapshot replaced them). */
  readonly keepThrough: number;
}

function setHs(m: Model, hs: HardState): void {
  m.hs = hs;
  m.hsHistory.push(hs);
}

/** Resolves an abstract action against the model `m`, which it turns into the state after the step. */
function plan(m: Model, a: Action): Planned | undefined {
  const snapIndex = m.snap?.index ?? 0;
  switch (a.kind) {
    case "append": {
      const lo = Math.max(m.hs.commit, m.compacted) + 1;
      const from = m.last + 1 - (a.back % (m.last + 2 - lo));
      if (a.bump) m.term++;
      const ents = Array.from({ length: a.count }, (_, i) => textEntry(from + i, m.term, `e${m.counter++}`));
      m.log.length = from;
      for (const e of ents) m.log.push({ term: e.term, text: textOf(e.data) });
      m.last = from + a.count - 1;
      return { run: (h) => h.log.append(ents), keepThrough: from - 1 };
    }
    case "hardState": {
      const hs = { term: m.term, vote: ["", "b1", "b2"][a.vote] as string, commit: m.hs.commit + (a.advance % (m.last - m.hs.commit + 1)) };
      const keep = m.last;
      setHs(m, hs);
      return { run: (h) => h.log.setHardState(hs), keepThrough: keep };
    }
    case "snapshot": {
      const lo = Math.max(snapIndex, m.compacted) + 1;
      if (lo > m.hs.commit) return undefined;
      const index = lo + (a.pick % (m.hs.commit - lo + 1));
      const snap = { index, term: (m.log[index] as Ent).term, text: `snap${m.counter++}` };
      m.snap = snap;
      return { run: (h) => h.log.saveSnapshot(toSnapshot(snap)), keepThrough: m.last };
    }
    case "install":
      return planInstall(m, a);
    case "compact": {
      if (snapIndex <= m.compacted) return undefined;
      const index = m.compacted + 1 + (a.pick % (snapIndex - m.compacted));
      m.compactedTerm = termIn(m, index) as number;
      m.compacted = index;
      return { run: (h) => h.log.compact(index), keepThrough: m.last };
    }
  }
}

/** A leader's snapshot: past the log, or (conflict) inside it with a newer term; the commit moves to it. */
function planInstall(m: Model, a: { readonly ahead: number; readonly conflict: boolean }): Planned {
  const floor = Math.max(m.hs.commit, m.snap?.index ?? 0);
  const inside = a.conflict && m.last > floor;
  const index = inside ? floor + 1 + (a.ahead % (m.last - floor)) : m.last + a.ahead;
  if (inside) m.term++;
  const snap = { index, term: m.term, text: `snap${m.counter++}` };
  const hs = { term: m.term, vote: m.hs.vote, commit: index };
  m.snap = snap;
  m.log = new Array<Ent | undefined>(index + 1).fill(undefined);
  m.last = index;
  m.compacted = index;
  m.compactedTerm = snap.term;
  setHs(m, hs);
  return { run: (h) => h.log.persist({ snapshot: toSnapshot(snap), hardState: hs }), keepThrough: -1 };
}

interface Outcome {
  /** The model before the step the power failed in (or the final one). */
  readonly before: Model;
  /** The model after that step. */
  readonly after: Model;
  readonly keepThrough: number;
  /** The step was a leader's snapshot install. */
  readonly install: boolean;
}

function runUntilCrash(h: RaftLogHarness, actions: readonly Action[]): Outcome {
  let m = freshModel();
  try {
    h.open();
  } catch (e) {
    if (!(e instanceof CrashPoint)) throw e;
    return { before: m, after: m, keepThrough: 0, install: false };
  }
  for (const a of actions) {
    const before = clone(m);
    const planned = plan(m, a);
    if (planned === undefined) continue;
    try {
      h.apply(planned.run(h));
    } catch (e) {
      if (!(e instanceof CrashPoint)) throw e;
      return { before, after: m, keepThrough: planned.keepThrough, install: a.kind === "install" };
    }
    checkInMemory(h, m);
    m = clone(m);
  }
  return { before: m, after: m, keepThrough: m.last, install: false };
}

/** The log's read side agrees with the model after every completed change. */
function checkInMemory(h: RaftLogHarness, m: Model): void {
  const log = h.log;
  assert.deepEqual([log.firstIndex(), log.lastIndex()], [m.compacted + 1, m.last], "first and last index");
  assert.equal(log.term(m.compacted), m.compactedTerm, "term at the compaction point");
  assert.equal(log.term(m.last + 1), undefined);
  const held = m.last >= m.compacted + 1 ? log.entries(m.compacted + 1, m.last + 1, Infinity) : [];
  assert.deepEqual(held.map((e) => `${e.index}:${e.term}:${textOf(e.data)}`), m.log.slice(m.compacted + 1).map((e, i) => `${m.compacted + 1 + i}:${e?.term}:${e?.text}`));
  assert.ok(sameSnap(log.snapshot(), m.snap) && sameHs(log.hardState(), m.hs), "snapshot and hard state");
}

const sameSnap = (r: RaftSnapshot | undefined, s: Snap | undefined): boolean =>
  r === undefined ? s === undefined : s !== undefined && r.meta.index === s.index && r.meta.term === s.term && textOf(r.data) === s.text;

const sameHs = (a: HardState, b: HardState): boolean => a.term === b.term && a.vote === b.vote && a.commit === b.commit;

/** The term a model knows at `index` (its snapshot's when the entry was replaced). */
function termIn(m: Model, index: number): number | undefined {
  if (m.snap !== undefined && m.snap.index === index) return m.snap.term;
  return index === 0 ? 0 : m.log[index]?.term;
}

/** Whether the recovered entries are a prefix of `m`'s log after the snapshot index `s`, chained to it. */
function prefixOf(entries: readonly RaftEntry[], m: Model, s: number, snapTerm: number): boolean {
  if (entries.length === 0) return true;
  if (termIn(m, s) !== snapTerm) return false;
  return entries.every((e, i) => e.index === s + 1 + i && m.log[e.index]?.term === e.term && m.log[e.index]?.text === textOf(e.data));
}

/** Asserts a recovered state is one the crash allows (see the file comment). */
function checkRecovered(h: RaftLogHarness, o: Outcome, got: { hardState: HardState; snapshot: RaftSnapshot | undefined; entries: readonly RaftEntry[] }): void {
  const { before: d, after: a } = o;
  assert.ok(sameSnap(got.snapshot, d.snap) || sameSnap(got.snapshot, a.snap), `snapshot ${got.snapshot?.meta.index} is neither ${d.snap?.index} nor ${a.snap?.index}`);
  const s = got.snapshot?.meta.index ?? 0;
  const raise = (hs: HardState): HardState => ({ ...hs, commit: Math.max(hs.commit, s) });
  assert.ok(sameHs(got.hardState, raise(d.hs)) || sameHs(got.hardState, raise(a.hs)), `hard state ${JSON.stringify(got.hardState)} is neither ${JSON.stringify(d.hs)} nor ${JSON.stringify(a.hs)}`);
  const snapTerm = got.snapshot?.meta.term ?? 0;
  assert.ok(prefixOf(got.entries, d, s, snapTerm) || prefixOf(got.entries, a, s, snapTerm), `entries ${got.entries.map((e) => `${e.index}:${e.term}`).join(",")} after ${s} are a prefix of neither log (before: last ${d.last}, after: last ${a.last})`);
  const last = got.entries.at(-1)?.index ?? s;
  // What was durable before the step and not cut by it survives (a leader snapshot that landed replaces all).
  const replaced = o.install && sameSnap(got.snapshot, a.snap);
  const required = replaced ? s : o.keepThrough;
  assert.ok(last >= required, `durable entries lost: the log ends at ${last}, entries through ${required} were durable`);
  assert.equal(h.log.lastIndex(), last);
  assert.equal(h.log.firstIndex(), s + 1);
}

/** The recovered log takes a new entry, and a clean reopen gives back exactly what it holds. */
function checkWritable(h: RaftLogHarness): void {
  const last = h.log.lastIndex();
  const held = last >= h.log.firstIndex() ? h.log.entries(h.log.firstIndex(), last + 1, Infinity) : [];
  h.apply(h.log.append([textEntry(last + 1, 1000, "after")]));
  h.crash();
  const again = h.open();
  assert.deepEqual(again.entries.map((e) => `${e.index}:${e.term}:${textOf(e.data)}`), [...held, textEntry(last + 1, 1000, "after")].map((e) => `${e.index}:${e.term}:${textOf(e.data)}`));
}

/** One run: actions with the power failing after `budget` ops (and after `recoveryBudget` ops of recovery), then the checks. */
function crashRun(seed: number, faults: Partial<SimDiskFaults>, actions: readonly Action[], budget: number, recoveryBudget: number, bugs?: RaftDiskLogPlantedBugs): void {
  const h = new RaftLogHarness({ segmentMaxBytes: 120, hardStateRewriteBytes: 150, ...(bugs === undefined ? {} : { plantedBugs: bugs }) }, seed, faults);
  h.budget = budget;
  const outcome = runUntilCrash(h, actions);
  h.crash();
  // Power fails again while recovery's own ops are applied.
  h.budget = recoveryBudget;
  let opened;
  try {
    opened = h.tryOpen();
  } catch (e) {
    if (!(e instanceof CrashPoint)) throw e;
    h.crash();
    opened = h.tryOpen();
  }
  h.budget = Infinity;
  assert.ok(opened.ok, opened.ok ? "" : opened.error.message);
  checkRecovered(h, outcome, opened.value);
  checkWritable(h);
}

function crashProperty(bugs: RaftDiskLogPlantedBugs | undefined): fc.IPropertyWithHooks<[number, Partial<SimDiskFaults>, Action[], number, number]> {
  return fc.property(fc.integer({ min: 1, max: 1_000_000 }), arbFaults, fc.array(arbAction, { minLength: 1, maxLength: 30 }), fc.nat(1000), fc.nat(12), (seed, faults, actions, perMille, recoveryBudget) => {
    // The power fails anywhere from the first op to just past the last (where it drops only what is unsynced).
    const probe = new RaftLogHarness({ segmentMaxBytes: 120, hardStateRewriteBytes: 150, ...(bugs === undefined ? {} : { plantedBugs: bugs }) });
    runUntilCrash(probe, actions);
    crashRun(seed, faults, actions, Math.floor((perMille * (probe.applied + 1)) / 1000), recoveryBudget, bugs);
  });
}

test("crash at any op (and again during recovery), reopen: a state the crash allows, nothing durable lost, nothing invented", () => {
  fc.assert(crashProperty(undefined), { numRuns: 1000 });
});

test("every crash point of installs, cuts across segments and compactions on a log of several segments", () => {
  const fill: Action[] = Array.from({ length: 8 }, () => ({ kind: "append", back: 0, count: 3, bump: false }) as const);
  const commit: Action = { kind: "hardState", vote: 1, advance: 4 };
  const scenarios: Action[][] = [
    [...fill, commit, { kind: "install", ahead: 9, conflict: true }],
    [...fill, commit, { kind: "install", ahead: 2, conflict: false }],
    [...fill, commit, { kind: "append", back: 17, count: 2, bump: true }],
    [...fill, { kind: "hardState", vote: 1, advance: 20 }, { kind: "snapshot", pick: 15 }, { kind: "compact", pick: 14 }],
  ];
  for (const actions of scenarios) {
    const probe = new RaftLogHarness({ segmentMaxBytes: 120, hardStateRewriteBytes: 150 });
    runUntilCrash(probe, actions);
    for (let budget = 0; budget <= probe.applied; budget++) {
      for (const seed of [1, 2, 3]) crashRun(seed, { lostDirEntryPerMille: 500 }, actions, budget, Infinity);
    }
  }
});

for (const bug of ["noFsyncBeforeHardState", "skipTruncateOnConflict"] as const) {
  test(`planted bug ${bug} is caught by the crash property`, () => {
    const result = fc.check(crashProperty({ [bug]: true }), { numRuns: 400, seed: 42 });
    assert.ok(result.failed, `the property passed ${result.numRuns} runs with ${bug} planted`);
  });
}

/** Frames of a file, walking the length fields. */
function frameSpans(bytes: Uint8Array): { start: number; length: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans: { start: number; length: number }[] = [];
  for (let p = 0; p + 8 <= bytes.length; ) {
    const length = 8 + view.getUint32(p);
    spans.push({ start: p, length });
    p += length;
  }
  return spans;
}

test("a bit flip in a frame followed by others is refused naming the file; in the last frame it is cut", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(arbAction, { minLength: 1, maxLength: 25 }), fc.nat(), fc.nat(), fc.nat(7), (seed, actions, pickFrame, pickByte, bit) => {
      const h = new RaftLogHarness({ segmentMaxBytes: 120, hardStateRewriteBytes: 150 }, seed);
      const { before: m } = runUntilCrash(h, actions);
      h.crash();
      const files = h.disk.list(RAFT_DIR).map((n) => `${RAFT_DIR}/${n}`);
      const frames = files.flatMap((path) => {
        const spans = frameSpans(h.disk.read(path, 0, h.disk.stat(path)!.size));
        return spans.map((s, i) => ({ path, ...s, lastInFile: i === spans.length - 1 }));
      });
      fc.pre(frames.length > 0);
      const f = frames[pickFrame % frames.length]!;
      const segments = files.filter((p) => p.endsWith(".raft"));
      const tail = f.lastInFile && (f.path === segments.at(-1) || f.path.endsWith("/hardstate"));
      // In a tail frame, flip inside CRC or payload: a shorter length field reads as damage followed by bytes.
      const at = tail ? 4 + (pickByte % (f.length - 4)) : pickByte % f.length;
      const flippedIndex = Number(new DataView(h.disk.read(f.path, f.start + 10, 8).buffer).getBigUint64(0));
      h.disk.flipBit(f.path, f.start + at, bit);
      const opened = h.tryOpen();
      const s = m.snap?.index ?? 0;
      if (!tail || f.path.endsWith("/snapshot")) {
        assert.ok(!opened.ok && opened.error.file === f.path, `refused naming ${f.path}: ${opened.ok ? "opened" : opened.error.file}`);
        return;
      }
      if (f.path.endsWith("/hardstate")) {
        assert.ok(opened.ok, opened.ok ? "" : opened.error.message);
        assert.ok(m.hsHistory.some((hs) => sameHs({ ...hs, commit: Math.max(hs.commit, s) }, opened.value.hardState)), "an earlier hard state");
        return;
      }
      if (m.hs.commit > Math.max(s, flippedIndex - 1)) {
        assert.ok(!opened.ok && opened.error.file === `${RAFT_DIR}/hardstate`, "a cut below the commit index is refused");
        return;
      }
      assert.ok(opened.ok, opened.ok ? "" : opened.error.message);
      const expected = m.log.slice(s + 1, Math.max(s + 1, Math.min(m.last + 1, flippedIndex))).map((e) => `${e?.term}:${e?.text}`);
      assert.deepEqual(opened.value.entries.map((e) => `${e.term}:${textOf(e.data)}`), expected);
    }),
    { numRuns: 500 },
  );
});
