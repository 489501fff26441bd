import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { isGatewayError } from '../errors';
import { isDeadlineCut } from '../stores/boundedCalls';
import { systemClock, type Clock } from '../resilience/clock';
import { rateLimitedError, type RateLimitName } from './rateLimitedError';
import { rateLimitUpdate, settleTokensUpdate } from './rateLimitUpdate';
import { rateWindow, type RateWindow } from './rateWindow';

export interface RateLimitCheck {
  /** Stable per-key id (the key's hash, `ResolvedKey.keyId`); never the plain key. */
  keyId: string;
  /** Requests per minute; absent = unlimited. */
  rpmLimit?: number;
  /** Tokens per minute; absent = unlimited. */
  tpmLimit?: number;
  /** Prompt tokens plus the completion's `max_tokens` (or a guess), charged up front. */
  estimatedTokens: number;
}

/** An admitted request. Call `settleTokens(actual - estimated)` once the answer is in. */
export interface RateLimitPermit {
  /** OpenAI-style `x-ratelimit-*` headers for the response; empty when nothing was counted. */
  readonly headers: Readonly<Record<string, string>>;
  /** Corrects the token counter; never throws (a lost correction only loosens the limit). */
  settleTokens(delta: number): Promise<void>;
}

/** The subset of Powertools' Logger used here; tests pass a recorder. */
export interface RateLimitLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface FleetRateLimiterOptions {
  doc: DynamoDBDocumentClient;
  /** The `rateLimits` table (partition key `pk`, TTL attribute `expires_at`). */
  tableName: string;
  logger: RateLimitLogger;
  metrics?: Pick<Metrics, 'addMetric'>;
  /** @default systemClock */
  clock?: Pick<Clock, 'now'>;
  /**
   * Longest wait for the counter write before the request is let through unchecked. Limits are
   * protection, not billing: a slow store must not add seconds to every request.
   * @default 1_000
   */
  timeoutMs?: number;
  /**
   * After the store fails, how long this container lets requests through without asking it.
   * @default 5_000 — a store that hangs then costs one request per five seconds its timeout,
   * not every request; a store that blinked is asked again soon.
   */
  storeRetryIntervalMs?: number;
}

export const RATE_LIMIT_METRICS = {
  REJECTED: 'RateLimitRejected',
  STORE_UNAVAILABLE: 'RateLimitStoreUnavailable',
} as const;

const NO_OP_PERMIT: RateLimitPermit = { headers: {}, settleTokens: async () => {} };

/**
 * Per-key rpm / tpm limits shared by every container: one counter item per key per minute,
 * raised by a single conditional write. When the store cannot be reached the request is
 * allowed and the failure logged: a rate limit protects upstream quotas and is not the
 * billing boundary (spend limits fail closed on their own), so it should not take the
 * gateway down with the store.
 */
export class FleetRateLimiter {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly logger: RateLimitLogger;
  private readonly metrics?: Pick<Metrics, 'addMetric'>;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly timeoutMs: number;
  private readonly storeRetryIntervalMs: number;
  /** While `now` is before this, the store is not asked. */
  private storeDownUntil = Number.NEGATIVE_INFINITY;

  constructor(options: FleetRateLimiterOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.storeRetryIntervalMs = options.storeRetryIntervalMs ?? 5_000;
  }

