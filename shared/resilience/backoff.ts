import type { RandomSource } from './clock';

export const JITTER_MODES = { FULL: 'full', EQUAL: 'equal', DECORRELATED: 'decorrelated' } as const;
export type JitterMode = (typeof JITTER_MODES)[keyof typeof JITTER_MODES];

export interface BackoffOptions {
  /** @default 'full' — spreads a fleet's retries evenly; the other modes trade spread for a floor. */
  mode: JitterMode;
  /** First retry's ceiling in ms. */
  baseMs: number;
  /** No delay ever exceeds this, whatever the attempt number. */
  capMs: number;
}

/**
 * The delay before retry number `retry` (0 for the first retry), capped exponential with jitter
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 * `previousMs` is the last delay, used by decorrelated jitter only.
 */
export function backoffDelay(
  retry: number,
  options: BackoffOptions,
  random: RandomSource,
  previousMs?: number,
): number {
  const { mode, baseMs, capMs } = options;
  // 2 ** 30 already passes any sane cap; clamping the exponent keeps the math finite.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(retry, 30));
  switch (mode) {
    case 'full':
      return random() * ceiling;
    case 'equal':
      return ceiling / 2 + random() * (ceiling / 2);
    case 'decorrelated': {
      const previous = previousMs ?? baseMs;
      const upper = Math.max(baseMs, previous * 3);
      return Math.min(capMs, baseMs + random() * (upper - baseMs));
    }
  }
}
