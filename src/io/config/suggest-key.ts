// "Did you mean" hints for misspelt configuration keys, so a typo costs one look, not a search.
import { CONFIG_KEYS } from "./config-keys.js";

/** A hint naming the closest known key (or `extra` name) to `key` (" (did you mean "x"?)"), or "" when none is close. */
export function suggestKey(key: string, extra: readonly string[] = []): string {
  let best = "";
  let bestDistance = Math.max(3, Math.floor(key.length / 4)) + 1;
  for (const candidate of [...CONFIG_KEYS.map((spec) => spec.key), ...extra]) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === "" ? "" : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance between two strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
