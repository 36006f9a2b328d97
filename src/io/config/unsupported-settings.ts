// No silent settings: every key this broker accepts either works, or is accepted only at a value
// that asks for nothing it lacks (its default, or a value with no effect on a single node), and
// start-up refuses any other value with an error naming the key. Liftbridge's sample configs spell
// defaults out, so a key set to its default must load. docs/configuration.md has the same table.
import { err, ok, type Result } from "../../core/errors.js";
import type { StreamOverrides } from "../../core/metadata/stream-config.js";
import type { ConfigKey, ConfigValue } from "./config-keys.js";

/** A key accepted only at values `accepts` allows; `why` tells the operator what is missing. */
export interface Refusal {
  readonly key: ConfigKey;
  readonly accepts: (value: ConfigValue | undefined, values: ReadonlyMap<ConfigKey, ConfigValue | undefined>) => boolean;
  /** What the accepted values are, for the error message. */
  readonly only: string;
  readonly why: string;
}

const isFalse = (v: ConfigValue | undefined): boolean => v === false;
const isZero = (v: ConfigValue | undefined): boolean => v === 0;
const isMs = (ms: number) => (v: ConfigValue | undefined): boolean => v === ms;
const isEmpty = (v: ConfigValue | undefined): boolean => v === "" || (Array.isArray(v) && v.length === 0);
const atMostOne = (v: ConfigValue | undefined): boolean => typeof v === "number" && v <= 1;

const SINGLE_NODE = "this broker runs as a single node (clustering is not implemented yet)";

/** Every key whose feature is not implemented, with the values that are still accepted. */
export const REFUSED_UNLESS_DEFAULT: readonly Refusal[] = [
  { key: "logging.recovery", accepts: isFalse, only: "false", why: "recovery logging is not implemented" },
  { key: "logging.nats", accepts: isFalse, only: "false", why: "NATS client logging is not implemented" },
  { key: "batch.max.time", accepts: isZero, only: "0", why: "the broker writes each batch as soon as NATS delivers it and never waits to fill one" },
  { key: "tls.client.authz.enabled", accepts: isFalse, only: "false", why: "authorization (casbin) is not implemented" },
  { key: "tls.client.authz.model", accepts: isEmpty, only: '""', why: "authorization (casbin) is not implemented" },
  { key: "tls.client.authz.policy", accepts: isEmpty, only: '""', why: "authorization (casbin) is not implemented" },
  { key: "streams.auto.pause.time", accepts: isZero, only: "0", why: "auto-pause is not implemented" },
  { key: "streams.encryption", accepts: isFalse, only: "false", why: "encryption at rest is not implemented; the broker would store plaintext" },
  { key: "clustering.min.insync.replicas", accepts: atMostOne, only: "1", why: `${SINGLE_NODE}, so no ISR can hold more than one replica` },
  { key: "activity.stream.enabled", accepts: isFalse, only: "false", why: "the activity stream is not implemented" },
  { key: "cursors.stream.partitions", accepts: isZero, only: "0", why: "cursors are not implemented" },
  // Consumer groups have no on/off key: their RPCs answer Unimplemented, and their timeouts are refused.
  { key: "groups.consumer.timeout", accepts: isMs(15_000), only: "15s", why: "consumer groups are not implemented" },
  { key: "groups.coordinator.timeout", accepts: isMs(15_000), only: "15s", why: "consumer groups are not implemented" },
];

/** The error for a setting this broker cannot honour: names the key and says it is not supported yet. */
export function notSupportedYet(name: string, only: string, why: string): string {
  return `${name}: not supported yet (only ${only} is accepted: ${why})`;
}

/** The first key set to a value whose feature is missing, or undefined when every setting can be honoured. */
export function firstRefusal(values: ReadonlyMap<ConfigKey, ConfigValue | undefined>): Refusal | undefined {
  return REFUSED_UNLESS_DEFAULT.find((refusal) => !refusal.accepts(values.get(refusal.key), values));
}

/**
 * Refuses a CreateStream option (proto field name) that asks for a missing feature, by the same
 * rule as the server keys (cleanerInterval is checked by the core, which knows the server's interval).
 */
export function checkSupportedStreamOptions(overrides: StreamOverrides): Result<null> {
  const refuse = (name: string, only: string, why: string): Result<null> => err("InvalidArgument", notSupportedYet(name, only, why));
  if (overrides.encryption === true) return refuse("encryption", "false", "encryption at rest is not implemented; the broker would store plaintext");
  if (overrides.autoPauseTimeMs !== undefined && overrides.autoPauseTimeMs !== 0) return refuse("autoPauseTime", "0", "auto-pause is not implemented");
  if (overrides.minIsr !== undefined && overrides.minIsr > 1) return refuse("minIsr", "1", `${SINGLE_NODE}, so no ISR can hold more than one replica`);
  return ok(null);
}
