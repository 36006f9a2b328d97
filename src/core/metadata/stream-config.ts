// Per-stream settings: CreateStreamRequest's Nullable* overrides (durations in milliseconds, as on
// Liftbridge's wire) resolved against the server's `streams.*` defaults.

/** The server-wide defaults a stream inherits (Liftbridge's `streams.*` keys, units last). */
export interface StreamDefaults {
  readonly retentionMaxBytes: number;
  readonly retentionMaxMessages: number;
  readonly retentionMaxAgeMs: number;
  readonly cleanerIntervalMs: number;
  readonly segmentMaxBytes: number;
  readonly segmentMaxAgeMs: number;
  readonly compactEnabled: boolean;
  readonly compactMaxGoroutines: number;
  readonly autoPauseTimeMs: number;
  readonly autoPauseDisableIfSubscribers: boolean;
  readonly minIsr: number;
  readonly optimisticConcurrencyControl: boolean;
  readonly encryption: boolean;
}

/** What a CreateStream request overrides; an absent field means "use the server default". */
export type StreamOverrides = { readonly [K in keyof StreamDefaults]?: StreamDefaults[K] };

/** The effective settings of one stream. */
export type StreamSettings = StreamDefaults;

/** Liftbridge's defaults (spec §5), used when the server configuration says nothing. */
export const LIFTBRIDGE_STREAM_DEFAULTS: StreamDefaults = Object.freeze({
  retentionMaxBytes: 0,
  retentionMaxMessages: 0,
  retentionMaxAgeMs: 168 * 3600 * 1000,
  cleanerIntervalMs: 5 * 60 * 1000,
  segmentMaxBytes: 268435456,
  segmentMaxAgeMs: 168 * 3600 * 1000,
  compactEnabled: false,
  compactMaxGoroutines: 10,
  autoPauseTimeMs: 0,
  autoPauseDisableIfSubscribers: false,
  minIsr: 1,
  optimisticConcurrencyControl: false,
  encryption: false,
});

/** Resolves a stream's overrides against the server defaults. */
export function resolveStreamSettings(defaults: StreamDefaults, overrides: StreamOverrides): StreamSettings {
  return { ...defaults, ...stripUndefined(overrides) };
}

function stripUndefined(o: StreamOverrides): StreamOverrides {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
