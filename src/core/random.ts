/**
 * Injected randomness: integer-only and labelled, so a run is a function of its seed and a replay
 * can name the first draw that diverged.
 */
export interface Random {
  /** A uniform integer in [0, maxExclusive); `label` names the purpose of the draw. */
  int(label: string, maxExclusive: number): number;
  /** True with probability numerator / denominator. */
  chance(label: string, numerator: number, denominator: number): boolean;
}
