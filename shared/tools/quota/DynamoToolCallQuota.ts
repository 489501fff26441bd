import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GatewayError, isGatewayError } from '../../errors';
import type { Principal } from '../../gateway/Principal';
import type { Clock } from '../../resilience/clock';
import type { Deadline } from '../../resilience/deadline';
import { secondsUntilUtcMidnight, utcDay } from './utcDay';

/** Spends one tool call of the caller's daily quota, or throws 429 `tool_quota_exceeded`. */
export interface ToolCallQuota {
  spend(principal: Principal, deadline?: Deadline): Promise<void>;
}

export interface ToolCallQuotaLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface DynamoToolCallQuotaOptions {
  doc: DynamoDBDocumentClient;
  /** The `rateLimits` table (partition key `pk`, TTL attribute `expires_at`). */
  tableName: string;
  clock: Pick<Clock, 'now'>;
  logger: ToolCallQuotaLogger;
  /**
   * Longest wait for a counter write; past it the store counts as unreachable.
   * @default 1_000
   */
  timeoutMs?: number;
}

/** Whose counter: the tenant's (every key of it) or one key's own. */
type QuotaScope = 'tenant' | 'key';

/** A day's counters outlive their day by one, for the operator to look at; then TTL removes them. */
const KEEP_AFTER_DAY_S = 86_400;

/**
 * `daily_tool_calls`: how many tool calls (`/v1/tools` and MCP `tools/call`) a tenant, and a key
 * that sets its own, may make per UTC day, across the fleet. One counter item per scope and day,
 * raised by one conditional ADD, so concurrent calls in any number of containers never pass the
 * limit. A call past it is refused with 429 `tool_quota_exceeded` and Retry-After until midnight
 * UTC; a refused call is not counted. Like a spend cap, it fails closed: a store that cannot be
 * reached refuses the call (503), unless the policy says `budget_fail_open`.
 */
export class DynamoToolCallQuota implements ToolCallQuota {
  constructor(private readonly options: DynamoToolCallQuotaOptions) {}

  async spend(principal: Principal, deadline?: Deadline): Promise<void> {
    const tenantLimit = principal.tenant.policy.daily_tool_calls;
    const keyLimit = principal.keyPolicy?.daily_tool_calls;
    // Most tenants set none: no write at all.
    if (tenantLimit === undefined && keyLimit === undefined) return;
    const now = this.options.clock.now();
    const { day, endsAt } = utcDay(now);
    const counters: Array<{ scope: QuotaScope; pk: string; limit: number }> = [];
    // The key's own first: a key past its own limit then never touches the counter all the tenant's keys share.
    if (keyLimit !== undefined) counters.push({ scope: 'key', pk: `toolcalls#key#${principal.keyId}#${day}`, limit: keyLimit });
    if (tenantLimit !== undefined) counters.push({ scope: 'tenant', pk: `toolcalls#tenant#${principal.tenant.name}#${day}`, limit: tenantLimit });

    const counted: string[] = [];
    try {
      for (const counter of counters) {
        if (!(await this.add(counter.pk, counter.limit, Math.ceil(endsAt / 1_000) + KEEP_AFTER_DAY_S, deadline))) {
          throw this.exceeded(principal, counter.scope, counter.limit, now);
        }
        counted.push(counter.pk);
      }
    } catch (error) {
      // No transactions (dynalite has none): a counter already raised for a refused call is lowered again.
      await Promise.all(counted.map((pk) => this.giveBack(pk)));
      if (isGatewayError(error)) throw error;
      this.options.logger.warn('tool call quota store unavailable', { tenant: principal.tenant.name, error_name: (error as Error)?.name });
      if (principal.policy.budget_fail_open === true) return;
      throw new GatewayError('tool_state_unavailable', 'the tool call quota could not be checked; try again shortly', {
        cause: error,
        headers: { 'retry-after': '1' },
      });
    }
  }

  /** Raises the counter unless it reached the limit; false when it had. */
  private async add(pk: string, limit: number, expiresAt: number, deadline: Deadline | undefined): Promise<boolean> {
    const timeoutMs = Math.max(1, Math.min(this.options.timeoutMs ?? 1_000, deadline?.remainingMs() ?? Infinity));
    try {
      await this.options.doc.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk },
          UpdateExpression: 'ADD #count :one SET #exp = :exp',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count', '#exp': 'expires_at' },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':exp': expiresAt },
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      return true;
    } catch (error) {
      if ((error as Error)?.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private async giveBack(pk: string): Promise<void> {
    await this.options.doc
      .send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk },
          UpdateExpression: 'ADD #count :minus',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minus': -1 },
        }),
        { abortSignal: AbortSignal.timeout(this.options.timeoutMs ?? 1_000) },
      )
      .catch((error: unknown) => {
        // One call too many counted: the quota errs on the strict side.
        this.options.logger.warn('tool call quota not given back', { error_name: (error as Error)?.name });
      });
  }

  private exceeded(principal: Principal, scope: QuotaScope, limit: number, now: number): GatewayError {
    const retryAfter = secondsUntilUtcMidnight(now);
    const whose = scope === 'key' ? 'this key' : `tenant "${principal.tenant.name}"`;
    return new GatewayError('tool_quota_exceeded', `${whose} has made its ${limit} tool calls for today (UTC); the quota resets at midnight UTC`, {
      details: { limit: 'daily_tool_calls', scope },
      headers: { 'retry-after': String(retryAfter) },
    });
  }
}
