import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSpendLedger, PriceTable, SpendGuard } from '../../../shared/budget';
import { budgetWindows } from '../../../shared/budget/windows';
import type { DynamoClients } from '../../../shared/stores/dynamo';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { capturingLogger, type CapturedLogs } from '../../support/capturingLogger';
import { offsetClock } from '../../support/offsetClock';
import { deadDynamoClients } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { assertClientError, assertErrorBody, fastRetry, hello, openaiProvider, raw, sdkClient, testSettings } from '../../support/e2eHarness';
import { chatCompletion, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

/*
 * Prices chosen so every number is exact: $100 per million input tokens is $0.0001 a token,
 * $2,000 per million output tokens $0.002. The mock answers with 5 prompt and 4 completion
 * tokens: 5 × 0.0001 + 4 × 0.002 = $0.0085 a request. The bound reserved for `hello` with
 * max_tokens 10 is 135 input tokens (16 request + 8 message overhead + 87 bytes of JSON,
 * {"model":"client-model","messages":[{"role":"user","content":"hello"}],"max_tokens":10},
 * + 24 bytes of the target's override_params, {"model":"priced-model"}) × 0.0001
 * + 10 × 0.002 = $0.0335.
 */
const MODEL = 'priced-model';
const PRICES = {
  [MODEL]: { input: 100, output: 2_000, cache_read: 100, cache_write: 100, max_output_tokens: 100 },
  // As OpenAI lists it; a gpt-4o-mini image is billed at up to 2,833 + 8 tiles × 5,667 tokens.
  'gpt-4o-mini': { input: 0.15, output: 0.6, cache_read: 0.075, cache_write: 0.15, max_output_tokens: 16_384 },
};
const COST_MICROS = 8_500;
const ESTIMATE_MICROS = 33_500;

const CAPPED_KEY = 'bw_test_spend_capped_0001_xxxxxx';
const FRUGAL_KEY = 'bw_test_spend_frugal_0001_xxxxxx';
const FLEET_KEY = 'bw_test_spend_fleet_00001_xxxxxx';
const CLOSED_KEY = 'bw_test_spend_closed_0001_xxxxxx';
const OPEN_KEY = 'bw_test_spend_opened_0001_xxxxxx';
const RELEASED_KEY = 'bw_test_spend_release_001_xxxxxx';
const VISION_KEY = 'bw_test_spend_vision_0001_xxxxxx';
const VISION_CUT_KEY = 'bw_test_spend_vision_cut1_xxxxxx';

const request = (maxTokens = 10) => ({ model: 'client-model', messages: hello, max_tokens: maxTokens });

/**
 * Every gateway here, and the test's reads of the ledger, run on this clock: real time moved to
 * the next noon UTC, so no test straddles midnight, when the day's ledger key changes.
 */
const clock = offsetClock();
const DAY_MS = 86_400_000;
clock.jumpTo(Math.ceil((Date.now() - DAY_MS / 2) / DAY_MS) * DAY_MS + DAY_MS / 2);

/*
 * A question about a picture, with a tool, on gpt-4o-mini. Its input bound, worked out by hand:
 * 16 request + 8 message overhead + 1,000 for the tool-use prompt + 48,169 for the image
 * (2,833 + 8 × 5,667) + the JSON bytes of the body without the image + 23 bytes of override_params
 * ({"model":"gpt-4o-mini"}). Input is priced at $0.15 per million (150,000 picodollars a token),
 * output at $0.60 (600,000).
 */
const question = { type: 'text', text: 'What is in this picture? Call describe_image.' };
const visionBody = {
  model: 'client-model',
  messages: [
    { role: 'user', content: [question, { type: 'image_url', image_url: { url: `data:image/png;base64,${'iVBORw0KGgo'.repeat(2_000)}`, detail: 'high' } }] },
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'describe_image',
        description: 'Describe what the image shows',
        parameters: { type: 'object', properties: { subject: { type: 'string' } }, required: ['subject'] },
      },
    },
  ],
};
const visionTextBytes = Buffer.byteLength(JSON.stringify({ ...visionBody, messages: [{ role: 'user', content: [question, null] }] }));
const VISION_INPUT_PICO = (16 + 8 + 1_000 + 48_169 + visionTextBytes + 23) * 150_000;
/** The most a request sent `maxTokens` can cost, in whole microdollars (rounded up, as the ledger counts). */
const visionBoundMicros = (maxTokens: number) => Math.ceil((VISION_INPUT_PICO + maxTokens * 600_000) / 1e6);
/** An upstream that bills far more than any request could use: 36 million prompt tokens. */
const LYING_USAGE = { prompt_tokens: 36_000_000, completion_tokens: 1_000_000, total_tokens: 37_000_000 };