  /** Admits the request or throws `rate_limited` (429 with `retry-after`). */
  async check(request: RateLimitCheck): Promise<RateLimitPermit> {
    const { keyId, rpmLimit, tpmLimit } = request;
    // Most keys have no limits: they cost nothing here.
    if (rpmLimit === undefined && tpmLimit === undefined) return NO_OP_PERMIT;
    const estimatedTokens = Math.max(0, Math.ceil(request.estimatedTokens));
    if (tpmLimit !== undefined && estimatedTokens > tpmLimit) {
      // No window will ever fit it, so no retry-after: waiting cannot help.
      throw rateLimitedError(
        `this request needs about ${estimatedTokens} tokens, more than the key's limit of ${tpmLimit} tokens per minute; lower max_tokens or shorten the input`,
        { limit: 'tpm_limit' },
      );
    }

    const window = rateWindow(this.clock.now());
    if (this.clock.now() < this.storeDownUntil) return NO_OP_PERMIT;
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand(rateLimitUpdate({ tableName: this.tableName, keyId, window, rpmLimit, tpmLimit, estimatedTokens })),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
      const headers = rateLimitHeaders(window, rpmLimit, tpmLimit, Attributes);
      return tpmLimit === undefined ? { headers, settleTokens: NO_OP_PERMIT.settleTokens } : this.permit(keyId, window, headers);
    } catch (error) {
      if (isGatewayError(error)) throw error;
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
        const item = (error as ConditionalCheckFailedException).Item;
        const limit = whichLimit(rpmLimit, tpmLimit, estimatedTokens, item);
        this.metrics?.addMetric(RATE_LIMIT_METRICS.REJECTED, MetricUnit.Count, 1);
        // Without the counters (emulators), report the limit that refused (or both) as used up.
        const counters = item ?? {
          requests: limit === 'tpm_limit' ? undefined : rpmLimit,
          tokens: limit === 'rpm_limit' ? undefined : tpmLimit,
        };
        throw rateLimitedError(limitMessage(limit, rpmLimit, tpmLimit, window.retryAfterSeconds), {
          limit,
          retryAfterSeconds: window.retryAfterSeconds,
          headers: rateLimitHeaders(window, rpmLimit, tpmLimit, counters),
        });
      }
      this.storeUnavailable('check', error);
      return NO_OP_PERMIT;
    }
  }

  /**
   * Extra tokens go on the window that is current when the answer arrives (so they still hold
   * back the next requests); a refund only helps while its own window is still open.
   */
  private permit(keyId: string, charged: RateWindow, headers: Record<string, string>): RateLimitPermit {
    return {
      headers,
      settleTokens: async (delta) => {
        const rounded = Math.round(delta);
        if (rounded === 0 || !Number.isFinite(rounded)) return;
        const window = rateWindow(this.clock.now());
        if (rounded < 0 && window.minute !== charged.minute) return;
        if (this.clock.now() < this.storeDownUntil) return;
        try {
          await this.doc.send(new UpdateCommand(settleTokensUpdate(this.tableName, keyId, window, rounded)), {
            abortSignal: AbortSignal.timeout(this.timeoutMs),
          });
        } catch (error) {
          this.storeUnavailable('settle', error);
        }
      },
    };
  }

  private storeUnavailable(operation: 'check' | 'settle', error: unknown): void {
    if (!isDeadlineCut(error)) this.storeDownUntil = this.clock.now() + this.storeRetryIntervalMs;
    this.metrics?.addMetric(RATE_LIMIT_METRICS.STORE_UNAVAILABLE, MetricUnit.Count, 1);
    this.logger.warn('rate-limit store unavailable; request allowed unchecked', {
      operation,
      error: (error as Error)?.name ?? String(error),
      message: (error as Error)?.message,
    });
  }
}

/** A DynamoDB number, whether the SDK handed it over plain or as `{ N: "12" }`. */
function numberAttribute(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'N' in value) return Number((value as { N: string }).N);
  return undefined;
}

/** Which limit refused the request, from the counters DynamoDB returned (when it did). */
export function whichLimit(
  rpmLimit: number | undefined,
  tpmLimit: number | undefined,
  estimatedTokens: number,
  counters: Record<string, unknown> | undefined,
): RateLimitName | undefined {
  if (rpmLimit === undefined) return 'tpm_limit';
  if (tpmLimit === undefined) return 'rpm_limit';
  const requests = numberAttribute(counters?.requests);
  const tokens = numberAttribute(counters?.tokens);
  if (requests !== undefined && requests >= rpmLimit) return 'rpm_limit';
  if (tokens !== undefined && tokens + estimatedTokens > tpmLimit) return 'tpm_limit';
  return undefined;
}

function limitMessage(limit: RateLimitName | undefined, rpm: number | undefined, tpm: number | undefined, retryAfter: number): string {
  const what =
    limit === 'rpm_limit'
      ? `its limit of ${rpm} requests per minute`
      : limit === 'tpm_limit'
        ? `its limit of ${tpm} tokens per minute`
        : 'its requests- or tokens-per-minute limit';
  return `this key has reached ${what}; retry in ${retryAfter} s`;
}

function rateLimitHeaders(
  window: RateWindow,
  rpmLimit: number | undefined,
  tpmLimit: number | undefined,
  counters: Record<string, unknown> | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const reset = `${window.retryAfterSeconds}s`;
  if (rpmLimit !== undefined) {
    headers['x-ratelimit-limit-requests'] = String(rpmLimit);
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, rpmLimit - (numberAttribute(counters?.requests) ?? 0)));
    headers['x-ratelimit-reset-requests'] = reset;
  }
  if (tpmLimit !== undefined) {
    headers['x-ratelimit-limit-tokens'] = String(tpmLimit);
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, tpmLimit - (numberAttribute(counters?.tokens) ?? 0)));
    headers['x-ratelimit-reset-tokens'] = reset;
  }
  return headers;
}
