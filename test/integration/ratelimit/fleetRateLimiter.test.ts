import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isGatewayError } from '../../../shared/errors';
import { FleetRateLimiter, type RateLimitLogger } from '../../../shared/ratelimit';
import { createDynamoClients } from '../../../shared/stores/dynamo';
import { fakeClock } from '../../support/fakeClock';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';

/** 15.5 s into an epoch minute: the next window opens in 44.5 s, so retry-after is 45. */
const MINUTE = 28_333_333;
const NOW = MINUTE * 60_000 + 15_500;

function recordingLogger() {
  const warnings: Array<{ message: string; attributes: Record<string, unknown> }> = [];
  const logger: RateLimitLogger = { warn: (message, attributes) => warnings.push({ message, attributes }) };
  return { logger, warnings };
}

/** Asserts a rate_limited 429 with the given retry-after and limit. */
const rateLimited = (retryAfter: string | undefined, limit: string) => (error: unknown) => {
  assert.ok(isGatewayError(error), String(error));
  assert.equal(error.code, 'rate_limited');
  assert.equal(error.status, 429);
  assert.equal(error.headers?.['retry-after'], retryAfter);
  assert.deepEqual(error.details, { limit });
  return true;
};

describe('FleetRateLimiter against DynamoDB Local', () => {
  let dynamo: DynamoLocal;
  let clock: ReturnType<typeof fakeClock>;
  const limiter = (options: { doc?: DynamoDBDocumentClient; logger?: RateLimitLogger } = {}) =>
    new FleetRateLimiter({
      doc: options.doc ?? dynamo.doc,
      tableName: dynamo.tables.rateLimits,
      logger: options.logger ?? recordingLogger().logger,
      clock,
      // DynamoDB Local's JVM can be slow on its first burst; the default 1 s would let requests through unchecked.
      timeoutMs: 10_000,
    });
  const counter = async (keyId: string, minute = MINUTE) =>
    (await dynamo.doc.send(new GetCommand({ TableName: dynamo.tables.rateLimits, Key: { pk: `rl#${keyId}#${minute}` } }))).Item;

  before(async () => {
    dynamo = await startDynamoLocal();
    clock = fakeClock(NOW);
  });
  after(async () => {
    await dynamo?.stop();
  });

  it('refuses the N+1th request in a window with 429 and retry-after until the next window', async () => {
    clock = fakeClock(NOW);
    const rl = limiter();
    for (let i = 0; i < 3; i++) await rl.check({ keyId: 'rpm', rpmLimit: 3, estimatedTokens: 10 });
    await assert.rejects(rl.check({ keyId: 'rpm', rpmLimit: 3, estimatedTokens: 10 }), rateLimited('45', 'rpm_limit'));
    assert.deepEqual(await counter('rpm'), { pk: `rl#rpm#${MINUTE}`, requests: 3, expires_at: ((MINUTE + 2) * 60_000) / 1000 });
    assert.equal((await rl.check({ keyId: 'other-key', rpmLimit: 3, estimatedTokens: 10 })).headers['x-ratelimit-remaining-requests'], '2');
    clock.advance(44_500);
    const permit = await rl.check({ keyId: 'rpm', rpmLimit: 3, estimatedTokens: 10 });
    assert.equal(permit.headers['x-ratelimit-remaining-requests'], '2');
  });

  it('refuses a request whose tokens would pass the tpm limit, and counts settled tokens', async () => {
    clock = fakeClock(NOW);
    const rl = limiter();
    const first = await rl.check({ keyId: 'tpm', tpmLimit: 100, estimatedTokens: 40 });
    await rl.check({ keyId: 'tpm', tpmLimit: 100, estimatedTokens: 40 });
    await assert.rejects(rl.check({ keyId: 'tpm', tpmLimit: 100, estimatedTokens: 21 }), rateLimited('45', 'tpm_limit'));
    await first.settleTokens(-20);
    assert.equal((await counter('tpm'))?.tokens, 60);
    const third = await rl.check({ keyId: 'tpm', tpmLimit: 100, estimatedTokens: 40 });
    assert.equal(third.headers['x-ratelimit-remaining-tokens'], '0');
    await third.settleTokens(15);
    assert.deepEqual(await counter('tpm'), { pk: `rl#tpm#${MINUTE}`, requests: 3, tokens: 115, expires_at: ((MINUTE + 2) * 60_000) / 1000 });
    await assert.rejects(rl.check({ keyId: 'tpm', tpmLimit: 100, estimatedTokens: 1 }), rateLimited('45', 'tpm_limit'));
  });

  it('names the limit that refused when a key has both', async () => {
    clock = fakeClock(NOW);
    const rl = limiter();
    await rl.check({ keyId: 'both', rpmLimit: 5, tpmLimit: 100, estimatedTokens: 90 });
    await assert.rejects(rl.check({ keyId: 'both', rpmLimit: 5, tpmLimit: 100, estimatedTokens: 20 }), rateLimited('45', 'tpm_limit'));
    await rl.check({ keyId: 'both-rpm', rpmLimit: 1, tpmLimit: 100, estimatedTokens: 1 });
    await assert.rejects(rl.check({ keyId: 'both-rpm', rpmLimit: 1, tpmLimit: 100, estimatedTokens: 1 }), rateLimited('45', 'rpm_limit'));
  });

  it('never admits more than the rpm limit under 50 concurrent requests', async () => {
    clock = fakeClock(NOW);
    const rl = limiter();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => rl.check({ keyId: 'burst', rpmLimit: 20, estimatedTokens: 1 })));
    const admitted = results.filter((result) => result.status === 'fulfilled').length;
    const refused = results.filter(
      (result) => result.status === 'rejected' && isGatewayError(result.reason) && result.reason.status === 429,
    ).length;
    assert.deepEqual({ admitted, refused }, { admitted: 20, refused: 30 });
    assert.equal((await counter('burst'))?.requests, 20);
  });

  it('makes no DynamoDB call for a key without limits', async () => {
    let sends = 0;
    const counting = { send: async () => (sends += 1) } as unknown as DynamoDBDocumentClient;
    const permit = await limiter({ doc: counting }).check({ keyId: 'free', estimatedTokens: 10_000 });
    await permit.settleTokens(5_000);
    assert.equal(sends, 0);
  });

  it('allows the request and logs a warning when the store is unreachable', async () => {
    // A port nothing listens on: the connection is refused at once.
    const { doc, client } = createDynamoClients({ endpoint: 'http://127.0.0.1:1' });
    const { logger, warnings } = recordingLogger();
    try {
      const permit = await limiter({ doc, logger }).check({ keyId: 'down', rpmLimit: 1, estimatedTokens: 1 });
      assert.deepEqual(permit.headers, {});
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.message, 'rate-limit store unavailable; request allowed unchecked');
      assert.equal(warnings[0]?.attributes.operation, 'check');
    } finally {
      client.destroy();
    }
  });
});
