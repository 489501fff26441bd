import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { cacheKey, ResponseCache } from '../../../shared/cache';
import { createDynamoClients } from '../../../shared/stores/dynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fakeClock } from '../../support/fakeClock';

function recordingLogger() {
  const lines: Array<[level: string, message: string]> = [];
  const log = (level: string) => (message: unknown, ..._extra: unknown[]) => void lines.push([level, String(message)]);
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

const START = 1_700_000_000_000;
const completion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: '4' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
};
const request = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 2+2?' }] };

describe('ResponseCache against DynamoDB Local', () => {
  let store: DynamoLocal;
  let clock: ReturnType<typeof fakeClock>;
  let logger: ReturnType<typeof recordingLogger>;
  let cache: ResponseCache;
  let n = 0;
  // A key per test: every test shares one table.
  const key = (tenant = 'acme') => cacheKey({ tenant, route: `route-${n}`, operation: 'chat', body: request });

  before(async () => {
    store = await startDynamoLocal();
  });
  after(async () => {
    await store?.stop();
  });
  beforeEach(() => {
    n++;
    clock = fakeClock(START);
    logger = recordingLogger();
    cache = new ResponseCache({ doc: store.doc, tableName: store.tables.cache, clock, logger });
  });

  it('misses when nothing was stored', async () => {
    assert.equal(await cache.get(key(), 3600), undefined);
  });

  it('serves a stored response as fresh, with its age', async () => {
    await cache.put(key(), completion, 3600);
    assert.deepEqual(await cache.get(key(), 3600), { body: completion, ageSeconds: 0, fresh: true });
    clock.advance(3_599_999);
    assert.deepEqual(await cache.get(key(), 3600), { body: completion, ageSeconds: 3599, fresh: true });
  });

  it('reports it stale after max_age, and keeps it a day as a last resort', async () => {
    await cache.put(key(), completion, 60);
    clock.advance(60_000);
    assert.deepEqual(await cache.get(key(), 60), { body: completion, ageSeconds: 60, fresh: false });
    clock.advance(86_400_000 - 60_000 - 1_000);
    assert.deepEqual(await cache.get(key(), 60), { body: completion, ageSeconds: 86_399, fresh: false });
    clock.advance(1_000);
    // Past expires_at: a miss even though DynamoDB's TTL has not deleted the item yet.
    assert.equal(await cache.get(key(), 60), undefined);
  });

  it('writes the TTL attribute as epoch seconds: max(max_age, 24 h) from now', async () => {
    await cache.put(key(), completion, 60);
    const short = await store.doc.send(new GetCommand({ TableName: store.tables.cache, Key: { pk: key() } }));
    assert.equal(short.Item?.expires_at, START / 1000 + 86_400);
    assert.equal(short.Item?.stored_at, START);
    assert.equal(short.Item?.body, JSON.stringify(completion));

    await cache.put(key('long'), completion, 7 * 86_400);
    const long = await store.doc.send(new GetCommand({ TableName: store.tables.cache, Key: { pk: key('long') } }));
    assert.equal(long.Item?.expires_at, START / 1000 + 7 * 86_400);
  });

  it('judges freshness by the max_age asked for at read time', async () => {
    await cache.put(key(), completion, 3600);
    clock.advance(120_000);
    assert.equal((await cache.get(key(), 60))?.fresh, false);
    assert.equal((await cache.get(key(), 3600))?.fresh, true);
  });

  it('does not cache a response too large for an item, and says so at debug', async () => {
    const huge = { ...completion, choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(360_000) } }] };
    await cache.put(key(), huge, 3600);
    assert.equal(await cache.get(key(), 3600), undefined);
    assert.deepEqual(logger.lines, [['debug', 'response too large to cache']]);

    const justFits = { content: 'x'.repeat(349_000) };
    await cache.put(key('fits'), justFits, 3600);
    assert.deepEqual((await cache.get(key('fits'), 3600))?.body, justFits);
  });

  it('scopes entries to the tenant', async () => {
    await cache.put(key('tenant-a'), completion, 3600);
    assert.equal(await cache.get(key('tenant-b'), 3600), undefined);
    assert.deepEqual((await cache.get(key('tenant-a'), 3600))?.body, completion);
  });

  it('store down: get misses and put does nothing, both with a warning, neither throws', async () => {
    const { doc, client } = createDynamoClients({ endpoint: 'http://127.0.0.1:1' });
    const down = new ResponseCache({ doc, tableName: store.tables.cache, clock, logger, storeRetryIntervalMs: 0 });
    try {
      assert.equal(await down.get(key(), 3600), undefined);
      await down.put(key(), completion, 3600);
      assert.deepEqual(logger.lines, [
        ['warn', 'response cache read failed; treating as a miss'],
        ['warn', 'response cache write failed; response not cached'],
      ]);
    } finally {
      client.destroy();
    }
  });

  it('store down: for storeRetryIntervalMs after a failure the store is not asked (the write after a failed read is no second wait)', async () => {
    const { doc, client } = createDynamoClients({ endpoint: 'http://127.0.0.1:1' });
    let sends = 0;
    const counting = { send: (...args: Parameters<typeof doc.send>) => (sends++, doc.send(...args)) } as unknown as typeof doc;
    const down = new ResponseCache({ doc: counting, tableName: store.tables.cache, clock, logger, storeRetryIntervalMs: 5_000 });
    try {
      assert.equal(await down.get(key(), 3600), undefined);
      await down.put(key(), completion, 3600);
      assert.equal(await down.get(key(), 3600), undefined);
      assert.equal(sends, 1, 'only the first read went to the store');
      clock.advance(5_000);
      assert.equal(await down.get(key(), 3600), undefined);
      assert.equal(sends, 2, 'asked again once the interval passed');
    } finally {
      client.destroy();
    }
  });
});
