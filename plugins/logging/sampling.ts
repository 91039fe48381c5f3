import type { RequestOutcome } from '../../src/index.ts';

/** Decides, per request, whether its record is written. */
export type Sampler = (outcome: RequestOutcome) => boolean;

/**
 * Keeps a `rate` share (0–1) of the completed requests, chosen by `random`; every failed,
 * rejected or aborted request is kept when `alwaysLogErrors` is on (they are few, and they are
 * the ones an operator or an auditor looks for). Otherwise they are sampled like the rest.
 *
 * @param random a number in [0, 1) per call; tests pass their own to make sampling deterministic
 * @example
 * ```ts
 * const keep = createSampler(0, true);
 * keep('completed'); // false
 * keep('rejected'); // true
 * ```
 */
export function createSampler(rate: number, alwaysLogErrors: boolean, random: () => number = Math.random): Sampler {
  // The common settings answer without drawing a number.
  const sample = rate >= 1 ? () => true : rate <= 0 ? () => false : () => random() < rate;
  return (outcome) => (outcome !== 'completed' && alwaysLogErrors) || sample();
}
