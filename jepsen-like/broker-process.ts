// Starts the real broker (`node dist/src/io/main.js`) as a child process on loopback with an
// ephemeral gRPC port and, unless an external NATS URL is given, an embedded NATS server on an
// ephemeral port; reads the addresses from its start-up log line.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exited, killOnExit, terminate } from "./nats-server-process.js";

/** Options for startBrokerProcess. */
export interface BrokerProcessOptions {
  /** Data directory; default a fresh temp directory, removed on stop/kill unless keepData. */
  dataDir?: string;
  keepData?: boolean;
  /** External NATS URL; default an embedded NATS server on an ephemeral port. */
  natsUrl?: string;
  /**
   * How a fresh data directory on an external NATS starts: "seed" (--raft-bootstrap-seed, the
   * default: a lone broker) or "join" (no flag: it joins the cluster running on that NATS). Ignored
   * with the embedded NATS (a cluster of one) and when extraArgs give a --raft-bootstrap-* flag.
   */
  bootstrap?: "seed" | "join";
  /** YAML written to a temp file and passed with --config. */
  configYaml?: string;
  /** Lines appended to the embedded NATS server's config file (nats-server format). */
  natsConfigExtra?: string;
  extraArgs?: string[];
  /** Extra environment variables (on top of this process's environment). */
  env?: Record<string, string>;
  /** Bound on start-up, default 15 s. */
  startTimeoutMs?: number;
  /** Its own process group: a terminal's Ctrl-C reaches only the parent, which stops it (npm run cluster). */
  detached?: boolean;
  /** Appends the broker's stdout+stderr to this file; output() then holds only what came before the start-up line. */
  logFile?: string;
  /** A command that execs the broker, e.g. ["prlimit", "--nofile=1024:1024"] (it must exec, keeping the pid). */
  launcher?: readonly string[];
}

/** A running broker process. */
export interface BrokerProcess {
  readonly pid: number;
  /** "127.0.0.1:port". */
  readonly grpcAddress: string;
  readonly natsUrl: string;
  readonly dataDir: string;
  /** Sends `signal` (default SIGTERM), SIGKILL after `timeoutMs` (default 10 s); the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** Resolves with the exit code once the broker exits by itself (or was stopped). */
  exited(): Promise<number | null>;
  /** Collected stdout+stderr. */
  output(): string;
}

/** The compiled broker entry point (dist/src/io/main.js), found relative to this file in dist/. */
export function brokerMainPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "src", "io", "main.js");
}

interface StartedLine {
  readonly grpc: string;
  readonly nats: string;
}

/** The fields of the "Liftbridge-TS started" JSON log line, once it has been printed. */
function findStartedLine(out: string): StartedLine | undefined {
  for (const line of out.split("\n")) {
    if (!line.includes("Liftbridge-TS started")) continue;
    try {
      const parsed = JSON.parse(line) as { msg?: unknown; grpc?: unknown; nats?: unknown };
      if (parsed.msg === "Liftbridge-TS started" && typeof parsed.grpc === "string" && typeof parsed.nats === "string") {
        return { grpc: parsed.grpc, nats: parsed.nats };
      }
    } catch {
      // a partial line: wait for more output
    }
  }
  return undefined;
}

function waitStarted(child: ChildProcess, collected: () => string, timeoutMs: number): Promise<StartedLine> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => fail(new Error(`broker did not start within ${timeoutMs} ms:\n${collected()}`)), timeoutMs);
    const check = (): void => {
      const started = findStartedLine(collected());
      if (started !== undefined) {
        cleanup();
        resolvePromise(started);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new Error(`broker exited (code ${code}, signal ${signal}) during start-up:\n${collected()}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off("data", check);
      child.stderr?.off("data", check);
      child.off("exit", onExit);
    };
    const fail = (e: Error): void => { cleanup(); reject(e); };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", onExit);
    check();
  });
}

function brokerArgs(options: BrokerProcessOptions, dataDir: string, tempDir: string): string[] {
  const args = [brokerMainPath(), "--data-dir", dataDir, "--port", "0"];
  if (options.natsUrl !== undefined) {
    args.push("--nats-servers", options.natsUrl);
    const flagged = (options.extraArgs ?? []).some((a) => a.startsWith("--raft-bootstrap-"));
    if ((options.bootstrap ?? "seed") === "seed" && !flagged) args.push("--raft-bootstrap-seed");
  } else {
    const natsConfig = join(tempDir, "embedded-nats.conf");
    writeFileSync(natsConfig, "host: 127.0.0.1\nport: -1\n" + (options.natsConfigExtra ?? ""));
    args.push("--embedded-nats-config", natsConfig);
  }
  if (options.configYaml !== undefined) {
    const configPath = join(tempDir, "liftbridge.yaml");
    writeFileSync(configPath, options.configYaml);
    args.push("--config", configPath);
  }
  return [...args, ...(options.extraArgs ?? [])];
}

/** Starts a broker and resolves once it logged "Liftbridge-TS started" (rejects, killing it, otherwise). */
export async function startBrokerProcess(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const tempDir = mkdtempSync(join(tmpdir(), "liftbridge-proc-"));
  const dataDir = options.dataDir ?? join(tempDir, "data");
  const removeData = options.dataDir === undefined && options.keepData !== true;
  // Loopback only: the gRPC server binds LIFTBRIDGE_HOST (the caller's env may still override it).
  const env = { ...process.env, LIFTBRIDGE_HOST: "127.0.0.1", ...options.env };
  const [command, ...prefix] = [...(options.launcher ?? []), process.execPath];
  const child = spawn(command, [...prefix, ...brokerArgs(options, dataDir, tempDir)], { stdio: ["ignore", "pipe", "pipe"], env, detached: options.detached === true });
  killOnExit(child);
  let out = "";
  // A long-running broker (npm run cluster) logs to its file, not into this process's memory.
  const log = options.logFile !== undefined ? createWriteStream(options.logFile, { flags: "a" }) : undefined;
  let started = false;
  const collect = (d: Buffer): void => {
    log?.write(d);
    if (log === undefined || !started) out += d.toString("utf8");
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  child.once("exit", () => log?.end());
  const cleanup = (): void => {
    rmSync(join(tempDir, "embedded-nats.conf"), { force: true });
    rmSync(join(tempDir, "liftbridge.yaml"), { force: true });
    // The temp directory holds the data only when no dataDir was given.
    if (removeData || options.dataDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  };
  const stop = async (signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<number | null> => {
    const code = await terminate(child, signal, timeoutMs);
    cleanup();
    return code;
  };
  try {
    if (child.pid === undefined) throw new Error("cannot spawn the broker");
    const startedLine = await waitStarted(child, () => out, options.startTimeoutMs ?? 15_000);
    started = true;
    const port = startedLine.grpc.slice(startedLine.grpc.lastIndexOf(":") + 1);
    return {
      pid: child.pid, grpcAddress: `127.0.0.1:${port}`, natsUrl: startedLine.nats.split(",")[0] ?? startedLine.nats, dataDir,
      stop,
      kill: async () => {
        child.kill("SIGKILL");
        await exited(child);
        cleanup();
      },
      exited: () => exited(child),
      output: () => out,
    };
  } catch (e) {
    await stop("SIGKILL", 5000);
    throw e;
  }
}
