// The embedded NATS server's settings from a nats-server config file, as Liftbridge's
// `--embedded-nats-config` takes it. Only the keys that shape a core NATS listener are applied;
// any other key is reported as a warning, so a config written for nats-server still loads.
import { readFile } from "node:fs/promises";
import { err, ok, type Result } from "../../core/errors.js";
import { DEFAULT_MAX_CONTROL_LINE } from "../../core/nats/control-line.js";
import { parseConf, type ConfEntry, type ConfMap } from "./conf-parser.js";

/** The settings the embedded NATS server takes from a config file (with nats-server defaults). */
export interface EmbeddedNatsConfig {
  /** Interface to listen on (`host`, `net` or the host part of `listen`; default "0.0.0.0"). */
  readonly host: string;
  /** Port (`port` or `listen`; default 4222; -1 in the file means an ephemeral port, given here as 0). */
  readonly port: number;
  /** `max_payload` in bytes (default 1 MiB, at most 64 MiB). */
  readonly maxPayload: number;
  /** `max_control_line` in bytes (default 4096; not below it: the broker's limits assume it). */
  readonly maxControlLine: number;
  /** `max_connections` (default 65536). */
  readonly maxConnections: number;
  /** `authorization { timeout }` in ms: how long a new connection has to send CONNECT (default 2 s). */
  readonly connectTimeoutMs: number;
  /** Keys that were present but are not supported, one message each. */
  readonly warnings: readonly string[];
}

/** nats-server's defaults. */
export const DEFAULT_EMBEDDED_NATS_CONFIG: EmbeddedNatsConfig = {
  host: "0.0.0.0", port: 4222, maxPayload: 1024 * 1024, maxControlLine: DEFAULT_MAX_CONTROL_LINE, maxConnections: 64 * 1024, connectTimeoutMs: 2000, warnings: [],
};
/** nats-server's MAX_PAYLOAD_MAX_SIZE. */
export const MAX_PAYLOAD_LIMIT_BYTES = 64 * 1024 * 1024;

class ConfigError extends Error {}

function bad(key: string, entry: ConfEntry, why: string): never {
  throw new ConfigError(`line ${entry.line}: key "${key}": ${why} (got ${JSON.stringify(entry.value instanceof Map ? "{...}" : entry.value)})`);
}

function portValue(key: string, entry: ConfEntry, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -1 || value > 65535) {
    bad(key, entry, "must be an integer port between -1 and 65535");
  }
  // As in nats-server: -1 asks for a random port, 0 means the default port.
  if (value === -1) return 0;
  return value === 0 ? DEFAULT_EMBEDDED_NATS_CONFIG.port : value;
}

function hostValue(key: string, entry: ConfEntry, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || /\s/.test(value)) bad(key, entry, "must be a host name or address");
  return value;
}

function maxPayloadValue(key: string, entry: ConfEntry): number {
  let value = entry.value;
  // A quoted size such as "1MB" is accepted too, since the meaning is unambiguous.
  if (typeof value === "string") {
    const m = /^(\d+)\s*([kmg](?:i?b?|ib)?)?$/i.exec(value.trim());
    if (m === null) bad(key, entry, "must be a size such as 1048576, 1MB or 512KiB");
    value = sizeOf(Number(m[1]), (m[2] ?? "").toLowerCase());
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) bad(key, entry, "must be a positive size in bytes");
  if (value > MAX_PAYLOAD_LIMIT_BYTES) bad(key, entry, `must not exceed ${MAX_PAYLOAD_LIMIT_BYTES} bytes (64MB)`);
  return value;
}

function maxControlLineValue(key: string, entry: ConfEntry): number {
  const value = entry.value;
  if (typeof value !== "number" || !Number.isInteger(value) || value > MAX_PAYLOAD_LIMIT_BYTES) bad(key, entry, "must be a size in bytes");
  // The broker checks stream subjects and ack inboxes against NATS's default; a lower limit would
  // let the embedded server refuse the broker's own SUB and PUB lines.
  if (value < DEFAULT_MAX_CONTROL_LINE) bad(key, entry, `must be at least ${DEFAULT_MAX_CONTROL_LINE} (NATS's default, which the broker's limits assume)`);
  return value;
}

