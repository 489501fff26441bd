import { isGatewayError } from '../errors';
import type { Redelivery } from '../queue/redelivery';
import { MAX_MESSAGE_DELAY_SECONDS } from '../queue/redeliveryDelay';
import { parseRetryAfter } from '../resilience/retryAfter';
import type { TaskError } from './Task';

/**
 * 4xx codes that are transient all the same: the per-key rate limit resets within a minute.
 * Every other 4xx is the request's own fault (validation, auth, a model the key may not use,
 * a request over its cost limit) and fails the task at once.
 */
const TRANSIENT_CLIENT_STATUSES: ReadonlySet<number> = new Set([408, 409, 425, 429]);

/** 429s that no wait within a task's life fixes: the tenant's budget is spent for the window. */
const PERMANENT_CODES: ReadonlySet<string> = new Set(['budget_exceeded', 'request_cost_exceeds_limit']);

export type FailureKind = 'permanent' | 'transient';

/** A GatewayError with a 4xx status (bar the few above) is permanent; anything else is transient. */
export function classifyTaskFailure(error: unknown): FailureKind {
  if (!isGatewayError(error)) return 'transient';
  if (PERMANENT_CODES.has(error.code)) return 'permanent';
  if (error.status >= 400 && error.status < 500 && !TRANSIENT_CLIENT_STATUSES.has(error.status)) return 'permanent';
  return 'transient';
}

/** What the task shows: a GatewayError's code and message; anything else, nothing it could leak. */
export function taskErrorOf(error: unknown): TaskError {
  if (isGatewayError(error)) return { code: error.code, message: error.message };
  return { code: 'internal_error', message: `the worker failed unexpectedly (${(error as Error | undefined)?.name ?? 'unknown error'})` };
}

export interface FailureContext {
  /** The message's `ApproximateReceiveCount` on this delivery. */
  receiveCount: number;
  /** The queue's redrive policy: the receive after this one goes to the DLQ. */
  maxReceiveCount: number;
  /** How often this message was deferred already. */
  deferrals: number;
  maxDeferrals: number;
  now: number;
}

export type FailurePlan =
  | { kind: 'fail'; error: TaskError }
  | { kind: 'dead_letter'; error: TaskError }
  | { kind: 'retry'; error: TaskError; redelivery: Redelivery };

/**
 * What a failed run leads to:
 * - permanent → the task fails now; the message is deleted.
 * - transient with a `Retry-After` (an open circuit until its half-open time, a rate-limit
 *   reset) → deferred by that much without using up a receive, while the wait fits one SQS
 *   message delay and the deferrals are not exhausted; otherwise the delivery is held back by
 *   that much.
 * - transient on the last receive (and not deferred) → the task is dead-lettered and the
 *   message left to SQS's redrive policy.
 * - transient otherwise → jittered backoff from the receive count.
 */
export function planFailure(error: unknown, context: FailureContext): FailurePlan {
  const taskError = taskErrorOf(error);
  if (classifyTaskFailure(error) === 'permanent') return { kind: 'fail', error: taskError };

  const retryAfterMs = isGatewayError(error) && error.headers ? parseRetryAfter(error.headers, context.now) : undefined;
  if (retryAfterMs !== undefined && retryAfterMs > 0) {
    if (retryAfterMs <= MAX_MESSAGE_DELAY_SECONDS * 1000 && context.deferrals < context.maxDeferrals) {
      return { kind: 'retry', error: taskError, redelivery: { kind: 'defer', delayMs: retryAfterMs } };
    }
    if (context.receiveCount < context.maxReceiveCount) {
      return { kind: 'retry', error: taskError, redelivery: { kind: 'delay', delayMs: retryAfterMs } };
    }
  }
  if (context.receiveCount >= context.maxReceiveCount) return { kind: 'dead_letter', error: taskError };
  return { kind: 'retry', error: taskError, redelivery: { kind: 'backoff' } };
}
