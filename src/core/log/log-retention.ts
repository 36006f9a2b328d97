// Retention (spec §6.5): which leading segments to delete by age, message count and bytes. Whole
// segments only, oldest first, and never the active (last) segment.
import type { LogConfig } from "./log-config.js";
import type { Segment } from "./segment.js";

const NS_PER_MS = 1_000_000n;

/** Index of the first segment retention keeps (0 = delete nothing). */
export function retainedFrom(segments: readonly Segment[], config: LogConfig, wallNs: bigint): number {
  const last = segments.length - 1;
  let cut = 0;
  if (config.retentionMaxAgeMs > 0) {
    const oldestKeptNs = wallNs - BigInt(config.retentionMaxAgeMs) * NS_PER_MS;
    while (cut < last) {
      const maxTs = (segments[cut] as Segment).maxTimestampNs;
      if (maxTs !== undefined && maxTs >= oldestKeptNs) break;
      cut++;
    }
  }
  if (config.retentionMaxMessages > 0) cut = Math.max(cut, newestWithin(segments, config.retentionMaxMessages, (s) => s.entries));
  if (config.retentionMaxBytes > 0) cut = Math.max(cut, newestWithin(segments, config.retentionMaxBytes, (s) => s.sizeBytes));
  return Math.min(cut, last);
}

/** Walking from the newest segment, the index of the oldest one that keeps the total <= limit. */
function newestWithin(segments: readonly Segment[], limit: number, measure: (s: Segment) => number): number {
  let total = 0;
  for (let i = segments.length - 1; i >= 0; i--) {
    total += measure(segments[i] as Segment);
    if (total > limit) return i + 1;
  }
  return 0;
}
