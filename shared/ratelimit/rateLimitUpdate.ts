import type { UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { rateLimitPk, type RateWindow } from './rateWindow';

export interface RateLimitCharge {
  tableName: string;
  keyId: string;
  window: RateWindow;
  rpmLimit?: number;
  tpmLimit?: number;
  /** Tokens charged now; corrected later by `settleTokens`. */
  estimatedTokens: number;
}

/**
 * The one conditional write that admits a request: add 1 request (and the estimated tokens) to
 * the window's counters only if the totals stay within the limits. DynamoDB applies it
 * atomically per item, so N concurrent requests never admit more than the limit.
 * `:rpm_limit_minus_cost` is `limit - 1`: a counter at or below it still has room for this one.
 */
export function rateLimitUpdate(charge: RateLimitCharge): UpdateCommandInput {
  const names: Record<string, string> = { '#requests': 'requests', '#expires': 'expires_at' };
  const values: Record<string, number> = { ':one': 1, ':expires': charge.window.expiresAtSeconds };
  const adds = ['#requests :one'];
  const conditions: string[] = [];
  if (charge.rpmLimit !== undefined) {
    values[':rpm_limit_minus_cost'] = charge.rpmLimit - 1;
    conditions.push('(attribute_not_exists(#requests) OR #requests <= :rpm_limit_minus_cost)');
  }
  if (charge.tpmLimit !== undefined) {
    names['#tokens'] = 'tokens';
    values[':cost'] = charge.estimatedTokens;
    values[':tpm_limit_minus_cost'] = charge.tpmLimit - charge.estimatedTokens;
    adds.push('#tokens :cost');
    conditions.push('(attribute_not_exists(#tokens) OR #tokens <= :tpm_limit_minus_cost)');
  }
  return {
    TableName: charge.tableName,
    Key: { pk: rateLimitPk(charge.keyId, charge.window.minute) },
    UpdateExpression: `ADD ${adds.join(', ')} SET #expires = :expires`,
    ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: 'UPDATED_NEW',
    // The counters that refused the request say which limit it hit (DynamoDB; emulators may omit them).
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/** Adds a token correction to a window's counter, unconditionally: the call already happened. */
export function settleTokensUpdate(tableName: string, keyId: string, window: RateWindow, delta: number): UpdateCommandInput {
  return {
    TableName: tableName,
    Key: { pk: rateLimitPk(keyId, window.minute) },
    UpdateExpression: 'ADD #tokens :delta SET #expires = :expires',
    ExpressionAttributeNames: { '#tokens': 'tokens', '#expires': 'expires_at' },
    ExpressionAttributeValues: { ':delta': delta, ':expires': window.expiresAtSeconds },
  };
}
