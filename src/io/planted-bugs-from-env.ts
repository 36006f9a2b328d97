// The bug bank on the real process: black-box suites start a broker with known mistakes switched on
// (LBTS_PLANTED_BUGS=deleteUnknownStreamDirs,noLeaderErrorAck) to show that they catch them. Not a
// configuration key: it is read only here, and an unknown name refuses to start.
import { PLANTED_BUG_NAMES, type PlantedBugs } from "../core/broker/broker-config.js";

/** The environment variable naming planted bugs (test-only; never set in production). */
export const PLANTED_BUGS_ENV = "LBTS_PLANTED_BUGS";

/** The planted bugs named in `env`, undefined when none; throws on an unknown name. */
export function plantedBugsFromEnv(env: Readonly<Record<string, string | undefined>>): PlantedBugs | undefined {
  const raw = env[PLANTED_BUGS_ENV];
  if (raw === undefined || raw.trim() === "") return undefined;
  const bugs: Record<string, boolean> = {};
  for (const name of raw.split(",").map((n) => n.trim()).filter((n) => n.length > 0)) {
    if (!(PLANTED_BUG_NAMES as readonly string[]).includes(name)) {
      throw new Error(`${PLANTED_BUGS_ENV}: unknown planted bug "${name}" (known: ${PLANTED_BUG_NAMES.join(", ")})`);
    }
    bugs[name] = true;
  }
  return bugs;
}
