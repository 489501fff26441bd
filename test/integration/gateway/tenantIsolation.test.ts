import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { budgetWindows } from '../../../shared/budget/windows';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fastRetry, hello, openaiProvider, raw, testSettings, type RawResponse } from '../../support/e2eHarness';
import { chatCompletion, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const MODEL = 'iso-model';
/** $0.013 an answer, as in the spend-cap tests. */
const PRICES = { [MODEL]: { input: 1_000, output: 2_000, cache_read: 1_000, cache_write: 1_000, max_output_tokens: 100 } };
const COST_MICROS = 13_000;

/** Two tenants per guarantee, so each test starts from empty state: `<concern>-a` and `<concern>-b`. */
const keyOf = (tenant: string) => `bw_test_iso_${tenant.replace('-', '_')}_key_0001_isolation`;
const request = { model: 'client-model', messages: hello, max_tokens: 10 };
const contentOf = (response: RawResponse) => (response.json as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content;

describe('gateway integration: tenant isolation of fleet state (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;

  const send = (tenant: string, headers: Record<string, string> = {}) =>
    raw(`${gateway.url}/v1/chat/completions`, { body: request, auth: keyOf(tenant), headers });

  async function spentTodayMicros(tenant: string): Promise<number> {
    const windows = budgetWindows(Date.now());
    const { Item } = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tables.spend, Key: { pk: `spend#${tenant}#${windows.month}` }, ConsistentRead: true }),
    );
    return (Item?.[`day_${windows.day}_micro_usd`] as number | undefined) ?? 0;
  }

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    const target = { provider: 'upstream', override_params: { model: MODEL } };
    const tenant = (name: string, extra: Record<string, unknown> = {}) => ({
      [name]: { route: 'plain', allowed_routes: ['cached'], keys: [keyOf(name)], ...extra },
    });
    gateway = await startStatefulGateway({
      dynamo,
      config: {
        providers: { upstream: openaiProvider(mock) },
        routes: {
          plain: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [target] },
          cached: { strategy: { mode: 'single' }, retry: fastRetry(0), cache: { mode: 'simple', max_age: 600 }, targets: [target] },
        },
        tenants: {
          ...tenant('idem-a'),
          ...tenant('idem-b'),
          ...tenant('spend-a', { daily_budget_usd: 1 }),
          ...tenant('spend-b', { daily_budget_usd: 0.5 }),
          ...tenant('cache-a'),
          ...tenant('cache-b'),
        },
        prices: PRICES,
        settings: testSettings(),
      },
    });
  });

  after(async () => {
    await gateway?.close();
    await mock?.close();
    await dynamo?.stop();
  });

  beforeEach(() => mock.reset());

  it("guarantee: the same Idempotency-Key and body from two tenants are two records: B's request calls the upstream and gets its own answer", async () => {
    mock.script({ body: chatCompletion('answer for A', MODEL) }, { body: chatCompletion('answer for B', MODEL) });
    const headers = { 'idempotency-key': 'shared-key-1' };

    const a = await send('idem-a', headers);
    const b = await send('idem-b', headers);

    assert.equal(mock.requests.length, 2, "B's request was not answered from A's record");
    assert.equal(b.headers.get('idempotent-replayed'), null);
    assert.equal(contentOf(a), 'answer for A');
    assert.equal(contentOf(b), 'answer for B');

    const aAgain = await send('idem-a', headers);
    const bAgain = await send('idem-b', headers);
    assert.equal(aAgain.headers.get('idempotent-replayed'), 'true');
    assert.equal(bAgain.headers.get('idempotent-replayed'), 'true');
    assert.equal(contentOf(aAgain), 'answer for A');
    assert.equal(contentOf(bAgain), 'answer for B');
    assert.equal(mock.requests.length, 2);
  });

  it("guarantee: tenant A's spend does not change tenant B's remaining budget", async () => {
    const bFirst = await send('spend-b');
    assert.equal(bFirst.headers.get('x-breakwater-budget-remaining-usd'), '0.487');

    const aRemaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) aRemaining.push((await send('spend-a')).headers.get('x-breakwater-budget-remaining-usd'));
    assert.deepEqual(aRemaining, ['0.987', '0.974', '0.961']);

    const bSecond = await send('spend-b');
    assert.equal(bSecond.headers.get('x-breakwater-budget-remaining-usd'), '0.474', "only B's own request came off B's budget");
    assert.equal(await spentTodayMicros('spend-a'), 3 * COST_MICROS);
    assert.equal(await spentTodayMicros('spend-b'), 2 * COST_MICROS);
  });

  it("guarantee: tenant A's cached answer is not served to tenant B", async () => {
    mock.script({ body: chatCompletion('cached for A', MODEL) }, { body: chatCompletion('cached for B', MODEL) });
    const viaCache = { 'x-breakwater-route': 'cached' };

    const a = await send('cache-a', viaCache);
    const b = await send('cache-b', viaCache);
    assert.equal(a.headers.get('x-breakwater-cache'), 'MISS');
    assert.equal(b.headers.get('x-breakwater-cache'), 'MISS', "B's identical request missed A's entry");
    assert.equal(contentOf(b), 'cached for B');
    assert.equal(mock.requests.length, 2);

    const aHit = await send('cache-a', viaCache);
    const bHit = await send('cache-b', viaCache);
    assert.equal(aHit.headers.get('x-breakwater-cache'), 'HIT');
    assert.equal(bHit.headers.get('x-breakwater-cache'), 'HIT');
    assert.equal(contentOf(aHit), 'cached for A');
    assert.equal(contentOf(bHit), 'cached for B');
    assert.equal(mock.requests.length, 2);
  });
});
