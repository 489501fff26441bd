import { GatewayError } from '../errors';

export const RATE_LIMITED = 'rate_limited';

export type RateLimitName = 'rpm_limit' | 'tpm_limit';

/** The 429 for a key over its limit. `retryAfterSeconds` is omitted when waiting cannot help. */
export function rateLimitedError(
  message: string,
  options: { limit?: RateLimitName; retryAfterSeconds?: number; headers?: Record<string, string> },
): GatewayError {
  return new GatewayError(RATE_LIMITED, message, {
    ...(options.limit ? { details: { limit: options.limit } } : {}),
    headers: {
      ...options.headers,
      ...(options.retryAfterSeconds === undefined ? {} : { 'retry-after': String(options.retryAfterSeconds) }),
    },
  });
}
