// Every configuration key the broker accepts: Liftbridge's keys (spec §5, same spelling, same
// defaults) plus our own `logging.format`, `streams.sync.policy` and `streams.sync.interval`.
// This table is the single source of truth for the YAML file, the environment and the CLI flags.

/** A bind or advertise address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** What a key accepts; every source's raw value is checked against this. */
export type KeyType =
  | { readonly kind: "string" }
  /** A name that becomes part of NATS subjects and paths: no spaces or periods (as Liftbridge checks). */
  | { readonly kind: "name" }
  | { readonly kind: "bool" }
  | { readonly kind: "int"; readonly min: number; readonly max: number }
  | { readonly kind: "duration"; readonly minMs: number }
  | { readonly kind: "list" }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "listen" };

/** A typed configuration value (durations are whole milliseconds). */
export type ConfigValue = string | number | boolean | readonly string[] | HostPort;

/** One configuration key: its type, its default (undefined when derived or absent) and its CLI flag. */
export interface KeySpec {
  readonly key: string;
  readonly type: KeyType;
  readonly default: ConfigValue | undefined;
  /** Long CLI flag name without dashes, when the key has one. */
  readonly flag?: string;
}

const MAX = Number.MAX_SAFE_INTEGER;
const INT32_MAX = 2 ** 31 - 1;
const STR = { kind: "string" } as const;
const BOOL = { kind: "bool" } as const;
const nonNegInt = { kind: "int", min: 0, max: MAX } as const;
const positiveInt = { kind: "int", min: 1, max: MAX } as const;
const anyDuration = { kind: "duration", minMs: 0 } as const;
const positiveDuration = { kind: "duration", minMs: 1 } as const;
const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** Every key, in the order of spec §5 (ours inserted next to their relatives). */
export const CONFIG_KEYS = [
  { key: "listen", type: { kind: "listen" }, default: undefined },
  { key: "host", type: STR, default: undefined },
  { key: "port", type: { kind: "int", min: 0, max: 65535 }, default: 9292, flag: "port" },
  { key: "data.dir", type: STR, default: undefined, flag: "data-dir" },
  { key: "metadata.cache.max.age", type: anyDuration, default: 2 * MINUTE_MS },
  // Ours (resource limits of the gRPC API and graceful stop; Liftbridge has no such keys).
  { key: "grpc.max.connections", type: nonNegInt, default: 4096 },
  { key: "grpc.connection.idle.timeout", type: anyDuration, default: 10 * MINUTE_MS },
  { key: "grpc.keepalive.time", type: anyDuration, default: 2 * MINUTE_MS },
  { key: "grpc.subscriber.max.buffered.bytes", type: { kind: "int", min: 1024, max: MAX }, default: 5 * 512 * 1024 },
  { key: "grpc.subscribers.max.buffered.bytes", type: { kind: "int", min: 1024, max: MAX }, default: 128 * 1024 * 1024 },
  { key: "grpc.subscriber.stall.timeout", type: positiveDuration, default: 30 * SECOND_MS },
  { key: "grpc.publish.async.max.buffered.bytes", type: { kind: "int", min: 1024, max: MAX }, default: 8 * 1024 * 1024 },
  { key: "shutdown.timeout", type: positiveDuration, default: 10 * SECOND_MS },
  { key: "logging.level", type: { kind: "enum", values: ["debug", "info", "warn", "error"] }, default: "info", flag: "level" },
  { key: "logging.format", type: { kind: "enum", values: ["json", "pretty"] }, default: "json", flag: "log-format" },
  { key: "logging.recovery", type: BOOL, default: false },
  { key: "logging.raft", type: BOOL, default: false },
  { key: "logging.nats", type: BOOL, default: false },
  { key: "batch.max.messages", type: positiveInt, default: 1024 },
  { key: "batch.max.time", type: anyDuration, default: 0 },
  { key: "tls.key", type: STR, default: "", flag: "tls-key" },
  { key: "tls.cert", type: STR, default: "", flag: "tls-cert" },
  { key: "tls.client.auth.enabled", type: BOOL, default: false },
  { key: "tls.client.auth.ca", type: STR, default: "" },
  { key: "tls.client.authz.enabled", type: BOOL, default: false },
  { key: "tls.client.authz.model", type: STR, default: "" },
  { key: "tls.client.authz.policy", type: STR, default: "" },
  { key: "nats.servers", type: { kind: "list" }, default: ["nats://127.0.0.1:4222"], flag: "nats-servers" },
  { key: "nats.user", type: STR, default: "" },
  { key: "nats.password", type: STR, default: "" },
  { key: "nats.tls.cert", type: STR, default: "" },
  { key: "nats.tls.key", type: STR, default: "" },
  { key: "nats.tls.ca", type: STR, default: "" },
  { key: "nats.embedded", type: BOOL, default: false, flag: "embedded-nats" },
  { key: "nats.embedded.config", type: STR, default: "", flag: "embedded-nats-config" },
  { key: "streams.retention.max.bytes", type: nonNegInt, default: 0 },
  { key: "streams.retention.max.messages", type: nonNegInt, default: 0 },
  { key: "streams.retention.max.age", type: anyDuration, default: 168 * HOUR_MS },
  { key: "streams.cleaner.interval", type: positiveDuration, default: 5 * MINUTE_MS },
  { key: "streams.segment.max.bytes", type: positiveInt, default: 268435456 },
  { key: "streams.segment.max.age", type: anyDuration, default: undefined },
  { key: "streams.compact.enabled", type: BOOL, default: false },
  { key: "streams.compact.max.goroutines", type: positiveInt, default: 10 },
  { key: "streams.auto.pause.time", type: anyDuration, default: 0 },
  { key: "streams.auto.pause.disable.if.subscribers", type: BOOL, default: false },
  { key: "streams.concurrency.control", type: BOOL, default: false },
  { key: "streams.encryption", type: BOOL, default: false },
  { key: "streams.sync.policy", type: { kind: "enum", values: ["always", "interval", "never"] }, default: "always" },
  { key: "streams.sync.interval", type: positiveDuration, default: SECOND_MS },
  { key: "clustering.server.id", type: { kind: "name" }, default: undefined, flag: "server-id" },
  { key: "clustering.namespace", type: { kind: "name" }, default: "liftbridge-default", flag: "namespace" },
  { key: "clustering.raft.snapshot.retain", type: positiveInt, default: 2 },
  { key: "clustering.raft.snapshot.threshold", type: nonNegInt, default: 8192 },
  { key: "clustering.raft.cache.size", type: nonNegInt, default: 512 },
  { key: "clustering.raft.bootstrap.seed", type: BOOL, default: false, flag: "raft-bootstrap-seed" },
  { key: "clustering.raft.bootstrap.peers", type: { kind: "list" }, default: [], flag: "raft-bootstrap-peers" },
  { key: "clustering.raft.max.quorum.size", type: nonNegInt, default: 0 },
  { key: "clustering.replica.max.lag.time", type: positiveDuration, default: 15 * SECOND_MS },
  { key: "clustering.replica.max.leader.timeout", type: positiveDuration, default: 15 * SECOND_MS },
  { key: "clustering.replica.max.idle.wait", type: positiveDuration, default: 10 * SECOND_MS },
  { key: "clustering.replica.fetch.timeout", type: positiveDuration, default: 3 * SECOND_MS },
  { key: "clustering.min.insync.replicas", type: positiveInt, default: 1 },
  { key: "clustering.replication.max.bytes", type: positiveInt, default: 1048576 },
  { key: "activity.stream.enabled", type: BOOL, default: false },
  { key: "activity.stream.publish.timeout", type: positiveDuration, default: 5 * SECOND_MS },
  { key: "activity.stream.publish.ack.policy", type: { kind: "enum", values: ["none", "leader", "all"] }, default: "all" },
  { key: "cursors.stream.partitions", type: { kind: "int", min: 0, max: INT32_MAX }, default: 0 },
  { key: "cursors.stream.replication.factor", type: { kind: "int", min: -1, max: INT32_MAX }, default: -1 },
  { key: "cursors.stream.auto.pause.time", type: anyDuration, default: MINUTE_MS },
  { key: "groups.consumer.timeout", type: positiveDuration, default: 15 * SECOND_MS },
  { key: "groups.coordinator.timeout", type: positiveDuration, default: 15 * SECOND_MS },
  // Accepted so Liftbridge config files load unchanged; this broker sends no telemetry.
  { key: "telemetry.enabled", type: BOOL, default: true },
  { key: "telemetry.interval.seconds", type: positiveInt, default: 86400 },
] as const satisfies readonly KeySpec[];

/** A configuration key, spelled as in Liftbridge's YAML. */
export type ConfigKey = (typeof CONFIG_KEYS)[number]["key"];

const BY_KEY: ReadonlyMap<string, KeySpec> = new Map(CONFIG_KEYS.map((spec) => [spec.key, spec]));

/** The spec of `key` (lower-case dotted), or undefined for an unknown key. */
export function keySpec(key: string): KeySpec | undefined {
  return BY_KEY.get(key);
}

/** True when some key starts with `prefix.` (so a YAML map at `prefix` is a section, not a value). */
export function isKeyPrefix(prefix: string): boolean {
  const dotted = prefix + ".";
  return CONFIG_KEYS.some((spec) => spec.key.startsWith(dotted));
}

/** The environment variable that sets `key`: LIFTBRIDGE_ plus the key upper-cased with dots as underscores. */
export function envNameFor(key: string): string {
  return "LIFTBRIDGE_" + key.toUpperCase().replaceAll(".", "_");
}
