/**
 * Fixed one-minute windows, numbered by epoch minute. Fixed windows allow up to twice the limit
 * across a window boundary; that is accepted for a one-item-per-minute design (one conditional
 * write per request, no transactions), and limits here protect rather than bill.
 */
export const RATE_WINDOW_MS = 60_000;

/** Counters outlive their minute by one more, then DynamoDB's TTL removes them. */
export const RATE_COUNTER_TTL_MS = 2 * RATE_WINDOW_MS;

export interface RateWindow {
  /** Epoch minute: `floor(now / 60 s)`. */
  minute: number;
  startMs: number;
  endMs: number;
  /** Whole seconds until the next window opens, at least 1: the `retry-after` value. */
  retryAfterSeconds: number;
  /** Epoch seconds at which the counter item may be deleted. */
  expiresAtSeconds: number;
}

export function rateWindow(nowMs: number): RateWindow {
  const minute = Math.floor(nowMs / RATE_WINDOW_MS);
  const startMs = minute * RATE_WINDOW_MS;
  const endMs = startMs + RATE_WINDOW_MS;
  return {
    minute,
    startMs,
    endMs,
    retryAfterSeconds: Math.max(1, Math.ceil((endMs - nowMs) / 1000)),
    expiresAtSeconds: Math.floor((startMs + RATE_COUNTER_TTL_MS) / 1000),
  };
}

/** The counter item of one key in one window. */
export const rateLimitPk = (keyId: string, minute: number): string => `rl#${keyId}#${minute}`;
