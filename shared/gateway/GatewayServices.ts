import type { CircuitBreakers } from '../breaker/CircuitBreakers';
import type { SpendGuard } from '../budget/SpendGuard';
import type { ResponseCache } from '../cache/ResponseCache';
import type { IdempotentExecutor } from '../idempotency/IdempotentExecutor';
import type { KeyResolver } from '../keys/KeyResolver';
import type { FleetRateLimiter } from '../ratelimit/FleetRateLimiter';
import type { ResponseStore } from '../responses/ResponseStore';
import type { TaskService } from '../tasks/TaskService';

/**
 * The fleet-wide state behind a gateway, one instance each per container. Every one is
 * optional: without a state store (unit and e2e tests of the engine) the gateway still routes,
 * retries and falls back, with per-request behaviour only.
 */
export interface GatewayServices {
  breakers?: CircuitBreakers;
  spend?: SpendGuard;
  idempotency?: IdempotentExecutor;
  cache?: ResponseCache;
  rateLimiter?: FleetRateLimiter;
  keyResolver?: KeyResolver;
  /** Asynchronous tasks over SQS; without it `/v1/tasks` answers 404. */
  tasks?: TaskService;
  /** Stored Responses API answers; without it `store` is off and `previous_response_id` is a 400. */
  responses?: ResponseStore;
}
