// Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and ranks functions and files by self
// time, so a missed target comes with where the broker's CPU went.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One ranked entry: a function (name file:line) or a file/package, with its self time. */
export interface SelfTime {
  readonly name: string;
  readonly selfMs: number;
  /** Share of the busy (non-idle) time, in percent. */
  readonly percent: number;
}

/** The summary of one profile. */
export interface ProfileSummary {
  readonly file: string;
  readonly wallMs: number;
  readonly busyMs: number;
  readonly topFunctions: readonly SelfTime[];
  readonly topFiles: readonly SelfTime[];
}

const IDLE = new Set(["(idle)"]);

function shortUrl(url: string, root: string): string {
  if (url === "") return "";
  const path = url.startsWith("file://") ? url.slice("file://".length) : url;
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) return path.slice(nm + "node_modules/".length);
  return path.startsWith("/") ? relative(root, path) : path;
}

function fileGroup(url: string): string {
  if (url === "") return "(native/V8)";
  if (url.startsWith("node:")) return "node: core";
  const parts = url.split("/");
  if (url.includes("node_modules/") || !url.startsWith("dist/")) {
    return parts[0]?.startsWith("@") === true ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  return url;
}

function rank(totals: Map<string, number>, busyMs: number, top: number): SelfTime[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, percent: Math.round((us / 1000 / busyMs) * 1000) / 10 }));
}

/** Summarises one .cpuprofile; `root` shortens the project's own paths. */
export function summarizeProfile(file: string, root: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  let wallUs = 0;
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    wallUs += us;
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || IDLE.has(frame.functionName)) return;
    busyUs += us;
    const url = shortUrl(frame.url, root);
    const name = `${frame.functionName || "(anonymous)"}${url === "" ? "" : ` ${url}:${frame.lineNumber + 1}`}`;
    fnSelf.set(name, (fnSelf.get(name) ?? 0) + us);
    const group = fileGroup(url);
    fileSelf.set(group, (fileSelf.get(group) ?? 0) + us);
  });
  const busyMs = busyUs / 1000;
  return { file, wallMs: Math.round(wallUs / 1000), busyMs: Math.round(busyMs), topFunctions: rank(fnSelf, busyMs, top), topFiles: rank(fileSelf, busyMs, 15) };
}

/** The .cpuprofile files in `dir` (newest last). */
export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}
