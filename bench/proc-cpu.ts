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

/** The aggregate `cpu` line of /proc/stat: all ticks (user..steal) and the stolen ones. */
export interface MachineTicks {
  readonly total: number;
  readonly steal: number;
}

/** Parses /proc/stat's first line ("cpu user nice system idle iowait irq softirq steal ..."). */
export function machineTicksOf(procStat: string): MachineTicks | undefined {
  const line = procStat.split("\n", 1)[0] ?? "";
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== "cpu" || fields.length < 9) return undefined;
  const ticks = fields.slice(1, 9).map(Number);
  if (ticks.some((t) => !Number.isFinite(t))) return undefined;
  return { total: ticks.reduce((a, b) => a + b, 0), steal: ticks[7]! };
}

/** The share (percent) of the machine's CPU time the hypervisor took between two samples. */
export function stealPercent(before: MachineTicks, after: MachineTicks): number | undefined {
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  return Math.round(((after.steal - before.steal) / total) * 1000) / 10;
}

function machineTicks(): MachineTicks | undefined {
  try {
    return machineTicksOf(readFileSync("/proc/stat", "latin1"));
  } catch {
    return undefined;
  }
}

/** Samples the machine now; the returned function gives the steal percent since (undefined off Linux). */
export function stealMeter(): () => number | undefined {
  const before = machineTicks();
  return () => {
    const after = machineTicks();
    return before === undefined || after === undefined ? undefined : stealPercent(before, after);
  };
}
