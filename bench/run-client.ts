// Runs one client job in a child process (node dist/bench/bench-client.js) and waits for its one
// JSON line, with a hard bound: the child is killed by pid when it overstays.
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClientJob, ClientResult } from "./bench-types.js";

const CLIENT_MAIN = join(dirname(fileURLToPath(import.meta.url)), "bench-client.js");
/** When set, every client process writes a V8 CPU profile (node --cpu-prof) into this directory. */
export const CLIENT_PROFILE_DIR_ENV = "LIFTBRIDGE_BENCH_CLIENT_PROFILE_DIR";
/** Children still running, so an interrupted orchestrator can stop them. */
export const liveClients = new Set<ChildProcess>();

/** Runs `job` in a fresh process; rejects with the client's stderr when it fails or overruns `boundMs`. */
export function runClient(job: ClientJob, boundMs: number): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const profileDir = process.env[CLIENT_PROFILE_DIR_ENV];
    const profile = profileDir === undefined || profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
    const child = spawn(process.execPath, [...profile, CLIENT_MAIN, JSON.stringify(job)], { stdio: ["ignore", "pipe", "pipe"] });
    liveClients.add(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString("utf8"); });
    child.stderr.on("data", (d: Buffer) => { err += d.toString("utf8"); });
    const timer = setTimeout(() => {
      err += `\n(killed after ${boundMs} ms)`;
      child.kill("SIGKILL");
    }, boundMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      liveClients.delete(child);
      const line = out.trim().split("\n").pop() ?? "";
      if (code === 0 && line.startsWith("{")) return resolve(JSON.parse(line) as ClientResult);
      reject(new Error(`client ${job.kind} exited with ${code ?? signal}: ${err.trim().slice(-2000)}`));
    });
  });
}

/** SIGKILLs every client still running. */
export function killClients(): void {
  for (const c of liveClients) c.kill("SIGKILL");
}
