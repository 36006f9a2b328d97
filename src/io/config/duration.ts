// Go's time.ParseDuration syntax ("300ms", "1.5h", "1h30m", "-2s"), as Liftbridge's config files use it.
// Values are computed exactly in nanoseconds (bigint) and then expressed as whole milliseconds,
// the unit the broker works in; a value with a sub-millisecond remainder is refused rather than
// silently rounded, so what the operator wrote is what runs.
import { assert } from "../../core/assert.js";
import { err, ok, type Result } from "../../core/errors.js";

const NS_PER_MS = 1_000_000n;
const MAX_NS = (1n << 63n) - 1n; // Go's Duration is an int64 of nanoseconds.

const UNIT_NS: ReadonlyMap<string, bigint> = new Map([
  ["ns", 1n],
  ["us", 1_000n],
  ["µs", 1_000n], // U+00B5 micro sign
  ["μs", 1_000n], // U+03BC Greek mu
  ["ms", NS_PER_MS],
  ["s", 1_000n * NS_PER_MS],
  ["m", 60_000n * NS_PER_MS],
  ["h", 3_600_000n * NS_PER_MS],
]);

const TERM = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;

/** Parses a Go duration string into nanoseconds, with Go's rules (a unit is required except for "0"). */
export function parseGoDurationNs(text: string): Result<bigint> {
  const bad = (why: string): Result<bigint> =>
    err("InvalidArgument", `invalid duration ${JSON.stringify(text)}: ${why} (use Go syntax such as 300ms, 15s, 1h30m)`);
  let rest = text.trim();
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return ok(0n);
  if (rest === "") return bad("empty");
  let totalNs = 0n;
  while (rest !== "") {
    const m = TERM.exec(rest);
    const whole = m?.[1] ?? "";
    const frac = m?.[2] ?? "";
    const unit = m?.[3] ?? "";
    if (m === null && /^\d*(\.\d*)?$/.test(rest)) return bad("missing unit");
    if (m === null || (whole === "" && frac === "")) return bad("expected a number followed by a unit");
    const unitNs = UNIT_NS.get(unit);
    if (unitNs === undefined) return bad(`unknown unit ${JSON.stringify(unit)} (units: ns, us, ms, s, m, h)`);
    const scale = 10n ** BigInt(frac.length);
    // Like Go, the fractional part is truncated to whole nanoseconds.
    totalNs += BigInt(whole === "" ? "0" : whole) * unitNs + (BigInt(frac === "" ? "0" : frac) * unitNs) / scale;
    if (totalNs > MAX_NS) return bad("out of range");
    rest = rest.slice(m[0].length);
  }
  return ok(negative ? -totalNs : totalNs);
}

/** Parses a Go duration string into whole milliseconds; sub-millisecond remainders are an error. */
export function parseGoDuration(text: string): Result<number> {
  const ns = parseGoDurationNs(text);
  if (!ns.ok) return ns;
  if (ns.value % NS_PER_MS !== 0n) {
    return err("InvalidArgument", `invalid duration ${JSON.stringify(text)}: must be a whole number of milliseconds`);
  }
  const ms = ns.value / NS_PER_MS;
  return ok(Number(ms)); // |ms| <= 2^63 / 1e6 < 2^53, so exact.
}

/** Formats whole milliseconds the way Go's Duration.String does ("1h30m0s", "300ms", "1.5s", "0s"). */
export function formatGoDuration(ms: number): string {
  assert(Number.isSafeInteger(ms), `duration must be a safe integer of ms, got ${ms}`);
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${abs}ms`;
  const hours = Math.floor(abs / 3_600_000);
  const minutes = Math.floor((abs % 3_600_000) / 60_000);
  const millis = abs % 60_000;
  const seconds = `${Math.floor(millis / 1000)}${millis % 1000 === 0 ? "" : "." + String(millis % 1000).padStart(3, "0").replace(/0+$/, "")}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}
