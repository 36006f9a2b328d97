// CPU time of other processes (the servers under test), from /proc/<pid>/stat, so each row can say
// which process was busy: on a 2-vCPU box the client, nats-server and the broker share the cores.
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ, 100 on every mainstream kernel). */
const USER_HZ = 100;

/** user+system CPU seconds of `pid` so far, or undefined when /proc cannot tell (not Linux, exited). */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / USER_HZ : undefined;
  } catch {
    return undefined;
  }
}

/** Samples several processes' CPU now; the returned function gives each one's CPU seconds since. */
export function cpuMeter(pids: Readonly<Record<string, number>>): () => Record<string, number> {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  return () => {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids)) {
      const before = start[name];
      const now = processCpuSeconds(pid);
      if (before !== undefined && now !== undefined) out[name] = Math.round((now - before) * 100) / 100;
    }
    return out;
  };
}
