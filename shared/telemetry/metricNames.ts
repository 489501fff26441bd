/**
 * The names of the functions' own CloudWatch metrics (EMF through Powertools) and of their
 * dimensions: one table that the code writing them and the alarms and dashboard reading them
 * (lib/) share, so a renamed metric cannot leave an alarm watching nothing.
 */
export const REQUEST_METRICS = {
  /** One per gateway request (the operator console, its API and /health not counted). */
  REQUESTS: 'Requests',
  /** 1 for a request that failed, 0 otherwise: the average is the error rate; by class in `outcome`. */
  ERRORS: 'Errors',
  /** Milliseconds from the request's start to its answer's last byte. */
  LATENCY: 'Latency',
  /** Streamed answers only: milliseconds from the request's start to the stream's head (its first content event is in hand). */
  TIME_TO_FIRST_BYTE: 'TimeToFirstByte',
  /** Upstream calls made for the request (`x-breakwater-attempts`). */
  ATTEMPTS: 'Attempts',
  /** 1 when a fallback target answered, 0 when the primary did; its level is the `fallback_level` dimension. */
  FALLBACKS: 'Fallbacks',
  /** Requests on a cached route: 1 for an answer from the cache (fresh or stale), 0 for a miss. */
  CACHE_HITS: 'CacheHits',
  /** USD the request cost (settled spend); with the `tenant` dimension. */
  SPEND: 'Spend',
  /** Tokens the request used (prompt and completion); with the `tenant` dimension. */
  TOKENS: 'Tokens',
} as const;

/** Metrics the engine adds to its invocation's line (dimension `service` only). */
export const ENGINE_METRIC_NAMES = {
  /** An upstream answered 429 (any attempt, any target): the providers are throttling us. */
  PROVIDER_THROTTLED: 'ProviderThrottled',
  /** A store could not be reached; which one is the `store` dimension. */
  STORE_UNAVAILABLE: 'StoreUnavailable',
  // Named where they are written (lib/ must not import the engine); a test holds them equal.
  /** shared/budget's BUDGET_ALERT_METRIC: a tenant crossed 80% of a cap. */
  BUDGET_ALERT: 'BudgetAlert80',
  /** shared/breaker's BreakerMetric.STORE_UNAVAILABLE. */
  BREAKER_STORE_UNAVAILABLE: 'BreakerStoreUnavailable',
  /** shared/ratelimit's RATE_LIMIT_METRICS.STORE_UNAVAILABLE. */
  RATE_LIMIT_STORE_UNAVAILABLE: 'RateLimitStoreUnavailable',
} as const;

/** The worker's task metrics (dimension `service` only). */
export const TASK_METRICS = {
  /** A task reached `succeeded`. */
  COMPLETED: 'TasksCompleted',
  /** A task reached `failed` or `dead_lettered`: it will not be tried again. */
  FAILED: 'TasksFailed',
  /** A message given up: its task dead-lettered, or a malformed message on its last receive; the queue moves it to its DLQ. */
  DEAD_LETTER_MOVES: 'DeadLetterMoves',
} as const;

export const METRIC_DIMENSIONS = {
  SERVICE: 'service',
  /** The API door the request came in by (chat, responses, messages, tools, mcp...): never a raw path. */
  ROUTE: 'route',
  /** `provider/model` from the config (`provider/*` for a target that takes the client's model), `none` when no target answered. */
  TARGET: 'target',
  /** `ok`, `stale` or an {@link ERROR_CLASSES} value. */
  OUTCOME: 'outcome',
  /** 0 (the primary), 1, 2, 3+; `none` when no target answered. */
  FALLBACK_LEVEL: 'fallback_level',
  /** A tenant of the config: on Spend and Tokens only. */
  TENANT: 'tenant',
  /** A {@link STORES} value: on StoreUnavailable only. */
  STORE: 'store',
} as const;

/** Why a request failed, as a small fixed set (the `outcome` dimension of a failed request). */
export const ERROR_CLASSES = {
  CLIENT_4XX: 'client_4xx',
  THROTTLED_429: 'throttled_429',
  /** Every target failed or was unavailable, or the upstream broke (502/503 from the route walk or the tool proxy). */
  UPSTREAM: 'upstream',
  /** The request's deadline passed (504). */
  TIMEOUT: 'timeout',
  /** A state store (keys, spend, idempotency, tasks...) could not be reached. */
  STORE_UNAVAILABLE: 'store_unavailable',
  SERVER_5XX: 'server_5xx',
} as const;
export type ErrorClass = (typeof ERROR_CLASSES)[keyof typeof ERROR_CLASSES];

/** Outcomes of a request that was answered. */
export const SUCCESS_OUTCOMES = {
  OK: 'ok',
  /** Every target failed and an old cached answer was served instead. */
  STALE: 'stale',
} as const;
export type RequestOutcome = (typeof SUCCESS_OUTCOMES)[keyof typeof SUCCESS_OUTCOMES] | ErrorClass;

/** Stores whose unavailability is counted, the `store` dimension of StoreUnavailable. */
export const STORES = {
  KEYS: 'keys',
  IDEMPOTENCY: 'idempotency',
  SPEND: 'spend',
  TASKS: 'tasks',
  RESPONSES: 'responses',
  TOOL_STATE: 'tool_state',
} as const;
export type StoreName = (typeof STORES)[keyof typeof STORES];

/** The gateway's and the worker's `service` dimension (Powertools' serviceName). */
export const SERVICES = {
  GATEWAY: 'breakwater-gateway',
  WORKER: 'breakwater-worker',
} as const;
