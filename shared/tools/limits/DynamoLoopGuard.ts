import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GatewayError } from '../../errors';
import type { Clock } from '../../resilience/clock';
import type { LoopGuard } from '../types';

export interface LoopGuardLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface DynamoLoopGuardOptions {
  doc: DynamoDBDocumentClient;
  /** The `rateLimits` table (partition key `pk`, TTL attribute `expires_at`). */
  tableName: string;
  clock: Pick<Clock, 'now'>;
  logger: LoopGuardLogger;
}

/** The default when a service (or the LLM door) sets none: ten identical calls a minute is a loop, not work. */
export const DEFAULT_LOOP_DETECTION = { maxRepeats: 10, windowMs: 60_000 } as const;

/**
 * An agent stuck in a loop makes the same call again and again (the $2,000-overnight failure).
 * One counter per key, call fingerprint and window, raised by a conditional write across the
 * fleet: the call past `maxRepeats` in a window is refused with 429 `loop_detected` and a
 * security log event. A store that cannot be reached lets the call through (logged): loop
 * detection is protection, the spend caps are the boundary.
 */
export class DynamoLoopGuard implements LoopGuard {
  constructor(private readonly options: DynamoLoopGuardOptions) {}

  async check(input: { keyId: string; tenant: string; keyPrefix: string; fingerprint: string; maxRepeats: number; windowMs: number }): Promise<void> {
    const { doc, tableName, clock, logger } = this.options;
    const now = clock.now();
    const window = Math.floor(now / input.windowMs);
    const windowEnd = (window + 1) * input.windowMs;
    try {
      await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: `loop#${input.keyId}#${input.fingerprint}#${input.windowMs}#${window}` },
          UpdateExpression: 'ADD #count :one SET #exp = :exp',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
          ExpressionAttributeNames: { '#count': 'count', '#exp': 'expires_at' },
          ExpressionAttributeValues: { ':one': 1, ':max': input.maxRepeats, ':exp': Math.ceil(windowEnd / 1_000) + 60 },
        }),
      );
    } catch (error) {
      if ((error as Error)?.name !== 'ConditionalCheckFailedException') {
        logger.warn('loop detection store unavailable: call goes through unchecked', { error: (error as Error)?.name });
        return;
      }
      logger.warn('security: agent loop detected', {
        event: 'loop_detected',
        tenant: input.tenant,
        key_prefix: input.keyPrefix,
        fingerprint: input.fingerprint.slice(0, 16),
        max_repeats: input.maxRepeats,
        window_ms: input.windowMs,
      });
      throw new GatewayError(
        'loop_detected',
        `this key made the same call more than ${input.maxRepeats} times in ${Math.round(input.windowMs / 1_000)} s; it looks like an agent loop`,
        { headers: { 'retry-after': String(Math.max(1, Math.ceil((windowEnd - now) / 1_000))) } },
      );
    }
  }
}
