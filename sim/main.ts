// Command-line entry of the simulator: `npm run sim -- --seed N [--seeds K] [--workload W] [--json]`.
// The only file in sim/ that reads the real clock, and only to report how long each seed took.
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { DEFAULT_DURATION_MS, DEFAULT_WORKLOAD, findingWorkloads, findWorkload, plantedBugWorkloads, runSeedDetailed, workloads, type SeedResult } from "./runner.js";

const USAGE = `usage: npm run sim -- [--seed N] [--seeds K] [--workload NAME] [--duration-ms MS] [--json] [--trace] [--list]
  --seed N         first seed (default 1)
  --seeds K        how many consecutive seeds to run (default 1)
  --workload NAME  workload to run (default ${DEFAULT_WORKLOAD}; --list shows them)
  --duration-ms MS virtual duration per seed (default: the workload's, else ${DEFAULT_DURATION_MS})
  --json           one JSON line per seed
  --trace          also print each seed's trace lines (what the trace hash covers)
  --list           list the workloads and exit
  --quiet          print only failing seeds and a one-line summary (long sweeps)`;

interface CliOptions {
  readonly seed: number;
  readonly seeds: number;
  readonly workload: string;
  readonly durationMs: number | undefined;
  readonly json: boolean;
  readonly trace: boolean;
  readonly list: boolean;
  readonly quiet: boolean;
}

function parseInteger(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${text}"`);
  }
  return n;
}

class UsageError extends Error {}

function parseCli(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seed: { type: "string" },
      seeds: { type: "string" },
      workload: { type: "string" },
      "duration-ms": { type: "string" },
      json: { type: "boolean", default: false },
      trace: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError("");
  const workload = values.workload ?? DEFAULT_WORKLOAD;
  if (findWorkload(workload) === undefined) throw new UsageError(`unknown workload "${workload}" (try --list)`);
  return {
    seed: parseInteger("seed", values.seed, 1, 0),
    seeds: parseInteger("seeds", values.seeds, 1, 1),
    workload,
    durationMs: values["duration-ms"] === undefined ? undefined : parseInteger("duration-ms", values["duration-ms"], DEFAULT_DURATION_MS, 1),
    json: values.json,
    trace: values.trace,
    list: values.list,
    quiet: values.quiet,
  };
}

function printResult(result: SeedResult, wallMs: number, json: boolean): void {
  if (json) {
    const { seed, workload, ok, traceHash, simMs, events, failure, counters } = result;
    console.log(JSON.stringify({ seed, workload, ok, traceHash, simMs, wallMs, events, failure, counters }));
  } else {
    const status = result.ok ? "ok  " : "FAIL";
    const speed = wallMs > 0 ? `${Math.round(result.simMs / wallMs)}x` : "-";
    console.log(
      `${status} seed=${result.seed} workload=${result.workload} traceHash=${result.traceHash} ` +
        `simMs=${result.simMs} wallMs=${wallMs} events=${result.events} speed=${speed}`,
    );
    if (result.failure !== undefined) console.log(`     failure: ${result.failure}`);
  }
  if (!result.ok) console.error(`replay: npm run sim -- --seed ${result.seed} --workload ${result.workload}`);
}

function listWorkloads(): void {
  for (const w of workloads.values()) console.log(`${w.name}: ${w.description}`);
  for (const w of plantedBugWorkloads.values()) console.log(`${w.name} (planted bug, must fail): ${w.description}`);
  for (const w of findingWorkloads.values()) console.log(`${w.name} (fails on a known product bug): ${w.description}`);
}

function main(argv: readonly string[]): number {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    if (error.message !== "") console.error(`sim: ${error.message}`);
    console.error(USAGE);
    return error.message === "" ? 0 : 2;
  }
  if (options.list) {
    listWorkloads();
    return 0;
  }
  let failed = 0;
  for (let seed = options.seed; seed < options.seed + options.seeds; seed++) {
    const startedMs = performance.now();
    const { result, sim } = runSeedDetailed(seed, { workload: options.workload, keepTrace: options.trace, ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }) });
    const wallMs = Math.round(performance.now() - startedMs);
    for (const line of sim.traceLines ?? []) console.log(`  ${line}`);
    if (!options.quiet || !result.ok) printResult(result, wallMs, options.json);
    if (!result.ok) failed++;
  }
  if (failed > 0) console.error(`${failed} of ${options.seeds} seeds failed`);
  else if (options.quiet) console.log(`${options.workload}: seeds ${options.seed}..${options.seed + options.seeds - 1} passed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
