// Turns one raw value (a YAML scalar or list, an environment string, a CLI flag string) into the
// typed value its key accepts. Strings are accepted for every type, because the environment and
// the command line only carry strings; YAML's own types are accepted where they fit.
import { assertNever } from "../../core/assert.js";
import { err, ok, type Result } from "../../core/errors.js";
import type { ConfigValue, HostPort, KeyType } from "./config-keys.js";
import { parseGoDuration } from "./duration.js";

/** Parses `raw` as a value of type `type`; the error message says what was expected (the caller names the key). */
export function parseConfigValue(type: KeyType, raw: unknown): Result<ConfigValue> {
  switch (type.kind) {
    case "string":
      return parseString(raw);
    case "name":
      return parseName(raw);
    case "bool":
      return parseBool(raw);
    case "int":
      return parseInt(raw, type.min, type.max);
    case "duration":
      return parseDuration(raw, type.minMs);
    case "list":
      return parseList(raw);
    case "enum":
      return parseEnum(raw, type.values);
    case "listen":
      return parseListen(raw);
    default:
      return assertNever(type, "key type");
  }
}

function show(raw: unknown): string {
  if (typeof raw === "string") return JSON.stringify(raw);
  if (Array.isArray(raw)) return "a list";
  if (raw === null) return "null";
  if (typeof raw === "object") return "a map";
  if (typeof raw === "number" || typeof raw === "boolean" || typeof raw === "bigint") return String(raw);
  return typeof raw;
}

function parseString(raw: unknown): Result<ConfigValue> {
  if (typeof raw === "string") return ok(raw);
  // YAML turns `host: 10.0.0.1`-like scalars into strings already; a bare number is still a usable path or host.
  if (typeof raw === "number") return ok(String(raw));
  return err("InvalidArgument", `expected a string, got ${show(raw)}`);
}

function parseName(raw: unknown): Result<ConfigValue> {
  const s = parseString(raw);
  if (!s.ok) return s;
  const name = s.value as string;
  if (name === "" || /[\s.]/u.test(name)) {
    return err("InvalidArgument", `expected a non-empty name without spaces or periods, got ${JSON.stringify(name)}`);
  }
  return ok(name);
}

const TRUE_WORDS = new Set(["1", "t", "true"]);
const FALSE_WORDS = new Set(["0", "f", "false"]);

function parseBool(raw: unknown): Result<ConfigValue> {
  if (typeof raw === "boolean") return ok(raw);
  // The spellings Go's strconv.ParseBool accepts, as Liftbridge's flags and viper do.
  if (typeof raw === "string") {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return ok(true);
    if (FALSE_WORDS.has(word)) return ok(false);
  }
  return err("InvalidArgument", `expected true or false, got ${show(raw)}`);
}

function parseInt(raw: unknown, min: number, max: number): Result<ConfigValue> {
  let n: number | undefined;
  if (typeof raw === "number") n = raw;
  else if (typeof raw === "string" && /^\s*[-+]?\d+\s*$/.test(raw)) n = Number(raw);
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  if (n === undefined || !Number.isSafeInteger(n) || n < min || n > max) {
    return err("InvalidArgument", `expected an integer ${range}, got ${show(raw)}`);
  }
  return ok(n);
}

function parseDuration(raw: unknown, minMs: number): Result<ConfigValue> {
  if (raw === 0) return minMs <= 0 ? ok(0) : err("InvalidArgument", `expected a duration of at least ${minMs}ms, got 0`);
  if (typeof raw !== "string") {
    return err("InvalidArgument", `expected a duration with a unit such as 500ms, 15s or 168h, got ${show(raw)}`);
  }
  const ms = parseGoDuration(raw);
  if (!ms.ok) return ms;
  if (ms.value < minMs) {
    const what = minMs <= 0 ? "a duration that is not negative" : `a duration of at least ${minMs}ms`;
    return err("InvalidArgument", `expected ${what}, got ${show(raw)}`);
  }
  return ok(ms.value);
}

function parseList(raw: unknown): Result<ConfigValue> {
  // A comma-separated string is how the environment and `--nats-servers a,b` carry a list.
  if (typeof raw === "string") return ok(raw.split(",").map((s) => s.trim()).filter((s) => s !== ""));
  if (Array.isArray(raw) && raw.every((item) => typeof item === "string")) return ok(raw.map((s) => s.trim()));
  return err("InvalidArgument", `expected a list of strings or a comma-separated string, got ${show(raw)}`);
}

function parseEnum(raw: unknown, values: readonly string[]): Result<ConfigValue> {
  // Liftbridge matches levels case-insensitively; the same courtesy for every enum.
  const word = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
  if (word !== undefined && values.includes(word)) return ok(word);
  return err("InvalidArgument", `expected one of ${values.join(", ")}, got ${show(raw)}`);
}

function parseListen(raw: unknown): Result<ConfigValue> {
  // A bare port binds every interface, as Liftbridge's `listen: 9292` does.
  const port = (text: string): number | undefined => {
    const n = Number(text);
    return /^\d+$/.test(text) && n <= 65535 ? n : undefined;
  };
  const bad = err("InvalidArgument", `expected host:port or a port number, got ${show(raw)}`);
  if (typeof raw === "number") return port(String(raw)) === undefined ? bad : ok({ host: "0.0.0.0", port: raw });
  if (typeof raw !== "string") return bad;
  const text = raw.trim();
  if (port(text) !== undefined) return ok({ host: "0.0.0.0", port: Number(text) });
  const colon = text.lastIndexOf(":");
  if (colon < 0) return bad;
  let host = text.slice(0, colon);
  const p = port(text.slice(colon + 1));
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1); // [::1]:9292
  else if (host.includes(":")) return bad; // an IPv6 host needs brackets, as in Go's SplitHostPort
  if (p === undefined) return bad;
  const hostPort: HostPort = { host: host === "" ? "0.0.0.0" : host, port: p };
  return ok(hostPort);
}