function sizeOf(n: number, unit: string): number {
  if (unit === "") return n;
  const power = "kmg".indexOf(unit[0]!) + 1;
  const binary = unit.length > 1;
  return n * (binary ? 1024 : 1000) ** power;
}

function listenValue(key: string, entry: ConfEntry): { host: string | undefined; port: number } {
  const value = entry.value;
  if (typeof value === "number") return { host: undefined, port: portValue(key, entry, value) };
  if (typeof value !== "string") return bad(key, entry, 'must be "host:port"');
  const m = /^(\[[^\]]+\]|[^:]*):(-?\d+)$/.exec(value);
  if (m === null) return bad(key, entry, 'must be "host:port"');
  const host = (m[1] ?? "").replace(/^\[|\]$/g, "");
  return { host: host.length === 0 ? undefined : host, port: portValue(key, entry, Number(m[2])) };
}

/** `authorization { timeout: <seconds> }`: the CONNECT timeout in ms; the block's other keys are not supported. */
function authorizationTimeout(key: string, entry: ConfEntry, warnings: string[]): number | undefined {
  if (!(entry.value instanceof Map)) return bad(key, entry, "must be a block such as { timeout: 2 }");
  let timeoutMs: number | undefined;
  for (const [inner, innerEntry] of entry.value) {
    if (inner !== "timeout") {
      warnings.push(`line ${innerEntry.line}: key "${key}.${inner}" is not supported by the embedded NATS server and is ignored`);
      continue;
    }
    const v = innerEntry.value;
    if (typeof v !== "number" || !(v > 0)) bad(`${key}.timeout`, innerEntry, "must be a positive number of seconds");
    timeoutMs = Math.round(v * 1000);
  }
  return timeoutMs;
}

function applyKeys(map: ConfMap): EmbeddedNatsConfig {
  let { host, port, maxPayload, maxControlLine, maxConnections, connectTimeoutMs } = DEFAULT_EMBEDDED_NATS_CONFIG;
  const warnings: string[] = [];
  for (const [key, entry] of map) {
    switch (key) {
      case "host":
      case "net":
        host = hostValue(key, entry, entry.value);
        break;
      case "port":
        port = portValue(key, entry, entry.value);
        break;
      case "listen": {
        const listen = listenValue(key, entry);
        host = listen.host ?? host;
        port = listen.port;
        break;
      }
      case "max_payload":
        maxPayload = maxPayloadValue(key, entry);
        break;
      case "max_control_line":
        maxControlLine = maxControlLineValue(key, entry);
        break;
      case "max_connections":
      case "max_conn":
        if (typeof entry.value !== "number" || !Number.isInteger(entry.value) || entry.value <= 0) bad(key, entry, "must be a positive integer");
        maxConnections = entry.value;
        break;
      case "authorization":
        connectTimeoutMs = authorizationTimeout(key, entry, warnings) ?? connectTimeoutMs;
        break;
      default:
        warnings.push(`line ${entry.line}: key "${key}" is not supported by the embedded NATS server and is ignored`);
    }
  }
  return { host, port, maxPayload, maxControlLine, maxConnections, connectTimeoutMs, warnings };
}

/** Reads the embedded NATS settings from the text of a nats-server config file. */
export function parseEmbeddedNatsConfig(text: string, source = "NATS config"): Result<EmbeddedNatsConfig> {
  const parsed = parseConf(text);
  if (!parsed.ok) return err("InvalidArgument", `${source}: ${parsed.error.message}`);
  try {
    return ok(applyKeys(parsed.value));
  } catch (e) {
    if (e instanceof ConfigError) return err("InvalidArgument", `${source}: ${e.message}`);
    throw e;
  }
}

/** Reads and parses a nats-server config file; an unreadable file is an InvalidArgument error. */
export async function loadEmbeddedNatsConfig(path: string): Promise<Result<EmbeddedNatsConfig>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    return err("InvalidArgument", `cannot read NATS config ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseEmbeddedNatsConfig(text, path);
}
