import { AsyncLocalStorage } from 'node:async_hooks';
import type { Deadline } from './deadline';

/**
 * The deadline of the request being served, for code that cannot be handed it: the AWS SDK
 * client under Powertools' secrets provider takes a client, not per-call options, and the stores
 * below the engine's ports (spend ledger, cache, breaker and rate-limit stores) would otherwise
 * all need a deadline parameter.
 *
 * It has a cost: Powertools keeps its state in AsyncLocalStorage only in Lambda's
 * multi-concurrency mode, so this scope is what turns Node 20's promise hooks on, for every
 * promise of the process. Measured on `npm run bench` (tenant without caps): ~0.05 ms of CPU
 * and of p50 per request. Where the deadline can be passed, it is instead (the key look-up and
 * the idempotency claim: `untilDeadline` in shared/stores/boundedCalls.ts).
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
