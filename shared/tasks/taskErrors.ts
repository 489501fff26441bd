import { ERROR_CODES, GatewayError, type ErrorCode } from '../errors';

/**
 * The task codes belong in shared/errors/errorCodes.ts; until they are there, each falls back
 * to an existing code with the same HTTP status so the wire stays well-formed (a code missing
 * from the table would have no status or type).
 */
function codeOr(preferred: string, fallback: ErrorCode): ErrorCode {
  return (preferred in ERROR_CODES ? preferred : fallback) as ErrorCode;
}

export function taskNotFound(id: string): GatewayError {
  return new GatewayError(codeOr('task_not_found', 'unknown_route'), `no task "${id}"`, { status: 404 });
}

export function taskNotCancellable(id: string, status: string): GatewayError {
  return new GatewayError(codeOr('task_not_cancellable', 'invalid_request'), `task "${id}" is ${status}; only a queued task can be cancelled`, {
    status: 409,
    details: { task_status: status },
  });
}

export function taskQueueUnavailable(cause: unknown): GatewayError {
  return new GatewayError(codeOr('task_queue_unavailable', 'internal_error'), 'the task queue did not accept the task; retry with the same Idempotency-Key', {
    status: 503,
    headers: { 'retry-after': '1' },
    cause,
  });
}
