// Starts a real `nats-server` child process on 127.0.0.1 with an ephemeral client port, for
// integration tests and benchmarks that compare against (or run the broker over) the real thing.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** Options for startNatsServer. */
export interface NatsServerOptions {
  /** Enables JetStream (store in storeDir, or a fresh temp directory removed on stop). */
  readonly jetstream?: boolean;
  readonly storeDir?: string;
  /** max_payload in bytes (nats-server's default is 1 MiB). */
  readonly maxPayload?: number;
  /** Client port (default: ephemeral); a fixed one lets a test restart the server where clients reconnect. */
  readonly port?: number;
  /** Appended to the generated configuration (e.g. an authorization block). */
  readonly extraConfig?: string;
  /** Bound on start-up, default 10 s. */
  readonly startTimeoutMs?: number;
  /** Its own process group: a terminal's Ctrl-C reaches only the parent, which stops it. */
  readonly detached?: boolean;
}

/** A running nats-server process. */
export interface NatsServerProcess {
  readonly pid: number;
  /** "nats://127.0.0.1:port". */
  readonly url: string;
  readonly port: number;
  /** SIGTERM, then SIGKILL after a bound; removes the temp files it made. */
  stop(): Promise<void>;
  /** Collected stdout+stderr. */
  output(): string;
}

const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/sbin"];

/** The path of an executable `nats-server` (PATH, then the sbin directories), or undefined. */
export function natsServerPath(): string | undefined {
  const fromEnv = process.env["NATS_SERVER_PATH"];
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== ""), ...EXTRA_DIRS];
  const candidates = fromEnv !== undefined && fromEnv !== "" ? [fromEnv] : dirs.map((d) => join(d, "nats-server"));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILLs `child` if this process exits first (a crashed test run leaves nothing running). */
export function killOnExit(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of liveChildren) c.kill("SIGKILL");
  });
}

/** Resolves once `child` has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** Sends `signal`, then SIGKILL if the process is still alive after `timeoutMs`. */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
  const done = exited(child);
  if (child.exitCode !== null || child.signalCode !== null) return done;
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => { timer = setTimeout(() => resolve("timeout"), timeoutMs); });
  const first = await Promise.race([done, timedOut]);
  clearTimeout(timer);
  if (first !== "timeout") return first;
  child.kill("SIGKILL");
  return done;
}

/** Resolves when a TCP client on 127.0.0.1:port receives the server's INFO line. */
function acceptsClients(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (d: Buffer) => finish(d.toString("latin1").startsWith("INFO ")));
    socket.on("error", () => finish(false));
  });
}

function configText(options: NatsServerOptions, storeDir: string | undefined): string {
  const lines = ["host: 127.0.0.1", `port: ${options.port ?? -1}`];
  if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
  if (storeDir !== undefined) lines.push(`jetstream {\n  store_dir: ${JSON.stringify(storeDir)}\n}`);
  if (options.extraConfig !== undefined) lines.push(options.extraConfig);
  return `${lines.join("\n")}\n`;
}

const LISTEN_RE = /Listening for client connections on [^\s:]+:(\d+)/;

/** Waits for the "Listening for client connections" line; rejects on exit or timeout. */
function listenPort(child: ChildProcess, collected: () => string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`nats-server did not start within ${timeoutMs} ms:\n${collected()}`)), timeoutMs);
    const check = (): void => {
      const m = LISTEN_RE.exec(collected());
      if (m !== null) done(Number(m[1]));
    };
    const onExit = (code: number | null): void => fail(new Error(`nats-server exited with ${code} during start-up:\n${collected()}`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off("data", check);
      child.stderr?.off("data", check);
      child.off("exit", onExit);
    };
    const done = (port: number): void => { cleanup(); resolve(port); };
    const fail = (e: Error): void => { cleanup(); reject(e); };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", onExit);
    check();
  });
}

/** Starts nats-server on 127.0.0.1 with an ephemeral port and waits until it accepts clients. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerProcess> {
  const binary = natsServerPath();
  if (binary === undefined) throw new Error("nats-server not found on PATH or in /usr/sbin");
  const tempDir = mkdtempSync(join(tmpdir(), "nats-server-"));
  const storeDir = options.jetstream === true ? (options.storeDir ?? join(tempDir, "jetstream")) : undefined;
  const configPath = join(tempDir, "nats.conf");
  writeFileSync(configPath, configText(options, storeDir));
  const child = spawn(binary, ["-c", configPath], { stdio: ["ignore", "pipe", "pipe"], detached: options.detached === true });
  killOnExit(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => { out += d.toString("utf8"); });
  child.stderr.on("data", (d: Buffer) => { out += d.toString("utf8"); });
  const stop = async (): Promise<void> => {
    await terminate(child, "SIGTERM", 5000);
    rmSync(tempDir, { recursive: true, force: true });
  };
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  try {
    if (child.pid === undefined) throw new Error(`cannot spawn ${binary}`);
    const port = await listenPort(child, () => out, startTimeoutMs);
    if (!(await acceptsClients(port, startTimeoutMs))) throw new Error(`nats-server on port ${port} sends no INFO:\n${out}`);
    return { pid: child.pid, port, url: `nats://127.0.0.1:${port}`, stop, output: () => out };
  } catch (e) {
    await stop();
    throw e;
  }
}
