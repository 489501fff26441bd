import { ERROR_CLASSES, STORES, SUCCESS_OUTCOMES, type ErrorClass, type RequestOutcome, type StoreName } from './metricNames';

/**
 * Pure mappings from what a request was to its metric dimensions. Every value comes from a small
 * fixed set or from the config, never from the request itself: a CloudWatch metric is billed
 * per dimension combination, and a raw path, key or model string would make them unbounded.
 */

/** The API doors, by the first path segment after `/v1/`. */
const DOORS = new Set(['chat', 'completions', 'embeddings', 'responses', 'messages', 'models', 'tasks', 'tools', 'connections', 'approvals']);

/** The door a path belongs to (`/v1/chat/completions` → `chat`, `/mcp` → `mcp`); anything else is `other`. */
export function doorOf(path: string): string {
  if (path === '/mcp' || path.startsWith('/mcp/')) return 'mcp';
  if (!path.startsWith('/v1/')) return 'other';
  const end = path.indexOf('/', 4);
  const segment = path.slice(4, end === -1 ? undefined : end);
  return DOORS.has(segment) ? segment : 'other';
}

/** Codes saying a state store could not be reached, and which (the task API's one code covers its table and its queue). */
const STORE_OF_CODE: Readonly<Record<string, StoreName>> = {
  auth_unavailable: STORES.KEYS,
  idempotency_unavailable: STORES.IDEMPOTENCY,
  budget_unavailable: STORES.SPEND,
  task_queue_unavailable: STORES.TASKS,
  response_store_unavailable: STORES.RESPONSES,
  tool_state_unavailable: STORES.TOOL_STATE,
};

/** The store an error code says was unreachable, if it says one was. */
export function storeOfErrorCode(code: string | undefined): StoreName | undefined {
  return code === undefined ? undefined : STORE_OF_CODE[code];
}

/** Failures of the upstreams (the route walk, the tool proxy, a stream cut after its first byte), not of the gateway. */
const UPSTREAM_CODES = new Set([
  'all_targets_failed',
  'all_targets_unavailable',
  'upstream_auth_failed',
  'service_unavailable',
  'service_failed',
  'service_timeout',
  'stream_interrupted',
]);

/** The class of a failed request: by code where it tells more than the status, else by status. */
export function errorClassOf(status: number, code: string | undefined): ErrorClass {
  if (storeOfErrorCode(code)) return ERROR_CLASSES.STORE_UNAVAILABLE;
  if (code !== undefined && UPSTREAM_CODES.has(code)) return ERROR_CLASSES.UPSTREAM;
  if (code === 'deadline_exceeded') return ERROR_CLASSES.TIMEOUT;
  if (status === 429) return ERROR_CLASSES.THROTTLED_429;
  if (status >= 400 && status < 500) return ERROR_CLASSES.CLIENT_4XX;
  return ERROR_CLASSES.SERVER_5XX;
}

/**
 * A request's outcome: `ok`, `stale` (answered from an old cache entry after every target
 * failed), or its error class. A stream cut after its first byte went out as a 200 but failed.
 */
export function outcomeOf(sample: { status: number; errorCode?: string; cache?: string }): RequestOutcome {
  if (sample.status >= 400 || sample.errorCode !== undefined) return errorClassOf(sample.status, sample.errorCode);
  return sample.cache === 'STALE' ? SUCCESS_OUTCOMES.STALE : SUCCESS_OUTCOMES.OK;
}

/** `0` for the primary, `1`, `2`, then `3+`: deep fallbacks are rare and alike. */
export function fallbackLevelOf(fallbackIndex: number | undefined): string {
  if (fallbackIndex === undefined || !Number.isInteger(fallbackIndex) || fallbackIndex < 0) return 'none';
  return fallbackIndex >= 3 ? '3+' : String(fallbackIndex);
}

/**
 * A target as the config names it: `provider/model`, or `provider/*` for a target that sends
 * the client's own model (whose string must not become a dimension).
 */
export function targetDimensionOf(target: { providerName: string; model?: string }): string {
  return `${target.providerName}/${target.model ?? '*'}`;
}
