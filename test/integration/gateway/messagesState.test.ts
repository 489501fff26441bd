import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fastRetry, testSettings } from '../../support/e2eHarness';
import { anthropicStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const CLAUDE = 'claude-sonnet-4-5';
const CACHED_KEY = 'bw_test_messages_cache_01_xxxxxx';
const IDEM_KEY = 'bw_test_messages_idem_001_xxxxxx';

const thinkingOn = { type: 'enabled' as const, budget_tokens: 1_024 };

/**
 * The Messages door over the fleet-wide state (DynamoDB Local): the response cache and
 * idempotency store keep the engine's assembled answer, thinking blocks included, and a replay
 * renders it in Anthropic's format again.
 */
describe('gateway integration: the Messages door with the cache and idempotency (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let claude: MockUpstream;
  let gateway: StatefulGateway;
  const client = (key: string) => new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0, timeout: 15_000 });

  const config = (): BreakwaterConfigInput => ({
    providers: { claude: { type: 'anthropic', base_url: claude.baseUrl, credential: 'upstream' } },
    routes: {
      cached: {
        strategy: { mode: 'single' },
        retry: fastRetry(0),
        cache: { mode: 'simple', max_age: 3600 },
        targets: [{ provider: 'claude', override_params: { model: CLAUDE } }],
      },
      plain: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'claude', override_params: { model: CLAUDE } }] },
    },
    tenants: {
      cached: { route: 'cached', keys: [CACHED_KEY] },
      idem: { route: 'plain', keys: [IDEM_KEY] },
    },
    settings: testSettings(),
  });

  before(async () => {
    dynamo = await startDynamoLocal();
    claude = await startMockUpstream();
    gateway = await startStatefulGateway({ dynamo, config: config() });
  });
  after(async () => {
    await gateway?.close();
    await claude?.close();
    await dynamo?.stop();
  });
  beforeEach(() => claude.reset());

  it('cache: a streamed answer with thinking is stored; the same question (streamed or not, any end user) is a HIT with its thinking', async () => {
    // Prepare
    claude.script({ sse: anthropicStreamFrames({ thinking: ['Pondering.'], text: ['Cached ', 'answer'] }) });
    const question = (userId: string) => ({
      model: 'any',
      max_tokens: 2_048,
      thinking: thinkingOn,
      metadata: { user_id: userId },
      system: [{ type: 'text' as const, text: 'Sys', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: 'cache me' }],
    });
    const thinking = { type: 'thinking', thinking: 'Pondering.', signature: 'c2lnbmF0dXJl' };

    // Act
    const first = await client(CACHED_KEY).messages.stream(question('user-a')).finalMessage();
    const { data: streamedHit, response: streamedResponse } = await client(CACHED_KEY)
      .messages.stream(question('user-b'))
      .withResponse()
      .then(async ({ data, response }) => ({ data: await data.finalMessage(), response }));
    const { data: bufferedHit, response: bufferedResponse } = await client(CACHED_KEY).messages.create(question('user-c')).withResponse();

    // Assess
    assert.deepEqual(first.content, [thinking, { type: 'text', text: 'Cached answer' }]);
    assert.equal(claude.requests.length, 1, 'one upstream call for three requests');
    assert.equal(streamedResponse.headers.get('x-breakwater-cache'), 'HIT');
    assert.deepEqual(streamedHit.content, first.content);
    assert.equal(bufferedResponse.headers.get('x-breakwater-cache'), 'HIT');
    assert.deepEqual(bufferedHit.content, first.content);
    assert.equal(bufferedHit.type, 'message');
  });

  it('cache: another thinking budget is another question', async () => {
    claude.setDefault({ sse: anthropicStreamFrames({ text: ['fresh'] }) });
    const ask = (budget: number) =>
      client(CACHED_KEY).messages.stream({
        model: 'any',
        max_tokens: 4_096,
        thinking: { type: 'enabled', budget_tokens: budget },
        messages: [{ role: 'user', content: 'budget question' }],
      });
    await ask(1_024).finalMessage();
    await ask(2_048).finalMessage();
    assert.equal(claude.requests.length, 2);
  });

  it('idempotency: a retried request with the same key gets the same message, replayed, with its own request id', async () => {
    // Prepare
    claude.script({
      body: {
        id: 'msg_once',
        type: 'message',
        role: 'assistant',
        model: CLAUDE,
        content: [{ type: 'text', text: 'exactly once' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 3, output_tokens: 2 },
      },
    });
    const params = { model: 'any', max_tokens: 20, messages: [{ role: 'user' as const, content: 'do it once' }] };
    const options = { headers: { 'idempotency-key': 'messages-idem-0001' } };

    // Act
    const first = await client(IDEM_KEY).messages.create(params, options).withResponse();
    const second = await client(IDEM_KEY).messages.create(params, options).withResponse();

    // Assess
    assert.equal(claude.requests.length, 1);
    assert.deepEqual(second.data, first.data);
    assert.equal(second.response.headers.get('idempotent-replayed'), 'true');
    assert.notEqual(second.response.headers.get('request-id'), first.response.headers.get('request-id'));
    assert.equal(second.response.headers.get('request-id'), second.response.headers.get('x-request-id'));
  });
});
