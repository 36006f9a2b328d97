// The machine a run happened on, for the JSON object and the docs table.
import { execFileSync } from "node:child_process";
import os from "node:os";

/** Cores, CPU model, memory, load, Node and nats-server versions. */
export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly loadAverage: readonly number[];
  readonly platform: string;
  readonly kernel: string;
  readonly node: string;
  readonly natsServer: string;
  readonly natsClient: string;
  readonly grpcJs: string;
}

function natsServerVersion(binary: string): string {
  try {
    return execFileSync(binary, ["--version"], { encoding: "utf8", timeout: 5000 }).trim().replace(/^nats-server:\s*/, "");
  } catch {
    return "unknown";
  }
}

/** Describes this machine; `versions` holds the client library versions the caller knows. */
export function machineInfo(natsServerBinary: string, versions: { natsClient: string; grpcJs: string }): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism(), cpuModel: cpus[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    platform: `${os.platform()} ${os.arch()}`, kernel: os.release(), node: process.version,
    natsServer: natsServerVersion(natsServerBinary), ...versions,
  };
}
