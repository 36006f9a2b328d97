// Reads a Liftbridge YAML config file into flat dotted keys. Like Liftbridge (viper), nested maps
// and flattened dotted keys are both accepted, and may be mixed: `clustering: {raft.bootstrap.seed: true}`
// and `clustering.raft: {bootstrap: {seed: true}}` are the same key. Every key remembers its line,
// so errors name file:line as they do for early NATS-format files.
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document, type YAMLMap } from "yaml";
import { err, ok, type Result } from "../../core/errors.js";
import { isKeyPrefix, keySpec } from "./config-keys.js";
import type { ConfFileValues } from "./flatten-nats-conf.js";
import { isLegacyPrefix, legacyKey } from "./legacy-keys.js";
import { suggestKey } from "./suggest-key.js";

/** Raw (not yet typed) values of a config file, by lower-case dotted key. */
export type FlatConfig = ReadonlyMap<string, unknown>;

interface Walk {
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly name: string;
  readonly values: Map<string, unknown>;
  readonly where: Map<string, string>;
}

/** Parses the YAML text of the file `name` and flattens it; errors name the file, the line and the key. */
export function flattenConfigFile(text: string, name: string): Result<ConfFileValues> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const syntax = doc.errors[0];
  if (syntax !== undefined) return err("InvalidArgument", `${name}: not valid YAML: ${syntax.message.split("\n")[0] ?? ""}`);
  const root = doc.contents;
  const state: Walk = { doc, lines, name, values: new Map(), where: new Map() };
  if (root === null || (isScalar(root) && root.value === null)) return ok(state);
  if (!isMap(root)) return err("InvalidArgument", `${name}: expected a map of configuration keys at the top level`);
  const walked = walk(root, "", state);
  return walked.ok ? ok(state) : walked;
}

function walk(node: YAMLMap, prefix: string, state: Walk): Result<null> {
  for (const pair of node.items) {
    const keyNode = pair.key;
    const rawKey = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const offset = isNode(keyNode) ? keyNode.range?.[0] : undefined;
    const at = offset === undefined ? state.name : `${state.name}:${state.lines.linePos(offset).line}`;
    // Keys are case-insensitive in Liftbridge (viper lower-cases them).
    const key = (prefix === "" ? "" : prefix + ".") + rawKey.trim().toLowerCase();
    const known = keySpec(key) !== undefined;
    const section = isKeyPrefix(key);
    const value = pair.value;
    const empty = value === null || (isScalar(value) && value.value === null);
    if (empty && (known || section)) continue; // `tls:` with nothing under it sets nothing
    // Early names' sections too (`log:`), so that their keys get the "called ... today" hint.
    if (isMap(value) && (section || isLegacyPrefix(key))) {
      const inner = walk(value, key, state);
      if (!inner.ok) return inner;
      continue;
    }
    if (!known) return err("InvalidArgument", `${at}: unknown configuration key "${key}"${legacyHint(key) ?? suggestKey(key)}`);
    if (state.values.has(key)) return err("InvalidArgument", `${at}: configuration key "${key}" is given more than once (first at ${state.where.get(key)})`);
    state.values.set(key, isNode(value) ? value.toJS(state.doc) : value);
    state.where.set(key, at);
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
