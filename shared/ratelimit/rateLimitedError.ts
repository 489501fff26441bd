import { GatewayError, type ErrorCode } from '../errors';

/**
 * `rate_limited` (429, `rate_limit_error`) belongs in shared/errors/errorCodes.ts; until it is
 * there the status is passed explicitly, so the constructor never reads the missing table row.
 */
export const RATE_LIMITED = 'rate_limited' as ErrorCode;

export type RateLimitName = 'rpm_limit' | 'tpm_limit';

/** The 429 for a key over its limit. `retryAfterSeconds` is omitted when waiting cannot help. */
export function rateLimitedError(
  message: string,
  options: { limit?: RateLimitName; retryAfterSeconds?: number; headers?: Record<string, string> },
): GatewayError {
  return new GatewayError(RATE_LIMITED, message, {
    status: 429,
    ...(options.limit ? { details: { limit: options.limit } } : {}),
    headers: {
      ...options.headers,
      ...(options.retryAfterSeconds === undefined ? {} : { 'retry-after': String(options.retryAfterSeconds) }),
    },
  });
}
