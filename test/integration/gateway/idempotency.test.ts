import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { budgetWindows } from '../../../shared/budget/windows';
import { IdempotentExecutor } from '../../../shared/idempotency';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { deadDynamoClients } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { assertClientError, assertErrorBody, fastRetry, hello, openaiProvider, raw, sdkClient, testSettings, type RawResponse } from '../../support/e2eHarness';
import { chatCompletion, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const KEY = 'bw_test_idempotency_0001_xxxxxxx';
const MODEL = 'idem-model';
/** $0.013 an answer (5 × $0.001 in, 4 × $0.002 out): lets the test see that a replay spends nothing. */
const PRICES = { [MODEL]: { input: 1_000, output: 2_000, cache_read: 1_000, cache_write: 1_000, max_output_tokens: 100 } };
const COST_MICROS = 13_000;

const body = (content = 'hello') => ({ model: 'client-model', messages: [{ role: 'user' as const, content }], max_tokens: 10 });
const codeOf = (response: RawResponse) => (response.json as { error?: { code?: string } } | undefined)?.error?.code;

describe('gateway integration: Idempotency-Key over HTTP (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;

  const send = (key: string, payload: unknown = body()) =>
    raw(`${gateway.url}/v1/chat/completions`, { body: payload, auth: KEY, headers: { 'idempotency-key': key } });

  async function spentTodayMicros(): Promise<number> {
    const windows = budgetWindows(Date.now());
    const { Item } = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tables.spend, Key: { pk: `spend#acme#${windows.month}` }, ConsistentRead: true }),
    );
    return (Item?.[`day_${windows.day}_micro_usd`] as number | undefined) ?? 0;
  }

  const config = (): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mock) },
    routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(1), targets: [{ provider: 'upstream', override_params: { model: MODEL } }] } },
    tenants: { acme: { route: 'main', keys: [KEY], daily_budget_usd: 10 } },
    prices: PRICES,
    settings: testSettings(),
  });

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    gateway = await startStatefulGateway({ dynamo, config: config() });
  });

  after(async () => {
    await gateway?.close();
    await mock?.close();
    await dynamo?.stop();
  });

  beforeEach(() => mock.reset());

  it('guarantee: calls the upstream once for 50 concurrent requests with one Idempotency-Key', async () => {
    mock.setDefault({ delayMs: 300, body: chatCompletion('the one answer', MODEL) });

    const responses = await Promise.all(Array.from({ length: 50 }, () => send('key-concurrent-50')));

    assert.equal(mock.requests.length, 1, 'one upstream call for fifty deliveries');
    const originals = responses.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
    const replays = responses.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === 'true');
    const inProgress = responses.filter((r) => r.status === 409);
    assert.equal(originals.length, 1, 'exactly one response ran the request');
    assert.equal(originals.length + replays.length + inProgress.length, 50, `unexpected statuses: ${responses.map((r) => `${r.status} ${codeOf(r)}`).join(', ')}`);
    for (const conflict of inProgress) {
      assertClientError(conflict, 409, 'idempotency_in_progress');
      assert.equal(conflict.headers.get('retry-after'), '1');
    }
    const original = originals[0]!;
    for (const replay of replays) assert.deepEqual(replay.json, original.json);

    const later = await send('key-concurrent-50');
    assert.equal(later.status, 200, later.text);
    assert.equal(later.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(later.json, original.json, 'the stored answer, byte for byte');
    assert.equal(later.headers.get('x-breakwater-cost-usd'), '0.013', 'the original response headers are replayed');
    assert.notEqual(later.headers.get('x-request-id'), original.headers.get('x-request-id'), 'the replay has its own request id');
    assert.equal(mock.requests.length, 1);
    assert.equal(await spentTodayMicros(), COST_MICROS, 'the request was paid for once');
  });

  it('guarantee: the same key with a different body is 422 idempotency_key_reused, without calling the upstream', async () => {
    const first = await send('key-reused', body('first question'));
    assert.equal(first.status, 200, first.text);

    const reused = await send('key-reused', body('a different question'));

    assertClientError(reused, 422, 'idempotency_key_reused');
    assert.equal(mock.requests.length, 1);
  });

  it('guarantee: a first call the upstream rejected (400) is not stored: the same key runs again and then succeeds', async () => {
    mock.script({ status: 400, body: { error: { message: 'bad temperature' } } });

    const rejected = await send('key-after-400');
    assert.equal(rejected.status, 400, rejected.text);
    assertErrorBody(rejected.json, { code: 'upstream_rejected', type: 'invalid_request_error' });

    const retried = await sdkClient(gateway.url, KEY).chat.completions.create(body(), { headers: { 'Idempotency-Key': 'key-after-400' } }).withResponse();
    assert.equal(retried.data.choices[0]?.message.content, 'hello from the mock');
    assert.equal(retried.response.headers.get('idempotent-replayed'), null, 'the retry ran; it was not a replay of the 400');
    assert.equal(mock.requests.length, 2);

    const replay = await send('key-after-400');
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(mock.requests.length, 2);
  });

  it('guarantee: a first call that failed on every attempt (503s) is not stored: the same key runs again and then succeeds', async () => {
    mock.script({ status: 503 }, { status: 503 });

    const failed = await send('key-after-503');
    assert.equal(failed.status, 503, failed.text);
    assertErrorBody(failed.json, { code: 'all_targets_failed', type: 'api_error' });
    assert.equal(mock.requests.length, 2);

    const retried = await send('key-after-503');
    assert.equal(retried.status, 200, retried.text);
    assert.equal(retried.headers.get('idempotent-replayed'), null);
    assert.equal(mock.requests.length, 3);

    const replay = await send('key-after-503');
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.json, retried.json);
    assert.equal(mock.requests.length, 3);
  });

  it('guarantee: idempotency store down → 503 idempotency_unavailable and the upstream is not called (fail closed); without the header the request is served', async () => {
    const dead = deadDynamoClients();
    const container = await startStatefulGateway({
      dynamo,
      config: config(),
      seedConfigKeys: false,
      overrideServices: (built, { logger }) => ({
        ...built,
        idempotency: new IdempotentExecutor({ client: dead.client, tableName: dynamo.tables.idempotency, logger }),
      }),
    });
    try {
      const refused = await raw(`${container.url}/v1/chat/completions`, { body: body(), auth: KEY, headers: { 'idempotency-key': 'key-store-down' } });
      assert.equal(refused.status, 503, refused.text);
      assertErrorBody(refused.json, { code: 'idempotency_unavailable', type: 'api_error' });
      assert.equal(mock.requests.length, 0, 'at-most-once could not be promised, so the request was not run');

      const plain = await raw(`${container.url}/v1/chat/completions`, { body: body(), auth: KEY });
      assert.equal(plain.status, 200, plain.text);
      assert.equal(mock.requests.length, 1);
    } finally {
      await container.close();
      dead.client.destroy();
    }
  });
});
