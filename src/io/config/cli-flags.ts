// Liftbridge's command-line flags (spec §5) on commander. Liftbridge parses flags with Go's flag
// package, which accepts one or two dashes before any name and multi-letter short forms (`--ns`,
// `--nc`, `--id`); commander accepts single-letter short options only, so argv is normalised to
// long names first. Parsing never exits the process: help, version and errors come back as values.
import { Command, CommanderError } from "commander";
import { err, ok, type Result } from "../../core/errors.js";
import { CONFIG_KEYS, type ConfigKey } from "./config-keys.js";

/** A value given on the command line for a config key, with the flag that gave it (for error messages). */
export interface FlagValue {
  readonly raw: string | boolean;
  readonly flag: string;
}

/** What the command line asks for. */
export type CliRequest =
  | {
      readonly kind: "run";
      readonly configFile: string | undefined;
      readonly flags: ReadonlyMap<ConfigKey, FlagValue>;
      /** --metadata-recovery: a one-time operator decision, deliberately not a config key (docs/decisions.md). */
      readonly metadataRecovery: boolean;
    }
  | { readonly kind: "help" | "version"; readonly output: string };

/** Multi-letter short forms and their long names. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ["id", "server-id"],
  ["ns", "namespace"],
  ["nc", "embedded-nats-config"],
  ["nats-server", "nats-servers"], // early Liftbridge's spelling (one URL)
]);

const SHORT: ReadonlyMap<string, string> = new Map([
  ["config", "c"],
  ["data-dir", "d"],
  ["port", "p"],
  ["level", "l"],
  ["embedded-nats", "e"],
  ["nats-servers", "n"],
]);

const BOOL_FLAGS = new Set(["embedded-nats", "raft-bootstrap-seed"]);
const FLAG_KEYS: ReadonlyMap<string, ConfigKey> = new Map(
  CONFIG_KEYS.flatMap((spec): [string, ConfigKey][] => ("flag" in spec ? [[spec.flag, spec.key]] : [])),
);
const valueFlagShorts = new Set([...SHORT].filter(([long]) => !BOOL_FLAGS.has(long)).map(([, short]) => short));
const LONG_NAMES = new Set([...FLAG_KEYS.keys(), "config", "help", "version", "metadata-recovery", ...ALIASES.keys()]);

/** Rewrites `-name`, `--id`, `--ns`, `--nc` (with or without `=value`) to commander's long names. */
export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let expectValue = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (token === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (expectValue || !token.startsWith("-") || token === "-") {
      out.push(token);
      expectValue = false;
      continue;
    }
    const body = token.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const isLong = token.startsWith("--") || LONG_NAMES.has(name);
    if (!isLong) {
      out.push(token); // -p 9292, -ep: leave single-letter forms to commander
      expectValue = eq < 0 && token.length === 2 && valueFlagShorts.has(token.slice(1));
      continue;
    }
    const long = ALIASES.get(name) ?? name;
    out.push("--" + long + (eq < 0 ? "" : body.slice(eq)));
    expectValue = eq < 0 && (FLAG_KEYS.has(long) || long === "config") && !BOOL_FLAGS.has(long);
  }
  return out;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Early Liftbridge's --raft-bootstrap-peers was a repeatable flag (one id each); both forms add up. */
function joinRepeated(value: string, previous: string | undefined): string {
  return previous === undefined ? value : `${previous},${value}`;
}

function buildProgram(version: string, output: { out: string; err: string }): Command {
  const program = new Command("liftbridge")
    .description("Liftbridge-TS: a durable, replicated message log for NATS, compatible with Liftbridge's gRPC API.")
    .version(version, "-v, --version", "print the version")
    .helpOption("-h, --help", "print this help")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => (output.out += s),
      writeErr: (s) => (output.err += s),
      outputError: () => {}, // the error comes back as a Result; the caller prints it once
    })
    .option("-c, --config <file>", "load configuration from a YAML file, or an early Liftbridge NATS-format .conf file (env LIFTBRIDGE_CONFIG)")
    .option("--server-id <id>", "ID of the server in the cluster if there is no stored ID (alias --id)")
    .option("--namespace <namespace>", "cluster namespace, default liftbridge-default (alias --ns)")
    .option("-d, --data-dir <dir>", "directory for the server's data, default /tmp/liftbridge/<namespace>")
    .option("-p, --port <port>", "port to bind the gRPC server to (default 9292)")
    .option("-l, --level <level>", "logging level: debug, info, warn, error (default info)")
    .option("--log-format <format>", "log rendering: json or pretty (default json)")
    .option("-e, --embedded-nats [bool]", "run a NATS server embedded in this process")
    .option("--embedded-nats-config <file>", "configuration file for the embedded NATS server; implies --embedded-nats (alias --nc)")
    .option("-n, --nats-servers <urls>", "comma-separated NATS URLs to connect to (default nats://127.0.0.1:4222; alias --nats-server)")
    .option("--raft-bootstrap-seed [bool]", "bootstrap the metadata Raft cluster as its seed node")
    .option("--raft-bootstrap-peers <ids>", "comma-separated server IDs to bootstrap the metadata Raft cluster with (may be repeated)", joinRepeated)
    .option("--tls-cert <file>", "server certificate file")
    .option("--tls-key <file>", "private key for the server certificate")
    .option("--metadata-recovery", "start although metadata/metadata.log is missing or damaged: keep its intact entries, move what they do not describe to <data.dir>/lost+found/ (nothing is deleted)");
  return program;
}

/** Parses the user's arguments (process.argv.slice(2)); never exits the process or prints. */
export function parseCliFlags(argv: readonly string[], version: string): Result<CliRequest> {
  const output = { out: "", err: "" };
  const program = buildProgram(version, output);
  try {
    program.parse(normaliseArgv(argv), { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === "commander.helpDisplayed" || e.code === "commander.help") return ok({ kind: "help", output: output.out });
    if (e.code === "commander.version") return ok({ kind: "version", output: output.out });
    return err("InvalidArgument", `${e.message.replace(/^error: /, "")} (see --help)`);
  }
  const opts: Record<string, unknown> = program.opts();
  const flags = new Map<ConfigKey, FlagValue>();
  for (const [flag, key] of FLAG_KEYS) {
    const raw = opts[camel(flag)];
    if (typeof raw === "string" || typeof raw === "boolean") flags.set(key, { raw, flag: "--" + flag });
  }
  const configFile = opts["config"];
  return ok({ kind: "run", configFile: typeof configFile === "string" ? configFile : undefined, flags, metadataRecovery: opts["metadataRecovery"] === true });
}
