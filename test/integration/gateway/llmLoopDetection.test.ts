import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OpenAI } from 'openai';
import { llmLoopFingerprint } from '../../../shared/tools/limits';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fastRetry, openaiProvider, raw, testSettings } from '../../support/e2eHarness';
import { chatCompletion, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const KEY = 'bw_test_loop_detection_key_0001_abcdefgh';

/** A conversation ending in the result of a tool call, as an agent sends it back every turn. */
const turn = (callId: string, result: string) => ({
  model: 'client-model',
  max_tokens: 10,
  messages: [
    { role: 'user', content: 'book the flight' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: callId, type: 'function', function: { name: 'search_flights', arguments: '{"to":"LIS"}' } }],
    },
    { role: 'tool', tool_call_id: callId, content: result },
  ],
});

describe('loop detection on LLM requests (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    gateway = await startStatefulGateway({
      dynamo,
      config: {
        providers: { upstream: openaiProvider(mock) },
        routes: { plain: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream' }] } },
        tenants: { loop: { route: 'plain', keys: [KEY] } },
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

  it('guarantee: the 11th identical tool call and result in a minute is refused with 429 loop_detected, before the upstream', async () => {
    mock.script(...Array.from({ length: 10 }, () => ({ body: chatCompletion('try again') })));
    const client = new OpenAI({ apiKey: KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // Each turn has a new call id, as a real agent's loop does: only the call and its result repeat.
    for (let i = 0; i < 10; i++) await client.chat.completions.create(turn(`call_${i}`, 'no seats') as never);
    assert.equal(mock.requests.length, 10);

    const refused = await raw(`${gateway.url}/v1/chat/completions`, { body: turn('call_10', 'no seats'), auth: KEY });
    assert.equal(refused.status, 429);
    assert.equal((refused.json as { error: { code: string } }).error.code, 'loop_detected');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(mock.requests.length, 10, 'the looping request never reached the upstream');

    // A different tool result is progress, not a loop.
    mock.script({ body: chatCompletion('booked') });
    const moved = await raw(`${gateway.url}/v1/chat/completions`, { body: turn('call_11', 'one seat left'), auth: KEY });
    assert.equal(moved.status, 200);
  });

  it('never counts an ordinary turn that does not end in tool results', () => {
    assert.equal(llmLoopFingerprint({ messages: [{ role: 'user', content: 'hi' }] }), undefined);
    assert.equal(llmLoopFingerprint({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }), undefined);
    const a = llmLoopFingerprint(turn('call_a', 'x'));
    assert.equal(a, llmLoopFingerprint(turn('call_b', 'x')), 'call ids do not change the fingerprint');
    assert.notEqual(a, llmLoopFingerprint(turn('call_a', 'y')));
  });
});
