/**
 * Reads how much of its quota a service says is left, from the headers APIs use:
 * `X-RateLimit-Remaining` / `X-RateLimit-Reset` (GitHub, Stripe-like; reset as epoch seconds or
 * seconds from now), the IETF draft's `RateLimit-Remaining` / `RateLimit-Reset` (seconds from now)
 * or its structured `RateLimit: limit=100, remaining=0, reset=30`, and `Retry-After` (seconds or an
 * HTTP date) on a 429 or 503. Answers undefined when the headers say nothing usable.
 */
export interface QuotaHint {
  remaining: number;
  /** Epoch ms when the quota refills. */
  resetAt: number;
}

/** Past this a "reset" is taken as an epoch timestamp rather than seconds from now (~ year 2001). */
const EPOCH_SECONDS_THRESHOLD = 1_000_000_000;
/** Hints further out than this are capped: a service's bad header must not block calls for days. */
export const MAX_HINT_MS = 10 * 60_000;

export function quotaHint(statusCode: number, headers: Readonly<Record<string, string>>, now: number): QuotaHint | undefined {
  const header = (name: string) => headers[name] ?? headers[name.toLowerCase()];
  const retryAfter = parseRetryAfter(header('retry-after'), now);
  if ((statusCode === 429 || statusCode === 503) && retryAfter !== undefined) return { remaining: 0, resetAt: cap(retryAfter, now) };

  const structured = parseStructured(header('ratelimit'));
  const remaining = numberOf(header('x-ratelimit-remaining')) ?? numberOf(header('ratelimit-remaining')) ?? structured?.remaining;
  const reset = numberOf(header('x-ratelimit-reset')) ?? numberOf(header('ratelimit-reset')) ?? structured?.reset;
  if (remaining === undefined || reset === undefined) {
    return statusCode === 429 ? { remaining: 0, resetAt: now + 1_000 } : undefined;
  }
  const resetAt = reset > EPOCH_SECONDS_THRESHOLD ? reset * 1_000 : now + reset * 1_000;
  return { remaining: Math.max(0, Math.floor(remaining)), resetAt: cap(resetAt, now) };
}

const cap = (at: number, now: number) => Math.min(Math.max(at, now), now + MAX_HINT_MS);

function numberOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const parsed = Number(value.trim());
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const seconds = numberOf(value);
  if (seconds !== undefined) return now + seconds * 1_000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date;
}

function parseStructured(value: string | undefined): { remaining?: number; reset?: number } | undefined {
  if (!value) return undefined;
  const fields = Object.fromEntries(
    value.split(/[,;]/).map((part) => part.trim().split('=').map((side) => side.trim()) as [string, string | undefined]),
  );
  return { remaining: numberOf(fields.r ?? fields.remaining), reset: numberOf(fields.t ?? fields.reset) };
}
