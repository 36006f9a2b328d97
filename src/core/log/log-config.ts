// Per-log configuration, with Liftbridge's keys in camelCase and units last.
import type { Crc32c } from "../crc32c.js";
import type { Result } from "../errors.js";
import { err, ok } from "../errors.js";

/** `streams.sync.policy`: when appended bytes are made durable. */
export type SyncPolicy = "always" | "interval" | "never";

/** Everything a CommitLog needs to know about its limits and durability. */
export interface LogConfig {
  /** `streams.segment.max.bytes`: roll the active segment before it would exceed this. */
  readonly segmentMaxBytes: number;
  /** `streams.segment.max.age`: roll a non-empty active segment this old (0 = never). */
  readonly segmentMaxAgeMs: number;
  /** `streams.retention.max.bytes` (0 = unlimited). */
  readonly retentionMaxBytes: number;
  /** `streams.retention.max.messages` (0 = unlimited). */
  readonly retentionMaxMessages: number;
  /** `streams.retention.max.age` (0 = no age limit). */
  readonly retentionMaxAgeMs: number;
  /** `streams.compact.enabled`. */
  readonly compactEnabled: boolean;
  /** `streams.sync.policy`. */
  readonly syncPolicy: SyncPolicy;
  /** Largest message (spec §6.3 bytes) appendAsLeader accepts. */
  readonly maxMessageBytes: number;
  /** CRC-32C implementation; the pure-JS one when absent. */
  readonly crc32c?: Crc32c;
  /** Planted bug (test only): recovery cuts the log at the first bad record anywhere, as it once did. */
  readonly truncateBeforeRecoveryPoint?: boolean;
  /** Record bytes one compaction step reads (more only for one larger record); default COMPACTION_STEP_BYTES. */
  readonly compactionStepBytes?: number;
  /** Planted bug (test only): a read's DiskError is thrown out of the log (the old crash) instead of returned. */
  readonly readErrorThrows?: boolean;
}

/** Liftbridge's defaults (retention 168h, segment 256 MiB), with sync policy `always`. */
export const DEFAULT_LOG_CONFIG: LogConfig = {
  segmentMaxBytes: 268_435_456,
  segmentMaxAgeMs: 168 * 3600 * 1000,
  retentionMaxBytes: 0,
  retentionMaxMessages: 0,
  retentionMaxAgeMs: 168 * 3600 * 1000,
  compactEnabled: false,
  syncPolicy: "always",
  maxMessageBytes: 1_048_576,
};

// Index positions are int32 (spec §6.4), so a segment must stay below 2 GiB.
const MAX_SEGMENT_BYTES = 0x7fffffff;

/** Checks a LogConfig from user input; InvalidArgument names the first bad field. */
export function validateLogConfig(config: LogConfig): Result<LogConfig> {
  const ints: [keyof LogConfig, number, number][] = [
    ["segmentMaxBytes", 64, MAX_SEGMENT_BYTES],
    ["segmentMaxAgeMs", 0, Number.MAX_SAFE_INTEGER],
    ["retentionMaxBytes", 0, Number.MAX_SAFE_INTEGER],
    ["retentionMaxMessages", 0, Number.MAX_SAFE_INTEGER],
    ["retentionMaxAgeMs", 0, Number.MAX_SAFE_INTEGER],
    ["maxMessageBytes", 16, MAX_SEGMENT_BYTES - 28],
  ];
  for (const [field, min, max] of ints) {
    const v = config[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
      return err("InvalidArgument", `log config ${field} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  }
  if (!["always", "interval", "never"].includes(config.syncPolicy)) {
    return err("InvalidArgument", `log config syncPolicy must be always, interval or never, got ${String(config.syncPolicy)}`);
  }
  return ok(config);
}
