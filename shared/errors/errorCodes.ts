/**
 * Every machine-readable error code Breakwater puts on the wire, with its HTTP status and
 * OpenAI error `type`. One table, so a code always maps to the same status everywhere.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  streaming_unsupported: { status: 400, type: 'invalid_request_error' },
  request_cost_exceeds_limit: { status: 400, type: 'invalid_request_error' },
  input_rejected: { status: 400, type: 'invalid_request_error' },
  /** The upstream refused the request as the client sent it; status is the upstream's own 4xx. */
  upstream_rejected: { status: 400, type: 'invalid_request_error' },
  /** A parameter some target of the route cannot honour; refused before any upstream call. */
  unsupported_parameter: { status: 400, type: 'invalid_request_error' },
  /** A built-in tool (web search, file search, computer use, ...) the gateway cannot run; the 400 names it. */
  unsupported_tool: { status: 400, type: 'invalid_request_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  /** An admin route (`/v1/admin/...`) called with a key whose policy has no `"role": "admin"`. */
  admin_required: { status: 403, type: 'permission_error' },
  /** Admin API: no key, target, tenant or task by that name. */
  admin_not_found: { status: 404, type: 'not_found_error' },
  /** Admin API: the action does not fit the thing's state (rotating a revoked key, a prefix several keys share). */
  admin_conflict: { status: 409, type: 'invalid_request_error' },
  /** Tool proxy: the key's policy does not let it call this service, method or path. */
  tool_not_allowed: { status: 403, type: 'permission_error' },
  /** Tool proxy: the call needs scopes the user's connection was not granted. */
  scope_not_granted: { status: 403, type: 'permission_error' },
  /** Tool proxy: the end user's connection is missing or its refresh token no longer works. */
  reauthorization_required: { status: 401, type: 'authentication_error' },
  /** Tool proxy: a path that leaves the service's base path, or a forbidden target. */
  tool_path_rejected: { status: 400, type: 'invalid_request_error' },
  unknown_service: { status: 404, type: 'not_found_error' },
  connection_not_found: { status: 404, type: 'not_found_error' },
  approval_not_found: { status: 404, type: 'not_found_error' },
  /** An approval already decided, expired, or not yet approved when its result is asked for. */
  approval_not_pending: { status: 409, type: 'invalid_request_error' },
  /** The same key made the same call too many times in the loop window. */
  loop_detected: { status: 429, type: 'rate_limit_error' },
  /** The tenant or key has made its `daily_tool_calls` for the UTC day; Retry-After says until midnight UTC. */
  tool_quota_exceeded: { status: 429, type: 'rate_limit_error' },
  unknown_route: { status: 404, type: 'not_found_error' },
  model_not_found: { status: 404, type: 'not_found_error' },
  task_not_found: { status: 404, type: 'not_found_error' },
  /** A stored response that does not exist, expired, or belongs to another tenant. */
  response_not_found: { status: 404, type: 'not_found_error' },
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  idempotency_in_progress: { status: 409, type: 'invalid_request_error' },
  task_not_cancellable: { status: 409, type: 'invalid_request_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error' },
  idempotency_key_reused: { status: 422, type: 'invalid_request_error' },
  budget_exceeded: { status: 429, type: 'rate_limit_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  internal_error: { status: 500, type: 'api_error' },
  upstream_auth_failed: { status: 502, type: 'api_error' },
  all_targets_failed: { status: 503, type: 'api_error' },
  all_targets_unavailable: { status: 503, type: 'api_error' },
  budget_unavailable: { status: 503, type: 'api_error' },
  auth_unavailable: { status: 503, type: 'api_error' },
  task_queue_unavailable: { status: 503, type: 'api_error' },
  idempotency_unavailable: { status: 503, type: 'api_error' },
  response_store_unavailable: { status: 503, type: 'api_error' },
  /** Tool proxy: the service's breaker is open (and no stale answer could be served). */
  service_unavailable: { status: 503, type: 'api_error' },
  /** Tool proxy: the connections or approvals store could not be reached. */
  tool_state_unavailable: { status: 503, type: 'api_error' },
  /** Tool proxy: the service did not answer in time. */
  service_timeout: { status: 504, type: 'api_error' },
  /** Tool proxy: the service could not be reached, or answered in a way that cannot be relayed. */
  service_failed: { status: 502, type: 'api_error' },
  /** A stream failed after its first byte; sent as the stream's last event, never as a status. */
  stream_interrupted: { status: 502, type: 'api_error' },
  deadline_exceeded: { status: 504, type: 'api_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
