/**
 * What to do after a failed upstream call:
 * - `retry`: transient; the same target may be tried again after a backoff.
 * - `failover`: this target cannot help now (unresolvable host, missing credential); move on
 *   without hammering it.
 * - `fatal`: the request itself is wrong; retrying cannot help. Fallback happens only when the
 *   route's `on_status_codes` lists the status.
 */
export const FAILURE_ACTIONS = { RETRY: 'retry', FAILOVER: 'failover', FATAL: 'fatal' } as const;
export type FailureAction = (typeof FAILURE_ACTIONS)[keyof typeof FAILURE_ACTIONS];

/** 529 is Anthropic's "overloaded"; 425 "too early" is safe to replay by definition. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504, 529]);

export function classifyStatus(status: number, retryOn: ReadonlySet<number> = RETRYABLE_STATUSES): FailureAction {
  if (retryOn.has(status)) return 'retry';
  // A redirect (say http:// answered with a 301 to https://) or a non-final status is the
  // target's misconfiguration, not the client's mistake: move on, and never relay a 3xx.
  if (status >= 500 || status < 400) return 'failover';
  return 'fatal';
}

/** Whether an upstream status is the client's own mistake, to be passed back as a 4xx. */
export const isClientErrorStatus = (status: number): boolean => status >= 400 && status < 500;

/** Network error codes from node's sockets and DNS resolver. */
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET']);
/** The host cannot be found or reached at all: retrying in milliseconds will not change that. */
const UNREACHABLE_NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_NONAME']);

export function classifyNetworkError(code: string): FailureAction {
  if (UNREACHABLE_NETWORK_CODES.has(code)) return 'failover';
  if (RETRYABLE_NETWORK_CODES.has(code)) return 'retry';
  // Unknown socket-level failures are treated as transient: the retry budget bounds the cost.
  return 'retry';
}
