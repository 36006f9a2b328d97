// The rows a run produced, the ratios the issue asks for, and the readable table (stderr and docs).
import type { ClientResult } from "./bench-types.js";
import type { MachineInfo } from "./machine-info.js";

/** The workloads of issue 5 (4, fsync, is rows of 1 and 2 with another sync policy). */
export type Workload = "async" | "sync" | "read";

/** One measured row. `id` is also what `--profile` names. */
export interface Row {
  readonly id: string;
  /** Which round of the run measured it (1-based); extras run once, in the last round. */
  readonly round: number;
  readonly workload: Workload;
  readonly system: "ours" | "jetstream";
  /** Client path, e.g. "NATS publish, 1 ack inbox". */
  readonly path: string;
  readonly nats: "nats-server" | "embedded";
  /** What an ack means on disk for this row. */
  readonly fsync: string;
  readonly result: ClientResult;
  /** CPU seconds each server process used during the run. */
  readonly serverCpuSeconds: Readonly<Record<string, number>>;
  readonly profiled: boolean;
  /** Share of the machine's CPU time the hypervisor took (steal) during the row, in percent. */
  readonly hostStealPercent?: number;
}

/** The four ratios of issue 5; undefined when a row is missing (failed or skipped). */
export interface Ratios {
  readonly asyncR1: number | undefined;
  readonly asyncR1Always: number | undefined;
  readonly catchUpRead: number | undefined;
  readonly syncP99: number | undefined;
}

/** The targets, and whether each ratio meets its target. */
export const TARGETS = { asyncR1: ">= 1.5", asyncR1Always: ">= 1.0", catchUpRead: ">= 1.5", syncP99: "<= 1.0" } as const;

function round(x: number | undefined, digits = 3): number | undefined {
  return x === undefined || !Number.isFinite(x) ? undefined : Math.round(x * 10 ** digits) / 10 ** digits;
}

function over(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : round(a / b);
}

/**
 * Ours over theirs within one round's rows: the k-th row of `ours` pairs with the k-th of
 * `theirs` (they ran back to back), and a round with several pairs gives their mean.
 */
function pairedRatio(rows: readonly Row[], ours: string, theirs: string, metric: (r: Row) => number | undefined): number | undefined {
  const a = rows.filter((r) => r.id === ours);
  const b = rows.filter((r) => r.id === theirs);
  const ratios: number[] = [];
  for (let k = 0; k < Math.min(a.length, b.length); k++) {
    const x = over(metric(a[k]!), metric(b[k]!));
    if (x !== undefined) ratios.push(x);
  }
  return ratios.length === 0 ? undefined : round(ratios.reduce((s, x) => s + x, 0) / ratios.length);
}

/** The four ratios from the rows of one round (each of ours over JetStream's row of the same round). */
export function roundRatios(rows: readonly Row[]): Ratios {
  const rate = (r: Row): number => r.result.msgsPerSec;
  const p99 = (r: Row): number | undefined => r.result.latencyUs?.p99;
  return {
    asyncR1: pairedRatio(rows, "async", "js-async", rate),
    asyncR1Always: pairedRatio(rows, "async-always", "js-async", rate),
    catchUpRead: pairedRatio(rows, "read", "js-read", rate),
    syncP99: pairedRatio(rows, "sync", "js-sync", p99),
  };
}

/** The rows of each round, in round order. */
function rowsByRound(rows: readonly Row[]): Row[][] {
  const rounds = [...new Set(rows.map((r) => r.round))].sort((a, b) => a - b);
  return rounds.map((n) => rows.filter((r) => r.round === n));
}

/** The ratios of every round, in round order. */
export function ratiosByRound(rows: readonly Row[]): Ratios[] {
  return rowsByRound(rows).map(roundRatios);
}

/** The median of `xs` (the mean of the middle two when even); undefined when empty. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The median of the defined values, rounded; undefined when there are none. */
function medianOfDefined(xs: readonly (number | undefined)[]): number | undefined {
  return round(median(xs.filter((x): x is number => x !== undefined)));
}

/** The median over rounds of `ratio` taken within each round; undefined when no round has it. */
function medianOverRounds(rows: readonly Row[], ratio: (roundRows: readonly Row[]) => number | undefined): number | undefined {
  return medianOfDefined(rowsByRound(rows).map(ratio));
}

/**
 * asyncR1 = ours(never)/JetStream, asyncR1Always = ours(always)/JetStream, catchUpRead =
 * ours/JetStream, syncP99 = ours p99/JetStream p99: each the median over rounds of the ratio
 * within a round, where the two rows ran back to back; the median, because on a shared machine a
 * round now and then runs while a neighbour takes the CPU, and one such round should not decide.
 */
export function ratiosOf(rows: readonly Row[]): Ratios {
  const byRound = ratiosByRound(rows);
  const mid = (k: keyof Ratios): number | undefined => medianOfDefined(byRound.map((r) => r[k]));
  return { asyncR1: mid("asyncR1"), asyncR1Always: mid("asyncR1Always"), catchUpRead: mid("catchUpRead"), syncP99: mid("syncP99") };
}

