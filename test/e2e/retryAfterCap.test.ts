import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { MockUpstream } from '../support/mockUpstream';
import { VIRTUAL_KEY, OTHER_TENANT_KEY, assertErrorBody, fastRetry, hello, modelTarget, raw, startMockedGateway, type MockedGateway } from '../support/e2eHarness';

/*
 * An upstream's Retry-After reaches the client capped at the target breaker's longest cooldown
 * (300 s by default), as the breaker caps its own pause: before, 99999 s or an HTTP-date in 2099
 * was relayed as it came.
 */
describe("e2e: the upstream's Retry-After is relayed capped", () => {
  let stack: MockedGateway<'upstream'>;
  let mock: MockUpstream;
  let chatUrl: string;

  before(async () => {
    const target = modelTarget('upstream', 'gpt-test');
    stack = await startMockedGateway({
      upstreams: ['upstream'],
      routes: {
        main: { strategy: { mode: 'single' }, retry: fastRetry(1), targets: [target] },
        capped: {
          strategy: { mode: 'single' },
          retry: fastRetry(1),
          circuit_breaker: { cooldown_interval: 5_000, max_cooldown_interval: 60_000 },
          targets: [target],
        },
      },
      tenants: { e2e: { route: 'main', keys: [VIRTUAL_KEY] }, other: { route: 'capped', keys: [OTHER_TENANT_KEY] } },
    });
    ({ chatUrl, mocks: { upstream: mock } } = stack);
  });
  after(async () => {
    await stack.close();
  });
  beforeEach(() => mock.reset());

  const cases: Array<[string, Record<string, string>, string, string]> = [
    ['99999 seconds', { 'retry-after': '99999' }, VIRTUAL_KEY, '300'],
    ['an HTTP-date in 2099', { 'retry-after': 'Thu, 31 Dec 2099 23:59:59 GMT' }, VIRTUAL_KEY, '300'],
    ['retry-after-ms of 400 digits', { 'retry-after-ms': '9'.repeat(400) }, VIRTUAL_KEY, '300'],
    ['99999 seconds on a route whose breaker waits at most 60 s', { 'retry-after': '99999' }, OTHER_TENANT_KEY, '60'],
    ['7 seconds (under the cap: relayed as is)', { 'retry-after': '7' }, VIRTUAL_KEY, '7'],
  ];
  for (const [name, headers, key, expected] of cases) {
    it(`guarantee: a 429 with ${name} gives the client 503 with Retry-After: ${expected}`, async () => {
      mock.script({ status: 429, headers, body: { error: { message: 'slow down' } } }, { status: 429, headers, body: { error: { message: 'slow down' } } });
      const response = await raw(chatUrl, { body: { model: 'm', messages: hello }, auth: key });
      assert.equal(response.status, 503, response.text);
      assertErrorBody(response.json, { code: 'all_targets_failed', type: 'api_error' });
      assert.equal(response.headers.get('retry-after'), expected);
    });
  }
});
