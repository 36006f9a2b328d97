// Loads the broker configuration from four sources, highest first: CLI flags > environment >
// config file (--config/-c: YAML, or early Liftbridge's NATS format) > defaults. Every value is checked against its key's type, whichever
// source gave it, and every error names the key, the source and what is allowed.
//
// Decision: unlike Liftbridge (whose viper setup only lets LIFTBRIDGE_* variables override keys
// already present in the file, liftbridge#246), EVERY key can be set from the environment, with
// or without a file: LIFTBRIDGE_ + the key upper-cased with dots as underscores, e.g.
// LIFTBRIDGE_CLUSTERING_MIN_INSYNC_REPLICAS=2. Empty variables count as unset. docs/configuration.md
// says the same for operators.
import { assert } from "../../core/assert.js";
import { err, ok, type Result } from "../../core/errors.js";
import { parseCliFlags, type FlagValue } from "./cli-flags.js";
import { CONFIG_KEYS, envNameFor, type ConfigKey, type ConfigValue, type KeySpec } from "./config-keys.js";
import { buildLiftbridgeConfig, type LiftbridgeConfig } from "./config-schema.js";
import { parseConfigText, type ConfigFileContent, type ConfigFileFormat } from "./parse-config-text.js";
import { parseConfigValue } from "./parse-value.js";
import { firstRefusal, notSupportedYet } from "./unsupported-settings.js";

/** Where a key's effective value came from. */
export type ConfigSource = "flag" | "env" | "file" | "default";

/** A configuration ready to run with, and where each key's value came from (for `config print --effective`). */
export interface EffectiveConfig {
  readonly kind: "run";
  readonly config: LiftbridgeConfig;
  /** Effective value of every key (undefined for listen, host and server id when unset). */
  readonly values: ReadonlyMap<ConfigKey, ConfigValue | undefined>;
  readonly sources: ReadonlyMap<ConfigKey, ConfigSource>;
  /** The config file that was read, if any, and its format. */
  readonly configFile: string | undefined;
  readonly configFileFormat: ConfigFileFormat | undefined;
  /** Master key from LIFTBRIDGE_ENCRYPTION_KEY, present only when streams.encryption is on. */
  readonly encryptionKey: Uint8Array | undefined;
  /** --metadata-recovery was given (a flag only, not a key). */
  readonly metadataRecovery: boolean;
}

/** The command line asked for help or the version: print `output` to stdout and exit 0. */
export interface ExitRequest {
  readonly kind: "help" | "version";
  readonly output: string;
}

/** What loadConfig returns: a configuration to run with, or a request to print and exit 0. */
export type LoadedConfig = EffectiveConfig | ExitRequest;

/** Options for loadConfig. */
export interface LoadConfigOptions {
  /** Printed by --version. */
  readonly version?: string;
}

/** The environment variable naming the config file when --config is not given. */
export const CONFIG_FILE_ENV = "LIFTBRIDGE_CONFIG";
/** The environment variable holding the encryption-at-rest master key (as in Liftbridge). */
export const ENCRYPTION_KEY_ENV = "LIFTBRIDGE_ENCRYPTION_KEY";
const DEFAULT_VERSION = "0.1.0";

