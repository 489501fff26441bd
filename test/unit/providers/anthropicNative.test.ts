import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { prefillRequest } from '../../../shared/gateway/continuation';
import { AnthropicProvider } from '../../../shared/providers/anthropic';
import { nativeAnthropicOf, nativeMessagesBody, nativeRequest, withoutAnthropicNative } from '../../../shared/providers/anthropicNative';
import { ThinkingStreamReader } from '../../../shared/providers/anthropicThinking';
import type { ProviderAdapter, UpstreamRequest } from '../../../shared/providers';
import { isUpstreamStreamError } from '../../../shared/stream';
import { startMockUpstream, type MockUpstream } from '../../support/mockUpstream';

const native = nativeRequest({ body: { max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled', budget_tokens: 1024 } }, beta: 'b1' });
const chat = { model: 'claude-target', messages: [{ role: 'user', content: 'hi' }], max_tokens: 64, x_breakwater_anthropic: native };

describe('the Messages door\'s native request', () => {
  it('is read only when the Messages door made it: a client cannot forge one in a chat body or a task', () => {
    assert.deepEqual(nativeAnthropicOf(chat), native);
    assert.deepEqual(nativeAnthropicOf({ ...chat }), native, 'the engine passes it on by reference');
    assert.equal(nativeAnthropicOf({ x_breakwater_anthropic: { body: { messages: [] } } }), undefined);
    assert.equal(nativeAnthropicOf(JSON.parse(JSON.stringify(chat))), undefined);
    assert.equal(nativeAnthropicOf({ x_breakwater_anthropic: 'junk' }), undefined);
    assert.equal(nativeAnthropicOf({}), undefined);
  });

  it('goes upstream with the engine\'s model, override_params\' max_tokens/temperature/top_p, and the end user as metadata', () => {
    assert.deepEqual(nativeMessagesBody(native, { ...chat, max_tokens: 2048, temperature: 1, top_p: 0.5, user: 'u-1' }), {
      ...native.body,
      model: 'claude-target',
      max_tokens: 2048,
      temperature: 1,
      top_p: 0.5,
      metadata: { user_id: 'u-1' },
    });
  });

  it('is stripped for every adapter that does not speak Messages, unsupported() included', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const inner: ProviderAdapter = {
      call: async (request) => {
        seen.push(request.body);
        return { kind: 'unavailable', reason: 'test' };
      },
      stream: async (request) => {
        seen.push(request.body);
        return { kind: 'unavailable', reason: 'test' };
      },
      unsupported: (request) => {
        seen.push(request.body);
        return undefined;
      },
    };
    const adapter = withoutAnthropicNative(inner);
    const request: UpstreamRequest = { operation: 'chat', body: chat, timeoutMs: 10 };
    await adapter.call(request);
    await adapter.stream(request);
    adapter.unsupported!(request);
    assert.equal(seen.length, 3);
    for (const body of seen) assert.deepEqual(body, { model: 'claude-target', messages: [{ role: 'user', content: 'hi' }], max_tokens: 64 });
  });

  it('is dropped from a stream-recovery prefill, which must be sent as the translated messages', () => {
    const { body } = prefillRequest(chat, 'partial ');
    assert.equal('x_breakwater_anthropic' in body, false);
    assert.deepEqual(body.messages, [...chat.messages, { role: 'assistant', content: 'partial' }]);
  });
});

describe('AnthropicProvider with a native request', () => {
  let upstream: MockUpstream;
  const secrets = { get: async () => ({ api_key: 'sk-test-native-0001' }) };
  before(async () => {
    upstream = await startMockUpstream();
  });
  after(() => upstream.close());
  beforeEach(() => upstream.reset());

  const provider = () =>
    new AnthropicProvider(
      { type: 'anthropic', base_url: upstream.baseUrl, credential: 'c', anthropic_version: '2023-06-01', default_max_tokens: 4096 },
      secrets,
      () => 1,
    );

  it('sends the native body and the anthropic-beta header, and keeps the answer\'s thinking blocks', async () => {
    // Prepare
    const thinking = { type: 'thinking', thinking: 'so', signature: 'sig' };
    upstream.script({
      body: { id: 'msg_1', type: 'message', model: 'claude-target', content: [thinking, { type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: {} },
    });

    // Act
    const outcome = await provider().call({ operation: 'chat', body: chat, timeoutMs: 2_000 });

    // Assess
    assert.deepEqual(upstream.requests[0]!.body, { ...native.body, model: 'claude-target' });
    assert.equal(upstream.requests[0]!.headers['anthropic-beta'], 'b1');
    assert.equal(outcome.kind, 'success');
    const message = (outcome as unknown as { body: { choices: Array<{ message: Record<string, unknown> }> } }).body.choices[0]!.message;
    assert.equal(message.content, 'ok');
    assert.deepEqual(message.thinking_blocks, [thinking]);
  });

  it('a forged native request is ignored: the chat body is translated, no anthropic-beta header, no thinking_blocks field', async () => {
    upstream.script({ body: { id: 'msg_2', type: 'message', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: {} } });
    const forged = { ...chat, x_breakwater_anthropic: { body: { max_tokens: 9, messages: [{ role: 'user', content: 'unscreened' }] }, beta: 'b9' } };
    const outcome = await provider().call({ operation: 'chat', body: forged, timeoutMs: 2_000 });
    assert.deepEqual(upstream.requests[0]!.body, { model: 'claude-target', max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
    assert.equal(upstream.requests[0]!.headers['anthropic-beta'], undefined);
    const message = (outcome as unknown as { body: { choices: Array<{ message: Record<string, unknown> }> } }).body.choices[0]!.message;
    assert.equal('thinking_blocks' in message, false);
  });

  it('countTokens posts to /messages/count_tokens and reads input_tokens; an answer without it is malformed', async () => {
    upstream.script({ body: { input_tokens: 17 } }, { body: { tokens: 3 } });
    const count = () => provider().countTokens({ body: { model: 'm', messages: [] }, beta: 'b2', timeoutMs: 2_000 });
    const first = await count();
    const second = await count();
    assert.equal(first.kind, 'success');
    assert.deepEqual((first as { body: unknown }).body, { input_tokens: 17 });
    assert.equal(second.kind, 'malformed');
    assert.equal(upstream.requests[0]!.path, '/v1/messages/count_tokens');
    assert.equal(upstream.requests[0]!.headers['anthropic-beta'], 'b2');
    assert.equal(upstream.requests[0]!.headers['x-api-key'], 'sk-test-native-0001');
  });
});

describe('ThinkingStreamReader', () => {
  it('numbers thinking blocks in their order and refuses deltas outside one', () => {
    const reader = new ThinkingStreamReader();
    assert.equal(reader.start(0, { type: 'text', text: '' }), undefined);
    assert.deepEqual(reader.start(1, { type: 'thinking', thinking: '' }), []);
    assert.deepEqual(reader.delta(1, { type: 'thinking_delta', thinking: 'x' }), [{ type: 'thinking', index: 0, thinking: 'x' }]);
    assert.deepEqual(reader.start(2, { type: 'redacted_thinking', data: 'd' }), [{ type: 'thinking', index: 1, thinking: '', redacted: 'd' }]);
    assert.equal(reader.delta(0, { type: 'text_delta', text: 'x' }), undefined);
    assert.throws(() => reader.delta(5, { type: 'signature_delta', signature: 's' }), isUpstreamStreamError);
  });
});
