// Reads a Liftbridge YAML config file into flat dotted keys. Like Liftbridge (viper), nested maps
// and flattened dotted keys are both accepted, and may be mixed: `clustering: {raft.bootstrap.seed: true}`
// and `clustering.raft: {bootstrap: {seed: true}}` are the same key.
import { parse } from "yaml";
import { err, ok, type Result } from "../../core/errors.js";
import { isKeyPrefix, keySpec } from "./config-keys.js";
import { isLegacyPrefix, legacyKey } from "./legacy-keys.js";
import { suggestKey } from "./suggest-key.js";

/** Raw (not yet typed) values of a config file, by lower-case dotted key. */
export type FlatConfig = ReadonlyMap<string, unknown>;

/** Parses YAML text and flattens it; unknown keys and keys given twice are errors that name the key. */
export function flattenConfigFile(text: string): Result<FlatConfig> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return err("InvalidArgument", `not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (doc === null || doc === undefined) return ok(new Map());
  if (!isPlainMap(doc)) return err("InvalidArgument", "expected a map of configuration keys at the top level");
  const out = new Map<string, unknown>();
  const walked = walk(doc, "", out);
  return walked.ok ? ok(out) : walked;
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function walk(node: Record<string, unknown>, prefix: string, out: Map<string, unknown>): Result<null> {
  for (const [rawKey, value] of Object.entries(node)) {
    // Keys are case-insensitive in Liftbridge (viper lower-cases them).
    const key = (prefix === "" ? "" : prefix + ".") + rawKey.trim().toLowerCase();
    const known = keySpec(key) !== undefined;
    const section = isKeyPrefix(key);
    if (value === null && (known || section)) continue; // `tls:` with nothing under it sets nothing
    // Early names' sections too (`log:`), so that their keys get the "called ... today" hint.
    if (isPlainMap(value) && (section || isLegacyPrefix(key))) {
      const inner = walk(value, key, out);
      if (!inner.ok) return inner;
      continue;
    }
    if (!known) return err("InvalidArgument", `unknown configuration key "${key}"${legacyHint(key) ?? suggestKey(key)}`);
    if (out.has(key)) return err("InvalidArgument", `configuration key "${key}" is given more than once`);
    out.set(key, value);
  }
  return ok(null);
}

/** Early key names are read only in the NATS format: in YAML, say what the key is called today. */
function legacyHint(key: string): string | undefined {
  const legacy = legacyKey(key);
  if (legacy === undefined) return undefined;
  const today = "removed" in legacy ? `no longer supported: ${legacy.removed}` : `today "${legacy.key}"`;
  return ` (early Liftbridge's name, read only in its NATS-format files; ${today})`;
}
