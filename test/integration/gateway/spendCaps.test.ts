import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSpendLedger, PriceTable, SpendGuard } from '../../../shared/budget';
import { budgetWindows } from '../../../shared/budget/windows';
import type { DynamoClients } from '../../../shared/stores/dynamo';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { capturingLogger, type CapturedLogs } from '../../support/capturingLogger';
import { deadDynamoClients } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { assertClientError, assertErrorBody, fastRetry, hello, openaiProvider, raw, sdkClient, testSettings } from '../../support/e2eHarness';
import { startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

/*
 * Prices chosen so every number is exact: $1,000 per million input tokens is $0.001 a token,
 * $2,000 per million output tokens $0.002. The mock answers with 5 prompt and 4 completion
 * tokens: 5 × 0.001 + 4 × 0.002 = $0.013 a request. The worst case reserved for
 * `hello` with max_tokens 10 is 27 estimated input tokens (16 request + 8 message overhead +
 * ceil(9 characters / 4)) × 0.001 + 10 × 0.002 = $0.047.
 */
const MODEL = 'priced-model';
const PRICES = { [MODEL]: { input: 1_000, output: 2_000, cache_read: 1_000, cache_write: 1_000, max_output_tokens: 100 } };
const COST_MICROS = 13_000;
const ESTIMATE_MICROS = 47_000;

const CAPPED_KEY = 'bw_test_spend_capped_0001';
const FRUGAL_KEY = 'bw_test_spend_frugal_0001';
const FLEET_KEY = 'bw_test_spend_fleet_00001';
const CLOSED_KEY = 'bw_test_spend_closed_0001';
const OPEN_KEY = 'bw_test_spend_opened_0001';
const RELEASED_KEY = 'bw_test_spend_release_001';

const request = (maxTokens = 10) => ({ model: 'client-model', messages: hello, max_tokens: maxTokens });

/** Whole seconds to the next UTC midnight, as the gateway computes Retry-After for a daily cap. */
const secondsToMidnight = (now = Date.now()) => budgetWindows(now).resetsInSeconds.day;

describe('gateway integration: strict spend caps over HTTP (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;
  let deadStoreGateway: StatefulGateway;
  let deadClients: DynamoClients;

  const config = (mockUrl: string): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mockUrl) },
    routes: {
      main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream', override_params: { model: MODEL } }] },
    },
    tenants: {
      capped: { route: 'main', keys: [CAPPED_KEY], daily_budget_usd: 0.1 },
      frugal: { route: 'main', keys: [FRUGAL_KEY], max_request_cost_usd: 0.04 },
      fleet: { route: 'main', keys: [FLEET_KEY], daily_budget_usd: 3.9 },
      closed: { route: 'main', keys: [CLOSED_KEY], daily_budget_usd: 1 },
      opened: { route: 'main', keys: [OPEN_KEY], daily_budget_usd: 1, budget_fail_open: true },
      released: { route: 'main', keys: [RELEASED_KEY], daily_budget_usd: 0.1 },
      narrowed: { route: 'main', daily_budget_usd: 0.1 },
      shared: { route: 'main', daily_budget_usd: 100 },
    },
    prices: PRICES,
    settings: testSettings(),
  });

  /** The tenant's recorded spend today, in microdollars, read straight from the spend table. */
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
    gateway = await startStatefulGateway({ config: config(mock.baseUrl), dynamo });
    // Every spend-ledger call of this gateway fails with a connection error; the rest is healthy.
    deadClients = deadDynamoClients();
    deadStoreGateway = await startStatefulGateway({
      config: config(mock.baseUrl),
      dynamo,
      overrideServices: (built, { config: compiled, clock, logger }) => ({
        ...built,
        spend: new SpendGuard({
          ledger: new DynamoSpendLedger(deadClients.doc, dynamo.tables.spend),
          prices: new PriceTable({ overrides: compiled.prices }),
          clock,
          logger,
        }),
      }),
    });
  });

  after(async () => {
    await deadStoreGateway?.close();
    await gateway?.close();
    deadClients?.client.destroy();
    await mock?.close();
    await dynamo?.stop();
  });

  beforeEach(() => mock.reset());

  it('guarantee: each answer carries its exact cost and the room left; at the daily cap the next request is 429 budget_exceeded with Retry-After, without calling the upstream', async () => {
    const chat = sdkClient(gateway.url, CAPPED_KEY).chat.completions;
    const seen: Array<[string | null, string | null]> = [];
    // $0.1 cap, $0.047 held per request: a request is let in while spent <= $0.053, i.e. five times.
    for (let i = 0; i < 5; i++) {
      const { response } = await chat.create(request()).withResponse();
      seen.push([response.headers.get('x-breakwater-cost-usd'), response.headers.get('x-breakwater-budget-remaining-usd')]);
    }
    assert.deepEqual(seen, [
      ['0.013', '0.087'],
      ['0.013', '0.074'],
      ['0.013', '0.061'],
      ['0.013', '0.048'],
      ['0.013', '0.035'],
    ]);
    assert.equal(mock.requests.length, 5);
    assert.equal(await spentTodayMicros('capped'), 5 * COST_MICROS);

    const before = secondsToMidnight();
    const refused = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: CAPPED_KEY });
    const afterward = secondsToMidnight();

    assert.equal(refused.status, 429, refused.text);
    assertErrorBody(refused.json, { code: 'budget_exceeded', type: 'rate_limit_error' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter <= before && retryAfter >= afterward, `Retry-After ${retryAfter} is the time to UTC midnight (${afterward}..${before})`);
    assert.equal(mock.requests.length, 5, 'the refused request never reached the upstream');
    assert.equal(await spentTodayMicros('capped'), 5 * COST_MICROS, 'a refusal records nothing');
  });

  it('guarantee: a request whose worst case is above max_request_cost_usd is 400 request_cost_exceeds_limit; a smaller one is served', async () => {
    const tooDear = await raw(`${gateway.url}/v1/chat/completions`, { body: request(10), auth: FRUGAL_KEY });

    const body = assertClientError(tooDear, 400, 'request_cost_exceeds_limit');
    assert.equal(
      body.error.message,
      'this request may cost up to $0.047 on priced-model, above the max_request_cost_usd of $0.04; lower max_tokens or shorten the prompt',
    );
    assert.equal(mock.requests.length, 0);

    // max_tokens 5: 27 × 0.001 + 5 × 0.002 = $0.037, under the $0.04 limit.
    const fits = await raw(`${gateway.url}/v1/chat/completions`, { body: request(5), auth: FRUGAL_KEY });
    assert.equal(fits.status, 200, fits.text);
    assert.equal(fits.headers.get('x-breakwater-cost-usd'), '0.013');
    assert.equal(fits.headers.get('x-breakwater-budget-remaining-usd'), null, 'no daily or monthly cap, so no remaining budget');
    assert.equal(mock.requests.length, 1);
  });

  it('guarantee: never exceeds the daily cap under 200 concurrent requests (4 gateways × 50), and the 80% alert fires exactly once', async () => {
    const CONCURRENCY = 200;
    const CAP_MICROS = 3_900_000;
    const logs: CapturedLogs[] = [];
    const fleet: StatefulGateway[] = [];
    for (let i = 0; i < 4; i++) {
      const captured = capturingLogger({ logLevel: 'INFO' });
      logs.push(captured);
      fleet.push(await startStatefulGateway({ config: config(mock.baseUrl), dynamo, logger: captured.logger, seedConfigKeys: i === 0 }));
    }
    try {
      let successes = 0;
      const statuses = new Map<string, number>();
      // Every worker sends requests one after another until the cap refuses it.
      const worker = async (index: number) => {
        const url = `${fleet[index % fleet.length]!.url}/v1/chat/completions`;
        for (let sent = 0; sent < 50; sent++) {
          const response = await raw(url, { body: request(), auth: FLEET_KEY });
          const code = (response.json as { error?: { code?: string } } | undefined)?.error?.code;
          const label = `${response.status}${code ? ` ${code}` : ''}`;
          statuses.set(label, (statuses.get(label) ?? 0) + 1);
          if (response.status === 200) successes += 1;
          else return;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => worker(i)));

      const spent = await spentTodayMicros('fleet');
      // Only successes and cap refusals: the store kept up with 200 concurrent requests.
      assert.deepEqual([...statuses.keys()].sort(), ['200', '429 budget_exceeded']);
      assert.equal(statuses.get('429 budget_exceeded'), CONCURRENCY, 'every worker stopped on the cap');
      assert.ok(spent <= CAP_MICROS, `recorded spend ${spent} µ$ is within the cap ${CAP_MICROS} µ$`);
      assert.equal(spent, successes * COST_MICROS, 'every success is recorded at its actual cost, and nothing else is');
      assert.equal(mock.requests.length, successes, 'only admitted requests reached the upstream');
      assert.ok(
        successes >= Math.floor(CAP_MICROS / COST_MICROS) - CONCURRENCY,
        `at least cap/cost - concurrency requests succeed (got ${successes})`,
      );
      // When the last worker was refused nothing else was in flight, so the cap was used up to
      // within one worst-case estimate.
      assert.ok(spent + ESTIMATE_MICROS > CAP_MICROS, `the cap was used up: ${spent} µ$ + one estimate passes ${CAP_MICROS} µ$`);

      const alerts = logs.flatMap((captured) => captured.records()).filter((record) => record.event === 'budget_alert');
      assert.equal(alerts.length, 1, `one 80% alert across the fleet, got ${JSON.stringify(alerts)}`);
      assert.equal(alerts[0]!.tenant, 'fleet');
      assert.equal(alerts[0]!.window, 'day');
      assert.equal(alerts[0]!.cap_usd, 3.9);
    } finally {
      await Promise.all(fleet.map((member) => member.close()));
    }
  });

  it('guarantee: spend store down → 503 budget_unavailable without calling the upstream (fail closed by default)', async () => {
    const response = await raw(`${deadStoreGateway.url}/v1/chat/completions`, { body: request(), auth: CLOSED_KEY });

    assert.equal(response.status, 503, response.text);
    assertErrorBody(response.json, { code: 'budget_unavailable', type: 'api_error' });
    assert.equal(mock.requests.length, 0);
  });

  it('guarantee: spend store down with budget_fail_open: true → served (200), priced, with no remaining budget claimed', async () => {
    const response = await raw(`${deadStoreGateway.url}/v1/chat/completions`, { body: request(), auth: OPEN_KEY });

    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers.get('x-breakwater-cost-usd'), '0.013');
    assert.equal(response.headers.get('x-breakwater-budget-remaining-usd'), null);
    assert.equal(mock.requests.length, 1);
  });

  it('guarantee: a failed upstream call gives its reservation back: nothing is recorded and the room left is unchanged', async () => {
    mock.script({ status: 503 }, { status: 400, body: { error: { message: 'bad request' } } });
    const failed = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: RELEASED_KEY });
    assertErrorBody(failed.json, { code: 'all_targets_failed', type: 'api_error' });
    assert.equal(failed.headers.get('x-breakwater-cost-usd'), null);
    const rejected = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: RELEASED_KEY });
    assert.equal(rejected.status, 400, rejected.text);
    assert.equal(mock.requests.length, 2);
    assert.equal(await spentTodayMicros('released'), 0, 'both holds were released');

    const served = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: RELEASED_KEY });
    assert.equal(served.headers.get('x-breakwater-budget-remaining-usd'), '0.087', 'as if the failures never happened');
  });

  it(
    "guarantee: a key's own daily_budget_usd narrows its tenant's cap and never raises it (README: key policies narrow the tenant's)",
    async () => {
      const { key } = await gateway.keys.create({ tenant: 'narrowed', policy: { daily_budget_usd: 10 } });
      const remaining: Array<string | null> = [];
      for (let i = 0; i < 5; i++) {
        const response = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: key });
        remaining.push(response.headers.get('x-breakwater-budget-remaining-usd'));
      }
      assert.deepEqual(remaining, ['0.087', '0.074', '0.061', '0.048', '0.035'], "the tenant's $0.1 cap applies");
      const refused = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: key });
      assert.equal(refused.status, 429, refused.text);
      assert.ok((await spentTodayMicros('narrowed')) <= 100_000, "the tenant's cap held");
    },
  );

  it("guarantee: a key's own daily_budget_usd caps that key's spend, and not its tenant's other keys", async () => {
    const { key: small } = await gateway.keys.create({ tenant: 'shared', policy: { daily_budget_usd: 0.1 } });
    const { key: other } = await gateway.keys.create({ tenant: 'shared' });
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 5; i++) {
      const response = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: small });
      assert.equal(response.status, 200, response.text);
      remaining.push(response.headers.get('x-breakwater-budget-remaining-usd'));
    }
    // $0.013 a request against the key's $0.1 (the tenant has $100): the key's ledger is the tighter.
    assert.deepEqual(remaining, ['0.087', '0.074', '0.061', '0.048', '0.035']);
    // $0.035 left is under the $0.047 worst case: refused before the upstream is called.
    const refused = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: small });
    assertClientError(refused, 429, 'budget_exceeded', 'rate_limit_error');
    const served = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: other });
    assert.equal(served.status, 200, 'another key of the tenant is not held by that cap');
    assert.equal(await spentTodayMicros('shared'), 6 * COST_MICROS, "the tenant's ledger counts every key's spend");
  });
});
