import { GatewayError, isGatewayError } from '../errors';

export function taskNotFound(id: string): GatewayError {
  return new GatewayError('task_not_found', `no task "${id}"`);
}

export function taskNotCancellable(id: string, status: string): GatewayError {
  return new GatewayError('task_not_cancellable', `task "${id}" is ${status}; only a queued task can be cancelled`, {
    details: { task_status: status },
  });
}

export function taskQueueUnavailable(cause: unknown): GatewayError {
  return new GatewayError('task_queue_unavailable', 'the task queue did not accept the task; retry with the same Idempotency-Key', {
    headers: { 'retry-after': '1' },
    cause,
  });
}

/**
 * The task table could not be reached. The same 503 code as the queue's: to the client the task
 * API is unavailable either way, and retrying with the same Idempotency-Key is safe.
 */
export function taskStoreUnavailable(cause: unknown): GatewayError {
  return new GatewayError('task_queue_unavailable', 'the task store is unavailable, so the task was not accepted; retry with the same Idempotency-Key', {
    headers: { 'retry-after': '1' },
    cause,
  });
}

/**
 * The task table could not be read or written for a list, a read or a cancel: the same 503 as a
 * submit's (the task API is unavailable either way), not a 500, and safe to retry.
 */
export function taskStoreUnreachable(cause: unknown): GatewayError {
  return new GatewayError('task_queue_unavailable', 'the task store is unavailable; retry shortly', {
    headers: { 'retry-after': '1' },
    cause,
  });
}

/** A task-table call whose failure (a refusal, a timeout) is {@link taskStoreUnreachable}; the API's own errors pass. */
export function reachingStore<T>(call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    throw isGatewayError(error) ? error : taskStoreUnreachable(error);
  });
}
