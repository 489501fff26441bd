import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ResponseCache } from '../../../shared/cache';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { deadDynamoClients } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { assertErrorBody, fastRetry, openaiProvider, raw, sdkClient, testSettings } from '../../support/e2eHarness';
import { chatCompletion, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { offsetClock, type OffsetClock } from '../../support/offsetClock';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const KEY = 'bw_test_cache_key_00001_xxxxxxxx';
const MAX_AGE_S = 60;

const question = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'client-model',
  messages: [{ role: 'user' as const, content }],
  ...extra,
});

describe('gateway integration: response cache over HTTP (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;
  let clock: OffsetClock;

  const send = (payload: unknown) => raw(`${gateway.url}/v1/chat/completions`, { body: payload, auth: KEY });

  const config = (): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mock) },
    routes: {
      cached: {
        strategy: { mode: 'single' },
        retry: fastRetry(1),
        cache: { mode: 'simple', max_age: MAX_AGE_S },
        targets: [{ provider: 'upstream', override_params: { model: 'cache-model' } }],
      },
      // Two failures open the breaker for ten minutes: longer than any clock jump below.
      'cached-breaker': {
        strategy: { mode: 'single' },
        retry: fastRetry(1),
        cache: { mode: 'simple', max_age: MAX_AGE_S },
        circuit_breaker: { failure_threshold: 2, cooldown_interval: 600_000 },
        targets: [{ provider: 'upstream', override_params: { model: 'breaker-cache-model' } }],
      },
    },
    tenants: { acme: { route: 'cached', allowed_routes: ['cached-breaker'], keys: [KEY] } },
    settings: testSettings(),
  });

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    // Stopped, so ages are exact however slow the machine; the test moves it past max_age.
    clock = offsetClock();
    clock.freeze();
    gateway = await startStatefulGateway({ dynamo, clock, config: config() });
  });

  after(async () => {
    await gateway?.close();
    await mock?.close();
    await dynamo?.stop();
  });

  beforeEach(() => mock.reset());

  it('guarantee: a cached route answers MISS and then HIT for the same request, calling the upstream once', async () => {
    mock.setDefault({ body: chatCompletion('computed once', 'cache-model') });
    const chat = sdkClient(gateway.url, KEY).chat.completions;

    const first = await chat.create(question('what is 2 + 2?')).withResponse();
    const second = await chat.create(question('what is 2 + 2?')).withResponse();
    // `user` says who asks, not what: it is not part of the cache key.
    const third = await chat.create(question('what is 2 + 2?', { user: 'someone-else' })).withResponse();

    assert.equal(first.response.headers.get('x-breakwater-cache'), 'MISS');
    assert.equal(second.response.headers.get('x-breakwater-cache'), 'HIT');
    assert.equal(third.response.headers.get('x-breakwater-cache'), 'HIT');
    assert.equal(second.response.headers.get('age'), '0');
    assert.equal(second.response.headers.get('x-breakwater-cost-usd'), '0', 'a hit costs nothing');
    assert.deepEqual(second.data, first.data);
    assert.equal(second.data.choices[0]?.message.content, 'computed once');
    assert.equal(mock.requests.length, 1, 'the upstream was called once');

    const other = await send(question('what is 3 + 3?'));
    assert.equal(other.headers.get('x-breakwater-cache'), 'MISS', 'another question is another entry');
    assert.equal(mock.requests.length, 2);
  });

  it('guarantee: when every target fails, an answer past max_age is served with x-breakwater-degraded: stale-cache and its age', async () => {
    mock.setDefault({ body: chatCompletion('old but gold', 'cache-model') });
    const stored = await send(question('capital of France?'));
    assert.equal(stored.headers.get('x-breakwater-cache'), 'MISS');

    clock.advance(120_000);
    mock.reset();
    mock.setDefault({ status: 503 });
    const degraded = await send(question('capital of France?'));

    assert.equal(degraded.status, 200, degraded.text);
    assert.equal(degraded.headers.get('x-breakwater-degraded'), 'stale-cache');
    assert.equal(degraded.headers.get('x-breakwater-cache'), 'STALE');
    assert.equal(degraded.headers.get('age'), '120');
    assert.deepEqual(degraded.json, stored.json);
    assert.equal(mock.requests.length, 2, 'the stale entry is the last resort: the target was tried (and retried) first');

    // Nothing cached for this one: the failure stands.
    const uncached = await send(question('capital of Peru?'));
    assert.equal(uncached.status, 503, uncached.text);
    assertErrorBody(uncached.json, { code: 'all_targets_failed', type: 'api_error' });

    // With the upstream back, a stale entry is not served as a hit: it is refreshed.
    mock.reset();
    mock.setDefault({ body: chatCompletion('fresh again', 'cache-model') });
    const refreshed = await send(question('capital of France?'));
    assert.equal(refreshed.headers.get('x-breakwater-cache'), 'MISS');
    assert.equal((refreshed.json as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content, 'fresh again');
    const hit = await send(question('capital of France?'));
    assert.equal(hit.headers.get('x-breakwater-cache'), 'HIT');
    assert.equal(mock.requests.length, 1);
  });

  it('guarantee: when every target is skipped for an open breaker, a stale answer is served instead of 503 all_targets_unavailable, without calling the upstream', async () => {
    const viaBreakerRoute = (payload: unknown) =>
      raw(`${gateway.url}/v1/chat/completions`, { body: payload, auth: KEY, headers: { 'x-breakwater-route': 'cached-breaker' } });
    mock.setDefault({ body: chatCompletion('kept for a rainy day', 'breaker-cache-model') });
    const stored = await viaBreakerRoute(question('largest ocean?'));
    assert.equal(stored.headers.get('x-breakwater-cache'), 'MISS');

    mock.setDefault({ status: 503 });
    const tripping = await viaBreakerRoute(question('smallest ocean?'));
    assert.equal(tripping.status, 503);
    const open = await viaBreakerRoute(question('deepest ocean?'));
    assertErrorBody(open.json, { code: 'all_targets_unavailable', type: 'api_error' });
    assert.equal(mock.requests.length, 3, 'one stored answer, then two failures that opened the breaker');

    clock.advance(90_000);
    const degraded = await viaBreakerRoute(question('largest ocean?'));

    assert.equal(degraded.status, 200, degraded.text);
    assert.equal(degraded.headers.get('x-breakwater-degraded'), 'stale-cache');
    assert.equal(degraded.headers.get('age'), '90');
    assert.deepEqual(degraded.json, stored.json);
    assert.equal(mock.requests.length, 3, 'the open breaker kept the upstream out of it');
  });

  it('guarantee: cache store down → every request is served from the upstream (a miss), never failed', async () => {
    const dead = deadDynamoClients();
    const container = await startStatefulGateway({
      dynamo,
      clock,
      config: config(),
      seedConfigKeys: false,
      overrideServices: (built, { logger }) => ({
        ...built,
        cache: new ResponseCache({ doc: dead.doc, tableName: dynamo.tables.cache, clock, logger }),
      }),
    });
    try {
      const first = await raw(`${container.url}/v1/chat/completions`, { body: question('store down?'), auth: KEY });
      const second = await raw(`${container.url}/v1/chat/completions`, { body: question('store down?'), auth: KEY });
      assert.deepEqual([first.status, second.status], [200, 200]);
      assert.deepEqual([first.headers.get('x-breakwater-cache'), second.headers.get('x-breakwater-cache')], ['MISS', 'MISS']);
      assert.equal(mock.requests.length, 2);
    } finally {
      await container.close();
      dead.client.destroy();
    }
  });
});
