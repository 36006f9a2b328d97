// Preloaded into a broker process by the benchmark (NODE_OPTIONS=--import, which unlike --cpu-prof
// Node allows there) when a run profiles a row: the first SIGUSR2 starts V8's CPU profiler, the
// next stops it and writes <LIFTBRIDGE_BENCH_PROFILE_DIR>/broker-<pid>-<n>.cpuprofile, so the
// profile covers exactly one workload of a long-lived broker. Without the variable it does nothing.
import { renameSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { PROFILE_DIR_ENV } from "./bench-types.js";

function install(dir: string): void {
  const session = new Session();
  session.connect();
  let running = false;
  let written = 0;
  process.on("SIGUSR2", () => {
    if (!running) {
      running = true;
      session.post("Profiler.enable", () => session.post("Profiler.start"));
      return;
    }
    running = false;
    session.post("Profiler.stop", (error, result) => {
      if (error !== null) {
        process.stderr.write(`cpu-profile-hook: ${error.message}\n`);
        return;
      }
      const file = join(dir, `broker-${process.pid}-${++written}.cpuprofile`);
      // Written aside and renamed, so whoever polls for the file never reads half of it.
      writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}

const dir = process.env[PROFILE_DIR_ENV];
if (dir !== undefined && dir !== "") install(dir);
