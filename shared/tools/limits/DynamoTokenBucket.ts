import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { rateLimitedError } from '../../ratelimit/rateLimitedError';
import type { Clock } from '../../resilience/clock';
import type { Deadline } from '../../resilience/deadline';
import type { RateKey, ToolPriority, ToolRateGate } from '../types';
import { admissionLimit, intervalMs, tatFloorFromHeaders, waitMs, type BucketShape } from './gcra';
import { quotaHint } from './rateLimitHeaders';

export interface TokenBucketLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface DynamoTokenBucketOptions {
  doc: DynamoDBDocumentClient;
  /** The `rateLimits` table (partition key `pk`, TTL attribute `expires_at`). */
  tableName: string;
  /** The bucket of a service, from its `rate_limit`; undefined = not limited here. */
  shapeOf: (service: string) => BucketShape | undefined;
  clock: Clock;
  logger: TokenBucketLogger;
  /**
   * After the store fails, how long this container lets calls through without asking it.
   * @default 5_000 — a limit protects the service's quota, it is not billing: a store that is
   * down must not take every tool call down with it.
   */
  storeRetryIntervalMs?: number;
}

const GRANTED = 'granted';
const TRY_OTHER_WRITE = 'try-other-write';
type TakeOutcome = typeof GRANTED | typeof TRY_OTHER_WRITE | number;

/** How many optimistic rounds one acquire may take before it lets the call through. */
const MAX_ROUNDS = 50;

const isConditionFailure = (error: unknown) => (error as Error)?.name === 'ConditionalCheckFailedException';

/**
 * A fleet-wide token bucket per service and credential, kept in one DynamoDB item (`tat`, see
 * gcra.ts) moved by conditional writes, so every container spends from the same quota. A call
 * that finds no token waits for one, within its deadline, instead of firing and collecting a
 * 429; the service's own rate-limit headers pull `tat` forward when they say the quota is lower
 * than configured.
 */
export class DynamoTokenBucket implements ToolRateGate {
  private readonly storeRetryIntervalMs: number;
  private storeDownUntil = Number.NEGATIVE_INFINITY;
  /** The last `tat` seen per bucket: picks which of the two writes to try first. */
  private readonly lastTat = new Map<string, number>();

  constructor(private readonly options: DynamoTokenBucketOptions) {
    this.storeRetryIntervalMs = options.storeRetryIntervalMs ?? 5_000;
  }

  async acquire(key: RateKey, priority: ToolPriority, deadline: Deadline): Promise<void> {
    const shape = this.options.shapeOf(key.service);
    if (!shape) return;
    const { clock } = this.options;
    const pk = bucketKey(key);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = clock.now();
      if (now < this.storeDownUntil) return;
      let outcome: TakeOutcome;
      try {
        outcome = await this.take(pk, shape, now, priority);
      } catch (error) {
        this.storeFailed(error, key);
        return;
      }
      if (outcome === GRANTED) return;
      if (outcome === TRY_OTHER_WRITE) continue;
      const wait = waitMs(shape, outcome, now, priority);
      if (wait === 0) continue;
      if (wait >= deadline.remainingMs()) {
        throw rateLimitedError(`the ${key.service} service's rate limit leaves no room for this call before its deadline`, {
          retryAfterSeconds: Math.ceil(wait / 1_000),
        });
      }
      await clock.sleep(wait);
    }
  }

  async observe(key: RateKey, statusCode: number, headers: Readonly<Record<string, string>>): Promise<void> {
    const shape = this.options.shapeOf(key.service);
    if (!shape) return;
    const now = this.options.clock.now();
    const hint = quotaHint(statusCode, headers, now);
    // A plentiful quota cannot tighten the bucket: skip the write.
    if (!hint || (hint.remaining >= shape.burst && statusCode !== 429) || now < this.storeDownUntil) return;
    const floor = Math.round(tatFloorFromHeaders(shape, hint, now));
    try {
      await this.options.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: bucketKey(key) },
          UpdateExpression: 'SET #tat = :floor, #exp = :exp',
          ConditionExpression: 'attribute_not_exists(#tat) OR #tat < :floor',
          ExpressionAttributeNames: { '#tat': 'tat', '#exp': 'expires_at' },
          ExpressionAttributeValues: { ':floor': floor, ':exp': expiresAt(floor) },
        }),
      );
      this.lastTat.set(bucketKey(key), floor);
    } catch (error) {
      if (!isConditionFailure(error)) this.storeFailed(error, key);
    }
  }

  /**
   * One optimistic write: the call got its token, or the other write applies, or the `tat` that refused it.
   * Busy bucket (`tat` in the future): move `tat` on by one interval if within the limit. Idle
   * bucket (`tat` past or absent): start again from now, so quiet time never banks more than a burst.
   */
  private async take(pk: string, shape: BucketShape, now: number, priority: ToolPriority): Promise<TakeOutcome> {
    const interval = intervalMs(shape);
    const limit = admissionLimit(shape, now, priority);
    const busy = (this.lastTat.get(pk) ?? 0) >= now;
    const write = busy
      ? {
          UpdateExpression: 'SET #tat = #tat + :interval, #exp = :exp',
          ConditionExpression: '#tat BETWEEN :now AND :limit',
          ExpressionAttributeValues: { ':interval': interval, ':now': now, ':limit': limit, ':exp': expiresAt(limit + interval) },
        }
      : {
          UpdateExpression: 'SET #tat = :next, #exp = :exp',
          ConditionExpression: 'attribute_not_exists(#tat) OR #tat < :now',
          ExpressionAttributeValues: { ':next': now + interval, ':now': now, ':exp': expiresAt(now + interval) },
        };
    try {
      const { Attributes } = await this.options.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk },
          ExpressionAttributeNames: { '#tat': 'tat', '#exp': 'expires_at' },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...write,
        }),
      );
      this.lastTat.set(pk, Number(Attributes?.tat ?? now + interval));
      return GRANTED;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The failed condition's item comes back in DynamoDB's wire form ({ N: '...' }), not unmarshalled.
      const old = (error as { Item?: Record<string, { N?: string }> }).Item;
      const tat = old?.tat?.N !== undefined ? Number(old.tat.N) : busy ? 0 : now + interval;
      this.lastTat.set(pk, tat);
      if (busy ? tat < now : tat <= limit) return TRY_OTHER_WRITE;
      return tat;
    }
  }

  private storeFailed(error: unknown, key: RateKey): void {
    this.storeDownUntil = this.options.clock.now() + this.storeRetryIntervalMs;
    this.options.logger.warn('tool rate limit store unavailable: calls go through unchecked', {
      service: key.service,
      error: (error as Error)?.name,
    });
  }
}

const bucketKey = (key: RateKey) => `bucket#${key.service}#${key.credentialId}`;
/** A bucket's item outlives its `tat` by a minute, then DynamoDB's TTL removes it. */
const expiresAt = (tat: number) => Math.ceil(tat / 1_000) + 60;
