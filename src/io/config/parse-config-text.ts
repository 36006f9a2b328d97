// Which format a config file is in. Decision (docs/configuration.md, "Early Liftbridge's .conf
// files"): a file is read as YAML when it is a valid YAML configuration, else in early Liftbridge's
// NATS format. By content, not by name: liftbridge.conf was the early name, but deployments kept
// the name for YAML files long after (`--config /etc/liftbridge.conf`), and the two formats never
// both accept a file with blocks or early key names.
import { parse } from "yaml";
import { err, ok, type Result } from "../../core/errors.js";
import { parseConf } from "../embedded-nats/conf-parser.js";
import { flattenConfigFile } from "./flatten-config-file.js";
import { flattenNatsConf, type ConfFileValues } from "./flatten-nats-conf.js";

/** The formats a config file can be in. */
export type ConfigFileFormat = "yaml" | "nats";

/** A config file's raw values by today's key, where each came from, and the format it was read in. */
export interface ConfigFileContent extends ConfFileValues {
  readonly format: ConfigFileFormat;
}

/** Reads `text` (the file `path`) as YAML or, failing that, in the NATS format; errors name the file. */
export function parseConfigText(text: string, path: string): Result<ConfigFileContent> {
  const yaml = flattenConfigFile(text, path);
  if (yaml.ok) return ok({ format: "yaml", ...yaml.value });
  const nats = flattenNatsConf(text, path);
  if (nats.ok) return ok({ format: "nats", ...nats.value });
  return err("InvalidArgument", `config file ${(looksNats(text, path) ? nats : yaml).error.message}`);
}

/** When neither format reads a file, whose error to show: the NATS format's (it names the line) where the file can be one. */
function looksNats(text: string, path: string): boolean {
  if (path.endsWith(".conf")) return true;
  if (path.endsWith(".yaml") || path.endsWith(".yml")) return false;
  try {
    if (Array.isArray(parse(text))) return false; // a YAML list: "expected a map" says it best
  } catch {
    // not YAML at all
  }
  return parseConf(text).ok;
}
