import { AsyncLocalStorage } from 'node:async_hooks';
import type { Deadline } from './deadline';

/**
 * The deadline of the request being served, for code that cannot be handed it: the AWS SDK
 * clients under Powertools' idempotency and secrets providers take a client, not per-call
 * options, and the stores below the engine's ports (spend ledger, cache, breaker and key
 * stores) would otherwise all need a deadline parameter. Powertools' logger and metrics
 * already keep their per-request state in AsyncLocalStorage, so its cost is paid anyway.
 */
const scope = new AsyncLocalStorage<Deadline>();

/** Runs `fn` with `deadline` as the current request's deadline (nested calls see the innermost). */
export function runWithDeadline<T>(deadline: Deadline, fn: () => T): T {
  return scope.run(deadline, fn);
}

/** The deadline of the request this code runs for; undefined outside one (start-up, CLI, tests). */
export function currentDeadline(): Deadline | undefined {
  return scope.getStore();
}
