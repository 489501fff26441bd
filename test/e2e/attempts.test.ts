import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { SecretSource } from '../../shared/credentials';
import { fastRetry, hello, modelTarget, sdkClient, startMockedGateway, UPSTREAM_KEY, type MockedGateway } from '../support/e2eHarness';

const ROTATED_KEY = 'sk-test-upstream-rotated-0002';

/** `x-breakwater-attempts` counts upstream calls, as the README says. */
describe('e2e: x-breakwater-attempts', () => {
  let stack: MockedGateway<'upstream'>;
  let rotated = false;
  const secrets: SecretSource = {
    get: async (_name, options) => {
      if (options?.forceRefresh) rotated = true;
      return { api_key: rotated ? ROTATED_KEY : UPSTREAM_KEY };
    },
  };

  before(async () => {
    stack = await startMockedGateway({
      upstreams: ['upstream'],
      secrets,
      routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(2), targets: [modelTarget('upstream', 'gpt-a')] } },
    });
  });
  after(() => stack.close());
  beforeEach(() => {
    stack.reset();
    rotated = false;
  });

  it('guarantee: a call re-sent with the re-read credential after a 401 counts as a second upstream call', async () => {
    stack.mocks.upstream.script({ status: 401, body: { error: { message: 'invalid api key' } } });

    const { response } = await sdkClient(stack.gateway.url).chat.completions.create({ model: 'm', messages: hello }).withResponse();

    assert.equal(stack.mocks.upstream.requests.length, 2);
    assert.equal(stack.mocks.upstream.requests[1]!.headers.authorization, `Bearer ${ROTATED_KEY}`);
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
  });

  it('guarantee: retries count one call each, and a 401 re-read inside a retried attempt adds its own', async () => {
    stack.mocks.upstream.script({ status: 503 }, { status: 401 });

    const { response } = await sdkClient(stack.gateway.url).chat.completions.create({ model: 'm', messages: hello }).withResponse();

    assert.equal(stack.mocks.upstream.requests.length, 3);
    assert.equal(response.headers.get('x-breakwater-attempts'), '3');
  });
});
