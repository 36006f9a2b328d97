// Proves the purity fence: every banned construct, placed at a path inside src/core/ (or sim/),
// is rejected by exactly the rules the build lints with, and clean code is not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ESLint, type Linter } from "eslint";
import tseslint from "typescript-eslint";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Fence {
  coreFence: Linter.Config;
  simFence: Linter.Config;
}

async function fenceLinter(): Promise<ESLint> {
  const fence = (await import(pathToFileURL(join(root, "eslint.fence.js")).href)) as Fence;
  return new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } },
      fence.coreFence,
      fence.simFence,
    ],
  });
}

async function ruleIdsFor(eslint: ESLint, code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  assert.ok(result, "eslint returned a result");
  const fatal = result.messages.filter((m) => m.fatal === true);
  assert.deepEqual(fatal, [], `fixture must parse: ${code}`);
  return result.messages.map((m) => m.ruleId ?? "");
}

const coreFixtures: ReadonlyArray<readonly [string, string]> = [
  ["Date.now", "export const t = Date.now();"],
  ["new Date", "export const t = new Date();"],
  ["performance.now", "export const t = performance.now();"],
  ["Math.random", "export const r = Math.random();"],
  ["setTimeout", "setTimeout(() => 1, 5);"],
  ["setInterval", "setInterval(() => 1, 5);"],
  ["setImmediate", "setImmediate(() => 1);"],
  ["queueMicrotask", "queueMicrotask(() => 1);"],
  ["Buffer", "export const b = Buffer.alloc(1);"],
  ["process", "export const e = process.env;"],
  ["crypto global", "export const u = crypto.randomUUID();"],
  ["console", "console.log('x');"],
  ["globalThis", "export const g = globalThis;"],
  ["async function", "export async function f(): Promise<number> { return 1; }"],
  ["async arrow", "export const f = async () => 1;"],
  ["await", "export function f(p: any) { return (async () => await p)(); }"],
  ["new Promise", "export const p = new Promise(() => undefined);"],
  ["dynamic import", "export const m = import('./x.js');"],
  ["node:fs import", "import { readFileSync } from 'node:fs'; export const r = readFileSync;"],
  ["bare fs import", "import * as fs from 'fs'; export const r = fs;"],
  ["node:timers import", "import { setTimeout as s } from 'node:timers'; export const r = s;"],
  ["nats import", "import { connect } from 'nats'; export const c = connect;"],
  ["grpc import", "import * as grpc from '@grpc/grpc-js'; export const g = grpc;"],
  ["pino import", "import { pino } from 'pino'; export const p = pino;"],
  ["seedrandom import", "import seedrandom from 'seedrandom'; export const s = seedrandom;"],
  ["protobufjs import", "import protobuf from 'protobufjs'; export const p = protobuf;"],
  ["src/io import", "import { x } from '../io/x.js'; export const y = x;"],
  ["sim import", "import { x } from '../../sim/x.js'; export const y = x;"],
  ["jepsen-like import", "import { x } from '../../jepsen-like/x.js'; export const y = x;"],
];

test("the core fence rejects each banned construct in src/core/", async () => {
  const eslint = await fenceLinter();
  for (const [name, code] of coreFixtures) {
    const rules = await ruleIdsFor(eslint, code, "src/core/fence-fixture.ts");
    assert.ok(rules.some((r) => r.startsWith("no-restricted-")), `${name} must be rejected, got [${rules.join(", ")}]`);
  }
});

test("the core fence accepts pure code (no false positives)", async () => {
  const eslint = await fenceLinter();
  const clean = [
    "import { assert } from './assert.js';",
    "export function add(a: number, b: number): number { assert(a >= 0, 'a'); return a + b; }",
    "export const bytes = new Uint8Array(4); export const view = new DataView(bytes.buffer);",
    "export const big = 1_700_000_000_000_000_000n;",
  ].join("\n");
  assert.deepEqual(await ruleIdsFor(eslint, clean, "src/core/log/fence-fixture.ts"), []);
});

test("the same constructs are allowed outside the core (src/io)", async () => {
  const eslint = await fenceLinter();
  const io = "import { readFileSync } from 'node:fs'; export const r = readFileSync; export const t = Date.now();";
  assert.deepEqual(await ruleIdsFor(eslint, io, "src/io/fence-fixture.ts"), []);
});

test("the sim fence bans real time, timers and unseeded randomness except in sim/main.ts", async () => {
  const eslint = await fenceLinter();
  const banned: ReadonlyArray<readonly [string, string]> = [
    ["Date.now", "export const t = Date.now();"],
    ["performance.now", "export const t = performance.now();"],
    ["Math.random", "export const r = Math.random();"],
    ["setTimeout", "setTimeout(() => 1, 5);"],
    ["process.hrtime", "export const t = process.hrtime();"],
    ["unseeded seedrandom", "import seedrandom from 'seedrandom'; export const r = seedrandom();"],
    ["global seedrandom", "import seedrandom from 'seedrandom'; export const r = seedrandom('1', { global: true });"],
    ["node:perf_hooks", "import { performance as p } from 'node:perf_hooks'; export const x = p;"],
  ];
  for (const [name, code] of banned) {
    const rules = await ruleIdsFor(eslint, code, "sim/fence-fixture.ts");
    assert.ok(rules.some((r) => r.startsWith("no-restricted-")), `${name} must be rejected in sim/, got [${rules.join(", ")}]`);
  }
  const seeded = "import seedrandom from 'seedrandom'; export const r = seedrandom('7/disk');";
  assert.deepEqual(await ruleIdsFor(eslint, seeded, "sim/fence-fixture.ts"), []);
  assert.deepEqual(await ruleIdsFor(eslint, "export const t = performance.now();", "sim/main.ts"), []);
});

test("the build's eslint.config.js applies the fence to every file in src/core/ and sim/", async () => {
  const eslint = new ESLint({ cwd: root });
  const core = (await eslint.calculateConfigForFile(join(root, "src/core/crc32c.ts"))) as Linter.Config;
  for (const rule of ["no-restricted-globals", "no-restricted-properties", "no-restricted-syntax", "no-restricted-imports"]) {
    const setting = core.rules?.[rule];
    assert.ok(Array.isArray(setting) && (setting[0] === 2 || setting[0] === "error"), `${rule} must be an error in src/core`);
  }
  const sim = (await eslint.calculateConfigForFile(join(root, "sim/fence-fixture.ts"))) as Linter.Config;
  assert.ok(Array.isArray(sim.rules?.["no-restricted-globals"]), "sim/ must be fenced too");
  const io = (await eslint.calculateConfigForFile(join(root, "src/io/fence-fixture.ts"))) as Linter.Config;
  assert.equal(io.rules?.["no-restricted-imports"], undefined, "src/io is outside the fence");
});
