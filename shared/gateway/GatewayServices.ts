import type { AdminStores } from '../admin/AdminStores';
import type { CircuitBreakers } from '../breaker/CircuitBreakers';
import type { SpendGuard } from '../budget/SpendGuard';
import type { ResponseCache } from '../cache/ResponseCache';
import type { IdempotentExecutor } from '../idempotency/IdempotentExecutor';
import type { KeyResolver } from '../keys/KeyResolver';
import type { FleetRateLimiter } from '../ratelimit/FleetRateLimiter';
import type { ResponseStore } from '../responses/ResponseStore';
import type { TaskService } from '../tasks/TaskService';
import type { DynamoApprovalStore } from '../tools/approvals';
import type { LoopGuard, StaleResponseStore, ToolRateGate } from '../tools/types';
import type { Connections } from '../tools/connections/Connections';
import type { ToolCallQuota } from '../tools/quota';

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
  /** Loop detection across the fleet, for tool calls and for LLM requests that repeat a tool call and its result. */
  loopGuard?: LoopGuard;
  /** Tool proxy: the fleet-wide token bucket per service and credential. */
  toolRateGate?: ToolRateGate;
  /** Tool proxy: last good GET answers, served stale while a service's breaker is open. */
  staleResponses?: StaleResponseStore;
  /** Tool calls held for a person's approval; without it a `high_stakes` rule answers 503. */
  approvalStore?: DynamoApprovalStore;
  /** End users' OAuth connections (`/v1/connections`) and their tokens for `oauth_user` services. */
  connections?: Connections;
  /** `daily_tool_calls` counters across the fleet; without it tool calls have no daily quota. */
  toolQuota?: ToolCallQuota;
  /** What the admin API (`/v1/admin/...`) reads and changes; without it those routes answer 404. */
  admin?: AdminStores;
}