/** Loads and validates the configuration; argv is the user's arguments (process.argv.slice(2)). */
export function loadConfig(
  argv: string[],
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
  options: LoadConfigOptions = {},
): Result<LoadedConfig> {
  const cli = parseCliFlags(argv, options.version ?? DEFAULT_VERSION);
  if (!cli.ok) return cli;
  if (cli.value.kind !== "run") return ok({ kind: cli.value.kind, output: cli.value.output });
  const configFile = cli.value.configFile ?? nonEmpty(env[CONFIG_FILE_ENV]);
  let file: ConfigFileContent | undefined;
  if (configFile !== undefined) {
    const read = readConfigFile(configFile, readFile);
    if (!read.ok) return read;
    file = read.value;
  }
  const resolved = resolveKeys(cli.value.flags, env, file, configFile ?? "");
  if (!resolved.ok) return resolved;
  const { values, sources, where } = resolved.value;
  applyDerivedDefaults(values, sources);
  const checked = checkCombinations(values);
  if (!checked.ok) return checked;
  const refused = firstRefusal(values);
  if (refused !== undefined) {
    const from = where.get(refused.key);
    return err("InvalidArgument", notSupportedYet(refused.key, refused.only, refused.why) + (from === undefined ? "" : `; set by ${from}`));
  }
  const encryptionKey = readEncryptionKey(values.get("streams.encryption") === true, env);
  if (!encryptionKey.ok) return encryptionKey;
  const config = buildLiftbridgeConfig((key) => values.get(key));
  return ok({ kind: "run", config, values, sources, configFile, configFileFormat: file?.format, encryptionKey: encryptionKey.value, metadataRecovery: cli.value.metadataRecovery });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function readConfigFile(path: string, readFile: (path: string) => string): Result<ConfigFileContent> {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    return err("InvalidArgument", `cannot read config file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseConfigText(text, path);
}

interface Resolved {
  values: Map<ConfigKey, ConfigValue | undefined>;
  sources: Map<ConfigKey, ConfigSource>;
  /** Where each value not from the defaults came from, for messages ("config file lb.conf:7 (as \"log.level\")"). */
  where: Map<ConfigKey, string>;
}

/** Picks each key's value from the highest source that gives it; every given value must be valid. */
function resolveKeys(
  flags: ReadonlyMap<ConfigKey, FlagValue>,
  env: Record<string, string | undefined>,
  file: ConfigFileContent | undefined,
  filePath: string,
): Result<Resolved> {
  const values = new Map<ConfigKey, ConfigValue | undefined>();
  const sources = new Map<ConfigKey, ConfigSource>();
  const where = new Map<ConfigKey, string>();
  for (const spec of CONFIG_KEYS as readonly (KeySpec & { key: ConfigKey })[]) {
    const flag = flags.get(spec.key);
    const envName = envNameFor(spec.key);
    const given: [ConfigSource, string, unknown][] = [];
    if (flag !== undefined) given.push(["flag", `flag ${flag.flag}`, flag.raw]);
    if (nonEmpty(env[envName]) !== undefined) given.push(["env", `environment variable ${envName}`, env[envName]]);
    if (file?.values.has(spec.key) === true) given.push(["file", `config file ${file.where.get(spec.key) ?? filePath}`, file.values.get(spec.key)]);
    // Lower sources are validated too, so a typo in the file is caught even while a flag overrides it.
    for (const [source, from, raw] of given.reverse()) {
      const parsed = parseConfigValue(spec.type, raw);
      if (!parsed.ok) return err("InvalidArgument", `invalid value for "${spec.key}" from ${from}: ${parsed.error.message}`);
      values.set(spec.key, parsed.value);
      sources.set(spec.key, source);
      where.set(spec.key, from);
    }
    if (!sources.has(spec.key)) {
      values.set(spec.key, spec.default);
      sources.set(spec.key, "default");
    }
  }
  return ok({ values, sources, where });
}

const MIN_SEGMENT_AGE_MS = 1000;

/** Defaults that depend on other keys, as Liftbridge computes them. */
function applyDerivedDefaults(values: Map<ConfigKey, ConfigValue | undefined>, sources: Map<ConfigKey, ConfigSource>): void {
  if (values.get("data.dir") === undefined) {
    const namespace = values.get("clustering.namespace");
    assert(typeof namespace === "string", "clustering.namespace always has a value");
    values.set("data.dir", `/tmp/liftbridge/${namespace}`);
  }
  if (values.get("streams.segment.max.age") === undefined) {
    values.set("streams.segment.max.age", values.get("streams.retention.max.age"));
  }
  // A segment rolled more often than every second would churn files; 0 still means "never by age".
  const segmentAgeMs = values.get("streams.segment.max.age");
  if (typeof segmentAgeMs === "number" && segmentAgeMs > 0 && segmentAgeMs < MIN_SEGMENT_AGE_MS) {
    values.set("streams.segment.max.age", MIN_SEGMENT_AGE_MS);
  }
  if (values.get("nats.embedded.config") !== "" && values.get("nats.embedded") !== true) {
    values.set("nats.embedded", true); // --embedded-nats-config implies --embedded-nats
    sources.set("nats.embedded", sources.get("nats.embedded.config") ?? "default");
  }
}

/** Keys that only make sense together. */
function checkCombinations(values: ReadonlyMap<ConfigKey, ConfigValue | undefined>): Result<null> {
  const pairs: [ConfigKey, ConfigKey][] = [
    ["tls.cert", "tls.key"],
    ["nats.tls.cert", "nats.tls.key"],
  ];
  // Liftbridge refuses both: a seed bootstraps alone, peers bootstrap together.
  const peers = values.get("clustering.raft.bootstrap.peers");
  if (values.get("clustering.raft.bootstrap.seed") === true && Array.isArray(peers) && peers.length > 0) {
    return err("InvalidArgument", '"clustering.raft.bootstrap.seed" and "clustering.raft.bootstrap.peers" cannot both be set: a seed bootstraps a cluster alone, peers bootstrap it together');
  }
  for (const [a, b] of pairs) {
    if ((values.get(a) === "") !== (values.get(b) === "")) {
      return err("InvalidArgument", `"${a}" and "${b}" must be given together (got only "${values.get(a) === "" ? b : a}")`);
    }
  }
  return ok(null);
}

function readEncryptionKey(enabled: boolean, env: Record<string, string | undefined>): Result<Uint8Array | undefined> {
  if (!enabled) return ok(undefined);
  const raw = env[ENCRYPTION_KEY_ENV];
  const key = new TextEncoder().encode(raw ?? "");
  if (key.length !== 16 && key.length !== 32) {
    return err(
      "InvalidArgument",
      `"streams.encryption" is on, so environment variable ${ENCRYPTION_KEY_ENV} must hold a 16- or 32-byte key (got ${raw === undefined ? "none" : `${key.length} bytes`})`,
    );
  }
  return ok(key);
}
