// Corruption matrix on the real process: every kind of partition file damaged (segment bytes,
// segment files, indexes, HW / leader epoch / recovery point checkpoints, temp files, the
// clean-shutdown marker), after a clean stop (SIGTERM) and after SIGKILL. For every case the
// broker restarts and every partition is read back: no record differs from what was published at
// its offset, every acked record is served unless its own bytes were damaged (then the reader gets
// a corrupt-record error for it), no .log file loses a byte or disappears, and the next publish
// gets an offset after every acked one. With the planted bug truncateBeforeRecoveryPoint, the
// same check must fail for flipped bytes in an old, fsynced segment.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  logSizes, partitionDir, partitionOffsets, publishAcked, readBack, segmentsOf, startDamageBroker, stopDamageBroker, waitForRecoveryPoint,
  type DamageBroker, type SegmentFile,
} from "../../jepsen-like/log-damage-fixture.js";

const T = { timeout: 90_000 };
const MESSAGES = 48;

type Stop = "clean" | "kill";

/** One kind of damage: what it does to a partition directory and which offsets it makes unreadable. */
interface DamageCase {
  readonly name: string;
  readonly stops: readonly Stop[];
  /** Damages the directory (the broker is down); returns the offsets whose own bytes were damaged. */
  damage(dir: string, segments: readonly SegmentFile[]): number[];
  /** Bytes added after the last record may be cut as a torn tail (the active segment may shrink back). */
  readonly addsTail?: boolean;
}

function flipByte(path: string, position: number, mask = 0x5a): void {
  const bytes = readFileSync(path);
  bytes[position] = (bytes[position] as number) ^ mask;
  writeFileSync(path, bytes);
}

function middle<T>(xs: readonly T[]): T {
  return xs[Math.floor(xs.length / 2)] as T;
}

/** Deterministic garbage. */
function garbage(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  return out;
}

const BOTH: readonly Stop[] = ["clean", "kill"];

