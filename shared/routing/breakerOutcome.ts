import type { BreakerOutcome } from '../breaker/state';
import type { UpstreamOutcome } from '../providers/types';

/**
 * What an upstream attempt means for the target's breaker. Only the target's own trouble
 * counts: a client's 4xx or a missing credential says nothing about the target's health, and a
 * timeout cut short by the request's own deadline is the request's doing, not the target's.
 * A 429 is a cooldown until Retry-After, not a failure.
 */
export function breakerOutcomeOf(
  outcome: UpstreamOutcome<unknown>,
  options: { retryAfterMs?: number; truncatedByDeadline: boolean },
): BreakerOutcome {
  switch (outcome.kind) {
    case 'success':
      return { kind: 'success' };
    case 'http_error':
      if (outcome.status === 429) return { kind: 'throttled', retryAfterMs: options.retryAfterMs };
      if (outcome.status >= 500 || outcome.status < 400 || [408, 425].includes(outcome.status)) return { kind: 'failure' };
      return { kind: 'ignored' };
    case 'timeout':
      return options.truncatedByDeadline ? { kind: 'ignored' } : { kind: 'failure' };
    case 'network_error':
    case 'malformed':
      return { kind: 'failure' };
    case 'unavailable':
    case 'unsupported':
      return { kind: 'ignored' };
  }
}
