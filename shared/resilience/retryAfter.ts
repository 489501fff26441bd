/** Reads an HTTP header whatever its case; headers here are plain lower-cased records. */
type Headers = Record<string, string | undefined>;

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** OpenAI's reset headers are Go-style durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`. */
export function parseGoDuration(value: string): number | undefined {
  const trimmed = value.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return total;
}

/** `Retry-After` is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfterValue(value: string, nowMs: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1_000;
  // Only accept something that looks like a date; Date.parse is lenient with garbage like "5 apples".
  if (!/[a-z]{3}.*\d{4}/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function resetAt(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const duration = parseGoDuration(value);
  if (duration !== undefined) return duration;
  const at = Date.parse(value); // Anthropic sends RFC 3339 timestamps.
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Pairs of (remaining, reset) headers the providers send on rate-limit responses. */
const RESET_HEADER_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'],
  ['x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'],
  ['anthropic-ratelimit-requests-remaining', 'anthropic-ratelimit-requests-reset'],
  ['anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-tokens-reset'],
  ['anthropic-ratelimit-input-tokens-remaining', 'anthropic-ratelimit-input-tokens-reset'],
  ['anthropic-ratelimit-output-tokens-remaining', 'anthropic-ratelimit-output-tokens-reset'],
];

/**
 * How long the upstream asked us to wait, in ms, or undefined when it did not say (or said
 * something unreadable). Precedence: `retry-after-ms`, `retry-after`, then the providers'
 * rate-limit reset headers, where the exhausted limit (remaining = 0) is the one that binds.
 */
export function parseRetryAfter(headers: Headers, nowMs: number): number | undefined {
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms.trim());

  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined) {
    const parsed = parseRetryAfterValue(retryAfter, nowMs);
    if (parsed !== undefined) return parsed;
  }

  const exhausted: number[] = [];
  const any: number[] = [];
  for (const [remainingHeader, resetHeader] of RESET_HEADER_PAIRS) {
    const reset = resetAt(headers[resetHeader], nowMs);
    if (reset === undefined) continue;
    any.push(reset);
    if (headers[remainingHeader]?.trim() === '0') exhausted.push(reset);
  }
  if (exhausted.length > 0) return Math.max(...exhausted);
  if (any.length > 0) return Math.min(...any);
  return undefined;
}

/**
 * The `Retry-After` (whole seconds) to give a client for an upstream's wait: at least 1, and at
 * most `capMs`, the target breaker's longest cooldown. The breaker pauses a target no longer than
 * that whatever the upstream asked (99999 s, an HTTP-date in 2099), so the client is not told to
 * stay away longer than the gateway itself does.
 */
export function clientRetryAfterSeconds(waitMs: number, capMs: number): number {
  const capSeconds = Math.max(1, Math.ceil(capMs / 1_000));
  if (!Number.isFinite(waitMs)) return capSeconds;
  return Math.min(Math.max(1, Math.ceil(waitMs / 1_000)), capSeconds);
}
