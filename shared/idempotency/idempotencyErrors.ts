import { GatewayError } from '../errors';

/** The header, as the IETF draft (draft-ietf-httpapi-idempotency-key-header) spells it. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/**
 * - `idempotency_key_reused`: same key, different request: the client has a bug; retrying will not help.
 * - `idempotency_in_progress`: the first request with this key is still running; retry after a moment.
 * - `idempotency_unavailable`: the record store did not answer: at-most-once cannot be promised, so refuse.
 */
export type IdempotencyErrorCode = 'idempotency_key_reused' | 'idempotency_in_progress' | 'idempotency_unavailable';

export function idempotencyError(
  code: IdempotencyErrorCode,
  message: string,
  options: { headers?: Record<string, string>; cause?: unknown } = {},
): GatewayError {
  return new GatewayError(code, message, {
    details: { param: IDEMPOTENCY_KEY_HEADER },
    headers: options.headers,
    cause: options.cause,
  });
}
