import { GatewayError, type ErrorCode } from '../errors';

/** The header, as the IETF draft (draft-ietf-httpapi-idempotency-key-header) spells it. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/**
 * The codes this area adds to `ERROR_CODES`, with their statuses. The status is passed
 * explicitly so the errors carry the right status even before the codes are in the table.
 */
export const IDEMPOTENCY_ERROR_STATUSES = {
  /** Same key, different request: the client has a bug; retrying will not help. */
  idempotency_key_reused: 422,
  /** The first request with this key is still running; retry after a moment. */
  idempotency_in_progress: 409,
  /** The record store did not answer: we cannot promise at-most-once, so we refuse. */
  idempotency_unavailable: 503,
} as const;

export type IdempotencyErrorCode = keyof typeof IDEMPOTENCY_ERROR_STATUSES;

export function idempotencyError(
  code: IdempotencyErrorCode,
  message: string,
  options: { headers?: Record<string, string>; cause?: unknown } = {},
): GatewayError {
  // The cast goes once these codes are in shared/errors/errorCodes.ts.
  return new GatewayError(code as ErrorCode, message, {
    status: IDEMPOTENCY_ERROR_STATUSES[code],
    details: { param: IDEMPOTENCY_KEY_HEADER },
    headers: options.headers,
    cause: options.cause,
  });
}