const CASES: DamageCase[] = [
  {
    name: "log bytes flipped in the oldest (fsynced) segment",
    stops: BOTH,
    damage: (_dir, segs) => {
      const r = middle(segs[0]!.records);
      flipByte(segs[0]!.logPath, r.position + 40);
      return [r.offset];
    },
  },
  {
    name: "log bytes flipped in the active segment",
    stops: BOTH,
    damage: (_dir, segs) => {
      const last = segs[segs.length - 1]!;
      const r = last.records[Math.max(0, last.records.length - 2)]!;
      flipByte(last.logPath, r.position + 35);
      return [r.offset];
    },
  },
  {
    name: "size field flipped in an old segment whose index is deleted (rebuilt by a scan that resyncs)",
    stops: BOTH,
    damage: (_dir, segs) => {
      const r = middle(segs[0]!.records);
      flipByte(segs[0]!.logPath, r.position + 26, 0x40);
      unlinkSync(segs[0]!.indexPath);
      return [r.offset];
    },
  },
  {
    name: "a page of zeros in a middle segment",
    stops: BOTH,
    damage: (_dir, segs) => {
      const s = segs[1]!;
      const from = s.records[1]!.position + 10;
      const bytes = readFileSync(s.logPath);
      bytes.fill(0, from, from + 300);
      writeFileSync(s.logPath, bytes);
      return s.records.filter((r) => r.position + r.bytes > from && r.position < from + 300).map((r) => r.offset);
    },
  },
  {
    name: "middle segment truncated",
    stops: BOTH,
    damage: (_dir, segs) => {
      const s = segs[1]!;
      const last = s.records[s.records.length - 1]!;
      truncateSync(s.logPath, last.position + 17);
      return [last.offset];
    },
  },
  {
    name: "middle segment emptied",
    stops: BOTH,
    damage: (_dir, segs) => {
      truncateSync(segs[1]!.logPath, 0);
      return segs[1]!.records.map((r) => r.offset);
    },
  },
  {
    name: "middle segment .log deleted",
    stops: BOTH,
    damage: (_dir, segs) => {
      unlinkSync(segs[1]!.logPath);
      return segs[1]!.records.map((r) => r.offset);
    },
  },
  {
    name: "active segment .log deleted (records below the recovery point lost)",
    stops: BOTH,
    damage: (_dir, segs) => {
      const last = segs[segs.length - 1]!;
      unlinkSync(last.logPath);
      return last.records.map((r) => r.offset);
    },
  },
  {
    name: "old .index deleted",
    stops: BOTH,
    damage: (_dir, segs) => (unlinkSync(segs[0]!.indexPath), []),
  },
  {
    name: "old .index overwritten with garbage",
    stops: BOTH,
    damage: (_dir, segs) => (writeFileSync(segs[0]!.indexPath, garbage(readFileSync(segs[0]!.indexPath).length, 7)), []),
  },
  {
    name: "index entry pointing past the end of its log",
    stops: BOTH,
    damage: (_dir, segs) => {
      const index = readFileSync(segs[1]!.indexPath);
      index.writeInt32BE(0x7fff0000, index.length - 20 + 12);
      writeFileSync(segs[1]!.indexPath, index);
      return [];
    },
  },
  { name: "HW checkpoint missing", stops: BOTH, damage: (dir) => (unlinkSync(join(dir, "replication-offset-checkpoint")), []) },
  { name: "HW checkpoint garbage", stops: BOTH, damage: (dir) => (writeFileSync(join(dir, "replication-offset-checkpoint"), garbage(13, 3)), []) },
  { name: "HW checkpoint beyond the log", stops: ["clean"], damage: (dir) => (writeFileSync(join(dir, "replication-offset-checkpoint"), "100000"), []) },
  { name: "leader epoch checkpoint missing", stops: BOTH, damage: (dir) => (unlinkSync(join(dir, "leader-epoch-checkpoint")), []) },
  { name: "leader epoch checkpoint garbage", stops: BOTH, damage: (dir) => (writeFileSync(join(dir, "leader-epoch-checkpoint"), garbage(40, 5)), []) },
  { name: "recovery point checkpoint missing", stops: BOTH, damage: (dir) => (unlinkSync(join(dir, "recovery-point-offset-checkpoint")), []) },
  { name: "recovery point checkpoint garbage", stops: BOTH, damage: (dir) => (writeFileSync(join(dir, "recovery-point-offset-checkpoint"), garbage(9, 11)), []) },
  {
    name: "stray temp files (checkpoint .tmp, compaction .cleaned, .deleted)",
    stops: BOTH,
    damage: (dir, segs) => {
      writeFileSync(join(dir, "replication-offset-checkpoint.tmp"), "12");
      writeFileSync(join(dir, "recovery-point-offset-checkpoint.tmp"), "999999");
      writeFileSync(`${segs[0]!.logPath}.cleaned`, garbage(100, 1));
      writeFileSync(`${segs[1]!.logPath}.deleted`, garbage(100, 2));
      return [];
    },
  },
  {
    name: "garbage after the last record of the active segment (a torn write)",
    stops: BOTH,
    addsTail: true,
    damage: (_dir, segs) => (appendFileSync(segs[segs.length - 1]!.logPath, garbage(70, 9)), []),
  },
  { name: "clean-shutdown marker planted after an unclean stop", stops: ["kill"], damage: (dir) => (writeFileSync(join(dir, "clean-shutdown"), ""), []) },
];

interface Prepared {
  readonly stream: string;
  readonly dir: string;
  readonly acked: Map<number, string>;
  readonly expectedUnreadable: Set<number>;
  readonly sizesAfterDamage: Map<string, number>;
  readonly sizesBeforeDamage: Map<string, number>;
  readonly addsTail: boolean;
}

/** Creates one stream per case, publishes to each, waits until everything is behind the recovery point. */
async function populate(b: DamageBroker, dataDir: string, names: readonly string[]): Promise<Map<string, Map<number, string>>> {
  const out = new Map<string, Map<number, string>>();
  for (const stream of names) await b.client.createStream({ name: stream, subject: `damage.${stream}` }, { timeoutMs: 5000 });
  await Promise.all(names.map(async (stream) => out.set(stream, await publishAcked(b.client, stream, MESSAGES, stream))));
  // The recovery point on disk follows the appends' fdatasyncs at the next checkpoint (5 s).
  await Promise.all(names.map((stream) => waitForRecoveryPoint(partitionDir(dataDir, stream), MESSAGES, 12_000)));
  return out;
}

