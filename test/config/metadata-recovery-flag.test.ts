// --metadata-recovery: a flag only (no key, no environment variable), in either dash style.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCliFlags } from "../../src/io/config/cli-flags.js";
import { loadConfig } from "../../src/io/config/load-config.js";

function recovery(argv: string[], env: Record<string, string> = {}): boolean | string {
  const loaded = loadConfig(argv, env, () => "");
  if (!loaded.ok) return loaded.error.message;
  return loaded.value.kind === "run" ? loaded.value.metadataRecovery : "not run";
}

test("--metadata-recovery is off by default and on when given, with one or two dashes", () => {
  assert.equal(recovery([]), false);
  assert.equal(recovery(["--metadata-recovery"]), true);
  assert.equal(recovery(["-metadata-recovery", "-d", "/tmp/x"]), true);
});

test("--metadata-recovery takes no value and has no environment variable", () => {
  assert.equal(recovery(["--metadata-recovery", "--port", "0"]), true);
  assert.equal(recovery([], { LIFTBRIDGE_METADATA_RECOVERY: "true" }), false);
  const help = parseCliFlags(["--help"], "0");
  assert.ok(help.ok && help.value.kind === "help" && help.value.output.includes("--metadata-recovery"));
});
