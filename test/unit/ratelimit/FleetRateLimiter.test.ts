import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isGatewayError } from '../../../shared/errors';
import { FleetRateLimiter, type RateLimitLogger } from '../../../shared/ratelimit';
import { StoreTimeoutError } from '../../../shared/stores/boundedCalls';
import { fakeClock } from '../../support/fakeClock';

const MINUTE_START = 28_333_333 * 60_000;

/** A DocumentClient stand-in recording each command's input and answering from a script. */
function fakeDoc(answer: (input: Record<string, unknown>) => unknown = () => ({ Attributes: { requests: 1 } })) {
  const sent: Array<Record<string, unknown>> = [];
  const doc = {
    send: async (command: UpdateCommand) => {
      sent.push(command.input as Record<string, unknown>);
      const result = answer(command.input as Record<string, unknown>);
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as DynamoDBDocumentClient;
  return { doc, sent };
}

function recordingLogger() {
  const warnings: Array<{ message: string; attributes: Record<string, unknown> }> = [];
  const logger: RateLimitLogger = { warn: (message, attributes) => warnings.push({ message, attributes }) };
  return { logger, warnings };
}

describe('FleetRateLimiter', () => {
  it('accepts Powertools Logger as its logger', () => {
    const logger: RateLimitLogger = new Logger({ logLevel: 'SILENT' });
    assert.equal(typeof logger.warn, 'function');
  });

  it('makes no DynamoDB call at all for a key without limits', async () => {
    const { doc, sent } = fakeDoc();
    const limiter = new FleetRateLimiter({ doc, tableName: 'rl', logger: recordingLogger().logger, clock: fakeClock(MINUTE_START) });
    const permit = await limiter.check({ keyId: 'k', estimatedTokens: 500 });
    await permit.settleTokens(1_000);
    assert.deepEqual(permit.headers, {});
    assert.equal(sent.length, 0);
  });

  it('refuses a request larger than the whole tpm limit without a call and without retry-after', async () => {
    const { doc, sent } = fakeDoc();
    const limiter = new FleetRateLimiter({ doc, tableName: 'rl', logger: recordingLogger().logger, clock: fakeClock(MINUTE_START) });
    await assert.rejects(limiter.check({ keyId: 'k', tpmLimit: 1_000, estimatedTokens: 1_001 }), (error) => {
      assert.ok(isGatewayError(error));
      assert.equal(error.code, 'rate_limited');
      assert.equal(error.status, 429);
      assert.deepEqual(error.headers, {});
      assert.deepEqual(error.details, { limit: 'tpm_limit' });
      return true;
    });
    assert.equal(sent.length, 0);
  });

  it('lets the request through and logs when the store cannot be reached', async () => {
    const { doc, sent } = fakeDoc(() => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { name: 'Error' }));
    const { logger, warnings } = recordingLogger();
    const limiter = new FleetRateLimiter({ doc, tableName: 'rl', logger, clock: fakeClock(MINUTE_START) });
    const permit = await limiter.check({ keyId: 'k', rpmLimit: 1, tpmLimit: 10, estimatedTokens: 5 });
    assert.deepEqual(permit.headers, {});
    await permit.settleTokens(5);
    assert.equal(sent.length, 1, 'the no-op permit does not try to settle');
    assert.deepEqual(warnings, [
      {
        message: 'rate-limit store unavailable; request allowed unchecked',
        attributes: { operation: 'check', error: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1' },
      },
    ]);
  });

  it('settles extra tokens on the current window, and refunds only within the charged window', async () => {
    const { doc, sent } = fakeDoc(() => ({ Attributes: { requests: 1, tokens: 100 } }));
    const clock = fakeClock(MINUTE_START + 50_000);
    const limiter = new FleetRateLimiter({ doc, tableName: 'rl', logger: recordingLogger().logger, clock });
    const permit = await limiter.check({ keyId: 'k', tpmLimit: 1_000, estimatedTokens: 100 });
    await permit.settleTokens(0);
    await permit.settleTokens(-30);
    clock.advance(20_000);
    await permit.settleTokens(-30);
    await permit.settleTokens(25);
    assert.deepEqual(
      sent.slice(1).map((input) => [(input.Key as { pk: string }).pk, (input.ExpressionAttributeValues as { ':delta': number })[':delta']]),
      [
        ['rl#k#28333333', -30],
        ['rl#k#28333334', 25],
      ],
    );
  });

  it('never throws from settleTokens', async () => {
    let calls = 0;
    const { doc } = fakeDoc(() => (++calls === 1 ? { Attributes: {} } : new Error('socket hang up')));
    const { logger, warnings } = recordingLogger();
    const limiter = new FleetRateLimiter({ doc, tableName: 'rl', logger, clock: fakeClock(MINUTE_START) });
    const permit = await limiter.check({ keyId: 'k', tpmLimit: 1_000, estimatedTokens: 100 });
    await permit.settleTokens(50);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.attributes.operation, 'settle');
  });

  it('reports what is left in OpenAI-style headers', async () => {
    const { doc } = fakeDoc(() => ({ Attributes: { requests: 3, tokens: 400 } }));
    const limiter = new FleetRateLimiter({ doc, tableName: 'rl', logger: recordingLogger().logger, clock: fakeClock(MINUTE_START + 15_500) });
    const permit = await limiter.check({ keyId: 'k', rpmLimit: 10, tpmLimit: 1_000, estimatedTokens: 100 });
    assert.deepEqual(permit.headers, {
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '7',
      'x-ratelimit-reset-requests': '45s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '600',
      'x-ratelimit-reset-tokens': '45s',
    });
  });

  it('guarantee: after the store fails, it is not asked for storeRetryIntervalMs (a hung store costs one request its timeout, not every one)', async () => {
    let failing = true;
    const { doc, sent } = fakeDoc(() => (failing ? Object.assign(new Error('no answer'), { name: 'TimeoutError' }) : { Attributes: { requests: 1 } }));
    const clock = fakeClock(MINUTE_START);
    const limiter = new FleetRateLimiter({ doc, tableName: 'rl', logger: recordingLogger().logger, clock, storeRetryIntervalMs: 5_000 });
    const check = () => limiter.check({ keyId: 'k', rpmLimit: 10, tpmLimit: 1_000, estimatedTokens: 10 });

    const first = await check();
    await first.settleTokens(5);
    const second = await check();
    assert.equal(sent.length, 1, 'one failed check; the settle and the next check were not sent');
    assert.deepEqual(second.headers, {}, 'let through unchecked');

    failing = false;
    clock.advance(5_000);
    const third = await check();
    assert.equal(sent.length, 2, 'asked again once the interval passed');
    assert.equal(third.headers['x-ratelimit-limit-requests'], '10');
  });

  it("a call cut by its request's deadline does not mark the store down", async () => {
    const { doc, sent } = fakeDoc(() => new StoreTimeoutError('DynamoDB', 250, 'deadline'));
    const limiter = new FleetRateLimiter({ doc, tableName: 'rl', logger: recordingLogger().logger, clock: fakeClock(MINUTE_START) });
    await limiter.check({ keyId: 'k', rpmLimit: 10, estimatedTokens: 10 });
    await limiter.check({ keyId: 'k', rpmLimit: 10, estimatedTokens: 10 });
    assert.equal(sent.length, 2);
  });
});