/** Whole seconds to the next UTC midnight, as the gateway computes Retry-After for a daily cap. */
const secondsToMidnight = (now = clock.now()) => budgetWindows(now).resetsInSeconds.day;

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
      vision: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream', override_params: { model: 'gpt-4o-mini' } }] },
    },
    tenants: {
      capped: { route: 'main', keys: [CAPPED_KEY], daily_budget_usd: 0.1 },
      frugal: { route: 'main', keys: [FRUGAL_KEY], max_request_cost_usd: 0.03 },
      fleet: { route: 'main', keys: [FLEET_KEY], daily_budget_usd: 3.9 },
      closed: { route: 'main', keys: [CLOSED_KEY], daily_budget_usd: 1 },
      opened: { route: 'main', keys: [OPEN_KEY], daily_budget_usd: 1, budget_fail_open: true },
      released: { route: 'main', keys: [RELEASED_KEY], daily_budget_usd: 0.1 },
      narrowed: { route: 'main', daily_budget_usd: 0.1 },
      shared: { route: 'main', daily_budget_usd: 100 },
      vision: { route: 'vision', keys: [VISION_KEY], daily_budget_usd: 0.05 },
      'vision-cut': { route: 'vision', keys: [VISION_CUT_KEY], daily_budget_usd: 0.01 },
    },
    prices: PRICES,
    settings: testSettings(),
  });

  /** The tenant's recorded spend today, in microdollars, read straight from the spend table. */
  async function spentTodayMicros(tenant: string): Promise<number> {
    const windows = budgetWindows(clock.now());
    const { Item } = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tables.spend, Key: { pk: `spend#${tenant}#${windows.month}` }, ConsistentRead: true }),
    );
    return (Item?.[`day_${windows.day}_micro_usd`] as number | undefined) ?? 0;
  }

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    gateway = await startStatefulGateway({ config: config(mock.baseUrl), dynamo, clock });
    // Every spend-ledger call of this gateway fails with a connection error; the rest is healthy.
    deadClients = deadDynamoClients();
    deadStoreGateway = await startStatefulGateway({
      config: config(mock.baseUrl),
      dynamo,
      clock,
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
    // $0.1 cap, $0.0335 held per request: a request is let in while spent <= $0.0665, i.e. eight times.
    for (let i = 0; i < 8; i++) {
      const { response } = await chat.create(request()).withResponse();
      seen.push([response.headers.get('x-breakwater-cost-usd'), response.headers.get('x-breakwater-budget-remaining-usd')]);
    }
    assert.deepEqual(seen, [
      ['0.0085', '0.0915'],
      ['0.0085', '0.083'],
      ['0.0085', '0.0745'],
      ['0.0085', '0.066'],
      ['0.0085', '0.0575'],
      ['0.0085', '0.049'],
      ['0.0085', '0.0405'],
      ['0.0085', '0.032'],
    ]);
    assert.equal(mock.requests.length, 8);
    assert.equal(await spentTodayMicros('capped'), 8 * COST_MICROS);

    const before = secondsToMidnight();
    const refused = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: CAPPED_KEY });
    const afterward = secondsToMidnight();

    assert.equal(refused.status, 429, refused.text);
    assertErrorBody(refused.json, { code: 'budget_exceeded', type: 'rate_limit_error' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter <= before && retryAfter >= afterward, `Retry-After ${retryAfter} is the time to UTC midnight (${afterward}..${before})`);
    assert.equal(mock.requests.length, 8, 'the refused request never reached the upstream');
    assert.equal(await spentTodayMicros('capped'), 8 * COST_MICROS, 'a refusal records nothing');
  });

  it('guarantee: a request whose worst case is above max_request_cost_usd is 400 request_cost_exceeds_limit; a smaller one is served', async () => {
    const tooDear = await raw(`${gateway.url}/v1/chat/completions`, { body: request(10), auth: FRUGAL_KEY });

    const body = assertClientError(tooDear, 400, 'request_cost_exceeds_limit');
    assert.equal(
      body.error.message,
      'this request may cost up to $0.0335 on priced-model, above the max_request_cost_usd of $0.03; lower max_tokens or shorten the prompt',
    );
    assert.equal(mock.requests.length, 0);

    // max_tokens 5 (a byte less of JSON): 134 × 0.0001 + 5 × 0.002 = $0.0234, under the $0.03 limit.
    const fits = await raw(`${gateway.url}/v1/chat/completions`, { body: request(5), auth: FRUGAL_KEY });
    assert.equal(fits.status, 200, fits.text);
    assert.equal(fits.headers.get('x-breakwater-cost-usd'), '0.0085');
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
      fleet.push(await startStatefulGateway({ config: config(mock.baseUrl), dynamo, clock, logger: captured.logger, seedConfigKeys: i === 0 }));
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
    assert.equal(response.headers.get('x-breakwater-cost-usd'), '0.0085');
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
    assert.equal(served.headers.get('x-breakwater-budget-remaining-usd'), '0.0915', 'as if the failures never happened');
  });

  it(
    "guarantee: a key's own daily_budget_usd narrows its tenant's cap and never raises it (README: key policies narrow the tenant's)",
    async () => {
      const { key } = await gateway.keys.create({ tenant: 'narrowed', policy: { daily_budget_usd: 10 } });
      const remaining: Array<string | null> = [];
      for (let i = 0; i < 8; i++) {
        const response = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: key });
        remaining.push(response.headers.get('x-breakwater-budget-remaining-usd'));
      }
      assert.deepEqual(remaining, ['0.0915', '0.083', '0.0745', '0.066', '0.0575', '0.049', '0.0405', '0.032'], "the tenant's $0.1 cap applies");
      const refused = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: key });
      assert.equal(refused.status, 429, refused.text);
      assert.ok((await spentTodayMicros('narrowed')) <= 100_000, "the tenant's cap held");
    },
  );

  it("guarantee: a key's own daily_budget_usd caps that key's spend, and not its tenant's other keys", async () => {
    const { key: small } = await gateway.keys.create({ tenant: 'shared', policy: { daily_budget_usd: 0.1 } });
    const { key: other } = await gateway.keys.create({ tenant: 'shared' });
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 8; i++) {
      const response = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: small });
      assert.equal(response.status, 200, response.text);
      remaining.push(response.headers.get('x-breakwater-budget-remaining-usd'));
    }
    // $0.0085 a request against the key's $0.1 (the tenant has $100): the key's ledger is the tighter.
    assert.deepEqual(remaining, ['0.0915', '0.083', '0.0745', '0.066', '0.0575', '0.049', '0.0405', '0.032']);
    // $0.032 left is under the $0.0335 bound: refused before the upstream is called.
    const refused = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: small });
    assertClientError(refused, 429, 'budget_exceeded', 'rate_limit_error');
    const served = await raw(`${gateway.url}/v1/chat/completions`, { body: request(), auth: other });
    assert.equal(served.status, 200, 'another key of the tenant is not held by that cap');
    assert.equal(await spentTodayMicros('shared'), 9 * COST_MICROS, "the tenant's ledger counts every key's spend");
  });

  it('guarantee: the upstream is sent the max_tokens the budget left pays for, and an answer that claims more is recorded at that bound', async () => {
    mock.setDefault({ body: { ...chatCompletion('a cat'), usage: LYING_USAGE } });
    // $0.01 cap, nothing asked for: the output is cut from the model's 16,384 to what $0.01 pays for after the input.
    const expectedMaxTokens = Math.min(16_384, Math.floor((10_000_000_000 - VISION_INPUT_PICO) / 600_000));
    assert.ok(expectedMaxTokens >= 256 && expectedMaxTokens < 16_384, `the budget, not the model, sets the limit (${expectedMaxTokens})`);

    const served = await raw(`${gateway.url}/v1/chat/completions`, { body: visionBody, auth: VISION_CUT_KEY });
    assert.equal(served.status, 200, served.text);
    assert.equal(mock.requests.length, 1);
    assert.equal((mock.requests[0]!.body as { max_tokens?: unknown }).max_tokens, expectedMaxTokens, 'the limit is in the request sent upstream');
    assert.equal(await spentTodayMicros('vision-cut'), visionBoundMicros(expectedMaxTokens), 'recorded at the bound, not at the 36 million tokens claimed');
    assert.ok(visionBoundMicros(expectedMaxTokens) <= 10_000);

    const refused = await raw(`${gateway.url}/v1/chat/completions`, { body: visionBody, auth: VISION_CUT_KEY });
    assertClientError(refused, 429, 'budget_exceeded', 'rate_limit_error');
    assert.equal(mock.requests.length, 1, 'nothing left to pay for the next one: refused before the upstream');
  });

  it('guarantee: never exceeds the daily cap under 100 concurrent requests with a high-detail image and tools, whatever usage the upstream reports', async () => {
    const CAP_MICROS = 50_000;
    mock.setDefault({ body: { ...chatCompletion('a cat'), usage: LYING_USAGE }, delayMs: 20 });
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => raw(`${gateway.url}/v1/chat/completions`, { body: visionBody, auth: VISION_KEY })),
    );

    const statuses = new Set(responses.map((response) => `${response.status} ${(response.json as { error?: { code?: string } }).error?.code ?? ''}`.trim()));
    assert.deepEqual([...statuses].sort(), ['200', '429 budget_exceeded']);
    const successes = responses.filter((response) => response.status === 200).length;
    assert.equal(mock.requests.length, successes, 'only admitted requests reached the upstream');

    // Each request sent upstream carries the limit its hold paid for: between the 256 tokens an
    // answer may be cut to and the model's 16,384; never none.
    const sent = mock.requests.map((recorded) => (recorded.body as { max_tokens?: unknown }).max_tokens);
    assert.ok(sent.every((limit) => typeof limit === 'number' && limit >= 256 && limit <= 16_384), `limits sent: ${sent.join(', ')}`);
    // What the upstream could bill for everything it was sent fits the cap, and each lying answer
    // is recorded at exactly that bound.
    const bound = sent.reduce<number>((sum, limit) => sum + visionBoundMicros(limit as number), 0);
    const spent = await spentTodayMicros('vision');
    assert.ok(bound <= CAP_MICROS, `what the upstream could bill, ${bound} µ$, is within the ${CAP_MICROS} µ$ cap`);
    assert.equal(spent, bound, 'each answer recorded at its bound, not at the usage it claimed');
    // $0.05 pays for at least two answers at the full 16,384 tokens ($0.0172 each).
    assert.ok(successes >= 2, `${successes} served`);
  });
});
