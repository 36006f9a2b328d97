import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../sim/main.js", import.meta.url));

function sim(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Line {
  seed: number;
  workload: string;
  ok: boolean;
  traceHash: string;
  simMs: number;
  wallMs: number;
  events: number;
}

function lines(stdout: string): Line[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);
}

test("must-show: `sim --seed 7 --json` twice prints the same traceHash; seed 8 prints another", () => {
  const first = sim(["--seed", "7", "--json"]);
  const second = sim(["--seed", "7", "--json"]);
  const other = sim(["--seed", "8", "--json"]);
  for (const r of [first, second, other]) assert.equal(r.status, 0, r.stderr);
  const [a] = lines(first.stdout);
  const [b] = lines(second.stdout);
  const [c] = lines(other.stdout);
  assert.ok(a && b && c);
  assert.equal(a.seed, 7);
  assert.equal(a.ok, true);
  // The default workload is the single broker under faults (issue "single-node broker").
  assert.equal(a.workload, "broker");
  assert.match(a.traceHash, /^[0-9a-f]{16}$/);
  assert.equal(typeof a.wallMs, "number");
  assert.ok(a.simMs >= 2000, `ran its default duration (${a.simMs})`);
  assert.ok(a.events > 0);
  assert.equal(b.traceHash, a.traceHash);
  assert.equal(b.events, a.events);
  assert.notEqual(c.traceHash, a.traceHash);
});

test("--seeds runs consecutive seeds, one line each", () => {
  const r = sim(["--seed", "3", "--seeds", "3", "--json", "--duration-ms", "2000", "--workload", "disk-log"]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    lines(r.stdout).map((l) => [l.seed, l.simMs]),
    [
      [3, 2000],
      [4, 2000],
      [5, 2000],
    ],
  );
});

test("a failing seed prints its replay command and exits non-zero", () => {
  const r = sim(["--seed", "1", "--seeds", "2", "--workload", "disk-log-ack-before-sync"]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^FAIL seed=1 workload=disk-log-ack-before-sync traceHash=[0-9a-f]{16} /m);
  assert.match(r.stderr, /replay: npm run sim -- --seed 1 --workload disk-log-ack-before-sync/);
  assert.match(r.stderr, /of 2 seeds failed/);
});

test("bad arguments get a clear message and usage, exit 2", () => {
  for (const args of [["--seed", "x"], ["--seeds", "0"], ["--workload", "nope"], ["--bogus"]]) {
    const r = sim(args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^sim: .+\nusage: npm run sim/, args.join(" "));
    assert.equal(r.stdout, "");
  }
});