/** Checks one damaged partition after the restart; returns what is wrong (empty when nothing). */
async function check(b: DamageBroker, p: Prepared, stop: Stop): Promise<{ problems: string[]; summary: string }> {
  const problems: string[] = [];
  const { served, unreadable } = await readBack(b.client, p.stream);
  // Every damaged record that was acked is answered with the error (a damaged record cannot be served).
  const summary = `${served.size} served, unreadable [${unreadable.join(",")}], damaged [${[...p.expectedUnreadable].join(",")}]`;
  for (const [offset, value] of served) if (p.acked.get(offset) !== value) problems.push(`offset ${offset} serves data that differs from what was published`);
  for (const offset of unreadable) if (!p.expectedUnreadable.has(offset)) problems.push(`offset ${offset} is unreadable although its bytes were not damaged`);
  for (const offset of p.acked.keys()) {
    if (!served.has(offset) && !unreadable.includes(offset)) problems.push(`acked offset ${offset} is gone (neither served nor reported corrupt)`);
  }
  const sizes = logSizes(p.dir);
  for (const [name, size] of p.sizesAfterDamage) {
    const now = sizes.get(name);
    const tailCut = p.addsTail && stop === "kill" && now === p.sizesBeforeDamage.get(name);
    if (now !== size && !tailCut) problems.push(`${name}: ${size} bytes before the restart, ${now ?? "missing"} after`);
  }
  const maxAcked = Math.max(...p.acked.keys());
  const r = await b.client.publish({ stream: p.stream, value: Buffer.from("after-restart"), ackPolicy: "LEADER" }, { timeoutMs: 5000 });
  const next = Number(r.ack?.offset);
  if (!(next > maxAcked)) problems.push(`the next publish reused offset ${next} (acked up to ${maxAcked})`);
  const { newest } = await partitionOffsets(b.client, p.stream);
  if (newest !== next) problems.push(`newest offset ${newest} after publishing at ${next}`);
  return { problems, summary };
}

/** Populates, stops as `stop`, damages every stream as its case says, restarts; returns the problems per case. */
async function runRound(stop: Stop, cases: readonly DamageCase[], env: Record<string, string> = {}): Promise<Map<string, { problems: string[]; summary: string }>> {
  const dataDir = mkdtempSync(join(tmpdir(), "lbts-damage-"));
  try {
    let b = await startDamageBroker(dataDir, env);
    const names = cases.map((_, i) => `d${i}`);
    let acked: Map<string, Map<number, string>>;
    try {
      acked = await populate(b, dataDir, names);
    } finally {
      await stopDamageBroker(b, stop);
    }
    const prepared: Prepared[] = cases.map((c, i) => {
      const stream = names[i]!;
      const dir = partitionDir(dataDir, stream);
      const segments = segmentsOf(dir);
      assert.ok(segments.length >= 4, `${stream}: ${segments.length} segments`);
      const sizesBeforeDamage = logSizes(dir);
      const expected = new Set(c.damage(dir, segments));
      return { stream, dir, acked: acked.get(stream)!, expectedUnreadable: expected, sizesAfterDamage: logSizes(dir), sizesBeforeDamage, addsTail: c.addsTail === true };
    });
    b = await startDamageBroker(dataDir, env);
    try {
      const results = new Map<string, { problems: string[]; summary: string }>();
      for (const [i, p] of prepared.entries()) results.set(cases[i]!.name, await check(b, p, stop));
      return results;
    } finally {
      await stopDamageBroker(b, "clean");
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(results: Map<string, { problems: string[] }>): string {
  return [...results].filter(([, r]) => r.problems.length > 0).map(([name, r]) => `${name}:\n  ${r.problems.slice(0, 5).join("\n  ")}`).join("\n");
}

describe("damaged partition files on the real process", () => {
  for (const stop of ["clean", "kill"] as const) {
    const cases = CASES.filter((c) => c.stops.includes(stop));
    test(`after ${stop === "clean" ? "a clean stop (SIGTERM)" : "SIGKILL"}: ${cases.length} cases, nothing differs, nothing acked lost, no .log byte cut, no offset reused`, T, async (t) => {
      const results = await runRound(stop, cases);
      for (const [name, r] of results) t.diagnostic(`${name}: ${r.summary}`);
      assert.equal(results.size, cases.length);
      assert.equal(report(results), "", "damage cases with problems");
    });
  }

  test("planted bug truncateBeforeRecoveryPoint: the matrix catches the old cut at flipped bytes in an old segment", T, async () => {
    const flipped = CASES.filter((c) => c.name.startsWith("log bytes flipped in the oldest"));
    const results = await runRound("kill", flipped, { LBTS_PLANTED_BUGS: "truncateBeforeRecoveryPoint" });
    const problems = results.get(flipped[0]!.name)?.problems ?? [];
    assert.ok(problems.some((p) => p.includes("reused offset")), `the reused offset is caught: ${problems.join("; ")}`);
    assert.ok(problems.some((p) => p.includes("missing after") || p.includes("bytes after")), `the deleted segments are caught: ${problems.join("; ")}`);
  });
});
