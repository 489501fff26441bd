import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rateLimitPk, rateLimitUpdate, rateWindow, settleTokensUpdate, whichLimit } from '../../../shared/ratelimit';

const MINUTE_START = 28_333_333 * 60_000; // 1_699_999_980_000

describe('rateWindow', () => {
  it('numbers fixed minutes and says how long until the next one', () => {
    assert.deepEqual(rateWindow(MINUTE_START + 15_500), {
      minute: 28_333_333,
      startMs: MINUTE_START,
      endMs: MINUTE_START + 60_000,
      retryAfterSeconds: 45,
      expiresAtSeconds: (MINUTE_START + 120_000) / 1000,
    });
    assert.equal(rateWindow(MINUTE_START).retryAfterSeconds, 60);
    assert.equal(rateWindow(MINUTE_START + 59_999).retryAfterSeconds, 1);
    assert.equal(rateWindow(MINUTE_START + 60_000).minute, 28_333_334);
    assert.equal(rateLimitPk('abc', 28_333_333), 'rl#abc#28333333');
  });
});

describe('rateLimitUpdate', () => {
  const window = rateWindow(MINUTE_START + 1_000);

  it('admits a request only while both counters stay within their limits', () => {
    assert.deepEqual(rateLimitUpdate({ tableName: 'rl', keyId: 'k1', window, rpmLimit: 20, tpmLimit: 1_000, estimatedTokens: 150 }), {
      TableName: 'rl',
      Key: { pk: 'rl#k1#28333333' },
      UpdateExpression: 'ADD #requests :one, #tokens :cost SET #expires = :expires',
      ConditionExpression:
        '(attribute_not_exists(#requests) OR #requests <= :rpm_limit_minus_cost) AND (attribute_not_exists(#tokens) OR #tokens <= :tpm_limit_minus_cost)',
      ExpressionAttributeNames: { '#requests': 'requests', '#expires': 'expires_at', '#tokens': 'tokens' },
      ExpressionAttributeValues: {
        ':one': 1,
        ':expires': (MINUTE_START + 120_000) / 1000,
        ':rpm_limit_minus_cost': 19,
        ':cost': 150,
        ':tpm_limit_minus_cost': 850,
      },
      ReturnValues: 'UPDATED_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('counts no tokens when the key has only an rpm limit', () => {
    const update = rateLimitUpdate({ tableName: 'rl', keyId: 'k1', window, rpmLimit: 5, estimatedTokens: 150 });
    assert.equal(update.UpdateExpression, 'ADD #requests :one SET #expires = :expires');
    assert.equal(update.ConditionExpression, '(attribute_not_exists(#requests) OR #requests <= :rpm_limit_minus_cost)');
    assert.deepEqual(update.ExpressionAttributeValues, { ':one': 1, ':expires': (MINUTE_START + 120_000) / 1000, ':rpm_limit_minus_cost': 4 });
  });

  it('settles a token correction unconditionally on the given window', () => {
    assert.deepEqual(settleTokensUpdate('rl', 'k1', window, -40), {
      TableName: 'rl',
      Key: { pk: 'rl#k1#28333333' },
      UpdateExpression: 'ADD #tokens :delta SET #expires = :expires',
      ExpressionAttributeNames: { '#tokens': 'tokens', '#expires': 'expires_at' },
      ExpressionAttributeValues: { ':delta': -40, ':expires': (MINUTE_START + 120_000) / 1000 },
    });
  });
});

describe('whichLimit', () => {
  it('names the only limit set, or reads it from the counters DynamoDB returned', () => {
    assert.equal(whichLimit(10, undefined, 5, undefined), 'rpm_limit');
    assert.equal(whichLimit(undefined, 100, 5, undefined), 'tpm_limit');
    assert.equal(whichLimit(10, 100, 5, { requests: 10, tokens: 20 }), 'rpm_limit');
    assert.equal(whichLimit(10, 100, 5, { requests: { N: '3' }, tokens: { N: '96' } }), 'tpm_limit');
    assert.equal(whichLimit(10, 100, 5, undefined), undefined);
  });
});
