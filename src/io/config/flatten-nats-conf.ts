// Reads early Liftbridge's config file (the NATS server configuration format, parsed by the same
// parser as the embedded NATS server's file) into today's flat dotted keys: blocks and dotted keys
// mix as in YAML (`log { segment.max.bytes: 1000000 }` is `log.segment.max.bytes`), early key
// names become today's (legacy-keys.ts), and every error names the file, the line and the key.
import { err, ok, type Result } from "../../core/errors.js";
import { parseConf, type ConfEntry, type ConfMap } from "../embedded-nats/conf-parser.js";
import { isKeyPrefix, keySpec, type ConfigKey, type KeyType } from "./config-keys.js";
import { isLegacyPrefix, legacyKey, LEGACY_KEYS } from "./legacy-keys.js";
import { suggestKey } from "./suggest-key.js";

/** Raw values by today's key, and where each came from ("lb.conf:7", plus the early name when it had one). */
export interface ConfFileValues {
  readonly values: ReadonlyMap<string, unknown>;
  readonly where: ReadonlyMap<string, string>;
}

/** Types whose bare tokens stay text: `1m` is a duration and `server-2` a name, never a size or a number. */
const TEXT_KINDS: ReadonlySet<KeyType["kind"]> = new Set(["string", "name", "duration", "enum", "listen", "list"]);

/** Parses NATS-format text from the file `name` and flattens it to today's keys. */
export function flattenNatsConf(text: string, name: string): Result<ConfFileValues> {
  const parsed = parseConf(text, { rejectDuplicates: true });
  if (!parsed.ok) return err("InvalidArgument", `${name}:${parsed.error.message.replace(/^line /, "")}`);
  const out = { values: new Map<string, unknown>(), where: new Map<string, string>() };
  const walked = walk(parsed.value, "", name, out);
  return walked.ok ? ok(out) : walked;
}

function walk(map: ConfMap, prefix: string, name: string, out: { values: Map<string, unknown>; where: Map<string, string> }): Result<null> {
  for (const [rawKey, entry] of map) {
    const key = prefix === "" ? rawKey : `${prefix}.${rawKey}`;
    const at = `${name}:${entry.line}`;
    if (entry.value instanceof Map && (isKeyPrefix(key) || isLegacyPrefix(key))) {
      const inner = walk(entry.value, key, name, out);
      if (!inner.ok) return inner;
      continue;
    }
    const target = targetOf(key, at);
    if (!target.ok) return target;
    const { key: today, convert } = target.value;
    const previous = out.where.get(today);
    if (previous !== undefined) {
      return err("InvalidArgument", `${at}: "${key}"${key === today ? "" : ` (today "${today}")`} is already set at ${previous}`);
    }
    out.values.set(today, convert(rawValue(entry, today)));
    out.where.set(today, today === key ? at : `${at} (as "${key}")`);
  }
  return ok(null);
}

function targetOf(key: string, at: string): Result<{ key: ConfigKey; convert: (raw: unknown) => unknown }> {
  if (keySpec(key) !== undefined) return ok({ key: key as ConfigKey, convert: (raw) => raw });
  const legacy = legacyKey(key);
  if (legacy === undefined) return err("InvalidArgument", `${at}: unknown configuration key "${key}"${suggestKey(key, legacyNames())}`);
  if ("removed" in legacy) return err("InvalidArgument", `${at}: configuration key "${key}" is no longer supported (${legacy.removed})`);
  return ok({ key: legacy.key, convert: legacy.convert ?? ((raw) => raw) });
}

/** The value parse-value.ts should check: the token as written for text types, else the NATS reading. */
function rawValue(entry: ConfEntry, key: string): unknown {
  const kind = keySpec(key)?.type.kind;
  if (entry.raw !== undefined && kind !== undefined && TEXT_KINDS.has(kind)) return entry.raw;
  return entry.value;
}

function legacyNames(): string[] {
  return LEGACY_KEYS.map((entry) => entry.old);
}
