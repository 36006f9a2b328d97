// Early Liftbridge's configuration keys (its NATS-format `liftbridge.conf`, before v1.0.0 moved to
// YAML) and today's key each one became, from Liftbridge's server/config.go and
// documentation/configuration.md of those versions. Keys that kept their name (`listen`,
// `clustering.server.id`, `nats.servers`...) need no entry. docs/configuration.md has the same table.
import type { ConfigKey } from "./config-keys.js";

/** An early key: today's key it sets, or why it is refused when nothing replaced it. */
export type LegacyKey =
  | { readonly old: string; readonly key: ConfigKey; readonly convert?: (raw: unknown) => unknown }
  | { readonly old: string; readonly removed: string };

/** Early Liftbridge allowed -1 for "no limit" on log retention, where today's keys say 0. */
const minusOneIsNoLimit = (raw: unknown): unknown => (raw === -1 || raw === "-1" ? 0 : raw);

/** Every renamed or removed key of early Liftbridge, flattened with dots as today's keys are. */
export const LEGACY_KEYS: readonly LegacyKey[] = [
  { old: "data.path", key: "data.dir" },
  { old: "log.level", key: "logging.level" },
  { old: "log.recovery", key: "logging.recovery" },
  { old: "clustering.raft.logging", key: "logging.raft" },
  { old: "batch.wait.time", key: "batch.max.time" },
  { old: "tls.client.auth", key: "tls.client.auth.enabled" },
  { old: "log.retention.max.bytes", key: "streams.retention.max.bytes", convert: minusOneIsNoLimit },
  { old: "log.retention.max.messages", key: "streams.retention.max.messages", convert: minusOneIsNoLimit },
  { old: "log.retention.max.age", key: "streams.retention.max.age" },
  { old: "log.cleaner.interval", key: "streams.cleaner.interval" },
  { old: "log.segment.max.bytes", key: "streams.segment.max.bytes" },
  { old: "log.log.roll.time", key: "streams.segment.max.age" },
  { old: "log.compact", key: "streams.compact.enabled" },
  { old: "log.compact.max.goroutines", key: "streams.compact.max.goroutines" },
  { old: "clustering.raft.bootstrap", key: "clustering.raft.bootstrap.seed" },
  { old: "clustering.raft.snapshots", key: "clustering.raft.snapshot.retain" },
  {
    old: "clustering.replica.fetch.interval",
    removed: "Liftbridge dropped it before v1.0.0: followers fetch as soon as an answer arrives, waiting at most clustering.replica.max.idle.wait when caught up",
  },
];

const BY_OLD: ReadonlyMap<string, LegacyKey> = new Map(LEGACY_KEYS.map((entry) => [entry.old, entry]));

/** The early key `old` (lower-case dotted), or undefined when it is not an early key. */
export function legacyKey(old: string): LegacyKey | undefined {
  return BY_OLD.get(old);
}

/** True when some early key starts with `prefix.` (so a block at `prefix` is a section). */
export function isLegacyPrefix(prefix: string): boolean {
  const dotted = prefix + ".";
  return LEGACY_KEYS.some((entry) => entry.old.startsWith(dotted));
}
