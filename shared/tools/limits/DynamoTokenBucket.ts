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

type TakeOutcome = { kind: 'granted'; waitMs: number } | { kind: 'too-late'; waitMs: number } | { kind: 'other-write' };

/** Rounds of switching between the busy and the idle write before a call pauses for an interval. */
const QUICK_ROUNDS = 4;

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
    // The other write applies only when `tat` crossed `now` between two writes, or another
    // container wrote first: a few rounds, then a pause of one interval before trying again.
    // The first guess comes from the bucket's last `tat` seen here; after a refusal, the other write.
    let busy: boolean | undefined;
    for (let round = 0; ; round++) {
      const now = clock.now();
      if (now < this.storeDownUntil) return;
      busy = busy === undefined ? (this.lastTat.get(pk) ?? Number.NEGATIVE_INFINITY) >= now - intervalMs(shape) : !busy;
      let outcome: TakeOutcome;
      try {
        outcome = await this.take(pk, shape, now, priority, deadline.remainingMs(), busy);
      } catch (error) {
        this.storeFailed(error, key);
        return;
      }
      if (outcome.kind === 'other-write') {
        if (round >= QUICK_ROUNDS) {
          if (deadline.remainingMs() <= intervalMs(shape)) outcome = { kind: 'too-late', waitMs: intervalMs(shape) };
          else await clock.sleep(intervalMs(shape));
        }
        if (outcome.kind === 'other-write') continue;
      }
      if (outcome.kind === 'too-late') {
        throw rateLimitedError(`the ${key.service} service's rate limit leaves no room for this call before its deadline`, {
          retryAfterSeconds: Math.max(1, Math.ceil(outcome.waitMs / 1_000)),
        });
      }
      // The slot is this call's: waiting for it needs no further write.
      if (outcome.waitMs > 0) await clock.sleep(outcome.waitMs);
      return;
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
   * One write that reserves the call's slot, GCRA as a queue: a busy bucket (`tat` ahead of now)
   * moves `tat` on by one interval if the slot it hands out comes before the deadline, and the
   * call then waits for its slot without writing again; so N waiting calls cost N writes, not a
   * herd retrying every interval. An idle bucket (`tat` past or absent) starts again from now, so
   * quiet time never banks more than a burst.
   */
  private async take(pk: string, shape: BucketShape, now: number, priority: ToolPriority, remainingMs: number, busy: boolean): Promise<TakeOutcome> {
    const interval = intervalMs(shape);
    // The latest `tat` whose slot still comes before the deadline (for this priority's burst).
    const latest = admissionLimit(shape, now, priority) + Math.max(0, remainingMs - interval);
    // A `tat` up to one interval behind now still counts as busy (at most one call's worth of
    // lag): otherwise, with a store slower than the interval, a `tat` read as ahead is behind by
    // the time the next write lands, and the two writes would take turns failing.
    const floor = now - interval;
    const write = busy
      ? {
          UpdateExpression: 'SET #tat = #tat + :interval, #exp = :exp',
          ConditionExpression: '#tat BETWEEN :floor AND :latest',
          ExpressionAttributeValues: { ':interval': interval, ':floor': floor, ':latest': latest, ':exp': expiresAt(latest + interval) },
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
      const tat = Number(Attributes?.tat ?? now + interval);
      this.lastTat.set(pk, tat);
      // The slot reserved is the one `tat` stood at before this write.
      return { kind: 'granted', waitMs: waitMs(shape, tat - interval, now, priority) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The failed condition's item comes back in DynamoDB's wire form ({ N: '...' }), not unmarshalled.
      const old = (error as { Item?: Record<string, { N?: string }> }).Item;
      const tat = old?.tat?.N !== undefined ? Number(old.tat.N) : busy ? Number.NEGATIVE_INFINITY : now + interval;
      this.lastTat.set(pk, tat);
      // The idle write failed (the bucket is busy), or the busy one found it idle: the other write next.
      if (!busy || tat < floor) return { kind: 'other-write' };
      return { kind: 'too-late', waitMs: waitMs(shape, tat, now, priority) };
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