/** CPU microseconds per message of every process a row measured (client and servers); undefined without messages. */
export function cpuUsPerMessage(row: Row): number | undefined {
  if (row.result.messages === 0) return undefined;
  const servers = Object.values(row.serverCpuSeconds).reduce((sum, x) => sum + x, 0);
  return ((servers + row.result.clientCpuSeconds) * 1e6) / row.result.messages;
}

/** JetStream's CPU per message over ours for each workload (above 1: ours costs less CPU per message). */
export interface CpuPerMessageRatios {
  readonly async: number | undefined;
  readonly asyncAlways: number | undefined;
  readonly catchUpRead: number | undefined;
  readonly sync: number | undefined;
}

/** Figures no target judges. */
export interface ExtraRatios {
  /** Ours read with the node:http2 client over JetStream's read of the same round. */
  readonly catchUpReadHttp2Client: number | undefined;
  /** Medians over rounds, paired like the ratios; CPU time moves less than rates on a noisy host. */
  readonly cpuPerMessage: CpuPerMessageRatios;
}

/** The extra figures of a run. */
export function extraRatiosOf(rows: readonly Row[]): ExtraRatios {
  const r = rows.find((x) => x.id === "read-http2");
  const js = r === undefined ? undefined : rows.find((x) => x.id === "js-read" && x.round === r.round);
  const cpu = (theirs: string, ours: string): number | undefined => medianOverRounds(rows, (roundRows) => pairedRatio(roundRows, theirs, ours, cpuUsPerMessage));
  return {
    catchUpReadHttp2Client: over(r?.result.msgsPerSec, js?.result.msgsPerSec),
    cpuPerMessage: { async: cpu("js-async", "async"), asyncAlways: cpu("js-async", "async-always"), catchUpRead: cpu("js-read", "read"), sync: cpu("js-sync", "sync") },
  };
}

/** Whether each ratio meets its target. */
export function targetsMet(r: Ratios): Record<keyof Ratios, boolean | undefined> {
  const ge = (x: number | undefined, t: number): boolean | undefined => (x === undefined ? undefined : x >= t);
  return {
    asyncR1: ge(r.asyncR1, 1.5), asyncR1Always: ge(r.asyncR1Always, 1.0), catchUpRead: ge(r.catchUpRead, 1.5),
    syncP99: r.syncP99 === undefined ? undefined : r.syncP99 <= 1.0,
  };
}

const fmtInt = (x: number): string => Math.round(x).toLocaleString("en-US");
const fmtUs = (x: number | undefined): string => (x === undefined ? "" : x < 100 ? x.toFixed(1) : fmtInt(x));

function cpuCell(row: Row): string {
  const s = row.result.seconds;
  const parts = Object.entries(row.serverCpuSeconds).map(([name, cpu]) => `${name} ${Math.round((cpu / s) * 100)}%`);
  parts.push(`client ${Math.round((row.result.clientCpuSeconds / s) * 100)}%`);
  if (row.hostStealPercent !== undefined) parts.push(`steal ${row.hostStealPercent}%`);
  return parts.join(", ");
}

/** The results as a Markdown table (one row per measurement). */
export function markdownTable(rows: readonly Row[]): string {
  const head = "| round | id | workload | system | client path | NATS | fsync | msgs | msgs/s | MB/s | p50 µs | p99 µs | p99.9 µs | CPU (share of one core) | CPU µs/msg |";
  const rule = "|--:|---|---|---|---|---|---|--:|--:|--:|--:|--:|--:|---|--:|";
  const lines = rows.map((r) => {
    const l = r.result.latencyUs;
    const msgs = `${fmtInt(r.result.messages)}${r.result.complete ? "" : " (time bound)"}`;
    return `| ${r.round} | ${r.id}${r.profiled ? " (profiled)" : ""} | ${r.workload} | ${r.system} | ${r.path} | ${r.nats} | ${r.fsync} | ${msgs} | ${fmtInt(r.result.msgsPerSec)} | ${r.result.mbPerSec.toFixed(1)} | ${fmtUs(l?.p50)} | ${fmtUs(l?.p99)} | ${fmtUs(l?.p999)} | ${cpuCell(r)} | ${fmtUs(cpuUsPerMessage(r))} |`;
  });
  return [head, rule, ...lines].join("\n");
}

/** The ratios with their targets and each round's value, as Markdown. */
export function ratiosTable(r: Ratios, byRound: readonly Ratios[]): string {
  const met = targetsMet(r);
  const lines = (Object.keys(TARGETS) as (keyof Ratios)[]).map((k) =>
    `| ${k} | ${r[k] ?? "n/a"} | ${byRound.map((x) => x[k] ?? "n/a").join(", ")} | ${TARGETS[k]} | ${met[k] === undefined ? "n/a" : met[k] ? "met" : "MISSED"} |`);
  return ["| ratio | median | per round | target | |", "|---|--:|---|---|---|", ...lines].join("\n");
}

/** One line about the machine. */
export function machineLine(m: MachineInfo): string {
  return `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.platform} ${m.kernel}, Node ${m.node}, nats-server ${m.natsServer}, nats.js ${m.natsClient}, grpc-js ${m.grpcJs}, load ${m.loadAverage.join(" ")}`;
}
