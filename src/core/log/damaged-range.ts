// Offsets a log holds but cannot serve: durable data found damaged by recovery (corrupt bytes
// before the recovery point, a missing segment file). They stay on disk; readers that reach them
// get CorruptRecord, and their offsets are never given to new records.

/** Offsets [from, to) that are unreadable, and why. */
export interface DamagedRange {
  readonly from: number;
  readonly to: number;
  readonly reason: string;
}

/** The range holding `offset`, if any. */
export function damagedRangeAt(ranges: readonly DamagedRange[], offset: number): DamagedRange | undefined {
  return ranges.find((r) => r.from <= offset && offset < r.to);
}

/** The first offset of the first range starting after `offset`, or Infinity. */
export function nextDamagedFrom(ranges: readonly DamagedRange[], offset: number): number {
  let next = Infinity;
  for (const r of ranges) if (r.from > offset && r.from < next) next = r.from;
  return next;
}

/** The ranges clipped to [from, to), dropping the empty ones. */
export function clipDamagedRanges(ranges: readonly DamagedRange[], from: number, to: number): DamagedRange[] {
  return ranges.map((r) => ({ ...r, from: Math.max(r.from, from), to: Math.min(r.to, to) })).filter((r) => r.from < r.to);
}
