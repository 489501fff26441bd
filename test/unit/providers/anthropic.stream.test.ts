import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProviderConfig } from '../../../shared/config/schema';
import type { SecretSource } from '../../../shared/credentials';
import { AnthropicProvider } from '../../../shared/providers/anthropic';
import { AnthropicStreamReader } from '../../../shared/providers/anthropicStream';
import { anthropicStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { NOW } from './chatFixtures';
import { drain, opened, rotatingSecrets, streamError, textOf, waitFor } from './streamFixtures';

type AnthropicConfig = Extract<ProviderConfig, { type: 'anthropic' }>;

const TEST_KEY = 'sk-test-anthropic-stream-0001';
const ROTATED_KEY = 'sk-test-anthropic-stream-0002';
const hello = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 64, stream: true };

const frame = (type: string, data: Record<string, unknown> = {}) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}`;
const errorFrame = (type: string, message: string) => frame('error', { error: { type, message } });

describe('AnthropicProvider.stream', () => {
  let upstream: MockUpstream;
  let secrets: SecretSource;
  before(async () => {
    upstream = await startMockUpstream();
  });
  after(() => upstream.close());
  beforeEach(() => {
    upstream.reset();
    secrets = { get: async (name) => (name === 'anthropic' ? { api_key: TEST_KEY } : undefined) };
  });

  const config = (): AnthropicConfig => ({
    type: 'anthropic',
    base_url: upstream.baseUrl,
    credential: 'anthropic',
    anthropic_version: '2023-06-01',
    default_max_tokens: 4096,
  });
  const open = (body: Record<string, unknown> = hello, timeoutMs = 2_000, source = secrets) =>
    new AnthropicProvider(config(), source, () => NOW).stream({ operation: 'chat', body, timeoutMs });

  it('posts a streamed Messages request and yields text, one finish and the usage with cache tokens', async () => {
    // Prepare
    upstream.script({
      sse: anthropicStreamFrames({
        thinking: ['Let me think.'],
        text: ['Hello', ' there'],
        inputTokens: 20,
        cacheReadTokens: 100,
        cacheWriteTokens: 30,
        outputTokens: 6,
      }),
    });

    // Act
    const drained = await drain(opened(await open({ ...hello, stream_options: { include_usage: false } })).events);

    // Assess
    assert.equal(drained.error, undefined);
    assert.deepEqual(drained.events, [
      // Thinking is carried for the Messages door; the chat door leaves it out.
      { type: 'thinking', index: 0, thinking: 'Let me think.' },
      { type: 'thinking', index: 0, thinking: '', signature: 'c2lnbmF0dXJl' },
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' there' },
      { type: 'finish', reason: 'stop' },
      {
        type: 'usage',
        usage: {
          prompt_tokens: 150,
          completion_tokens: 6,
          total_tokens: 156,
          prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 30 },
        },
      },
    ]);
    const sent = upstream.requests[0]!;
    assert.equal(sent.path, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], TEST_KEY);
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.headers.accept, 'text/event-stream');
    assert.deepEqual(sent.body, {
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      stream: true,
    });
  });

  it('streams tool_use blocks as tool calls numbered in their order, arguments from input_json_delta', async () => {
    upstream.script({
      sse: anthropicStreamFrames({
        text: ['Checking.'],
        toolUse: [
          { id: 'toolu_1', name: 'weather', inputJson: ['{"city"', ':"Oslo"}'] },
          { id: 'toolu_2', name: 'clock', inputJson: [] },
        ],
        outputTokens: 9,
      }),
    });

    const drained = await drain(opened(await open()).events);

    assert.equal(drained.error, undefined);
    assert.deepEqual(drained.events, [
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call', index: 0, id: 'toolu_1', name: 'weather', arguments: '' },
      { type: 'tool_call', index: 0, arguments: '{"city"' },
      { type: 'tool_call', index: 0, arguments: ':"Oslo"}' },
      { type: 'tool_call', index: 1, id: 'toolu_2', name: 'clock', arguments: '' },
      // A tool called without input reads `{}`, as in the buffered answer.
      { type: 'tool_call', index: 1, arguments: '{}' },
      { type: 'finish', reason: 'tool_calls' },
      {
        type: 'usage',
        usage: {
          prompt_tokens: 10,
          completion_tokens: 9,
          total_tokens: 19,
          prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        },
      },
    ]);
  });

  it('maps stop reasons through the buffered mapping (max_tokens is length)', async () => {
    upstream.script({ sse: anthropicStreamFrames({ text: ['cut'], stopReason: 'max_tokens' }) });
    const { events } = await drain(opened(await open()).events);
    assert.deepEqual(events.filter((event) => event.type === 'finish'), [{ type: 'finish', reason: 'length' }]);
  });

  it('throws an `error` event as http_error 529 after the text that came before it', async () => {
    const frames = anthropicStreamFrames({ text: ['Partial', ' answer'] });
    // message_start, ping, content_block_start, two deltas: then the upstream gives up.
    upstream.script({ sse: [...frames.slice(0, 5), errorFrame('overloaded_error', 'Overloaded')] });

    const drained = await drain(opened(await open()).events);

    assert.equal(textOf(drained.events), 'Partial answer');
    assert.deepEqual(streamError(drained).outcome, { kind: 'http_error', status: 529, headers: {}, message: 'Overloaded' });
  });

  it('keeps the larger of message_start\'s and message_delta\'s running usage counts', () => {
    const reader = new AnthropicStreamReader();
    reader.read({ data: JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 20, cache_read_input_tokens: 5, output_tokens: 1 } } }) });
    reader.read({ data: JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 0, output_tokens: 9 } }) });
    reader.read({ data: JSON.stringify({ type: 'message_stop' }) });
    assert.deepEqual(reader.end(), [
      {
        type: 'usage',
        usage: { prompt_tokens: 25, completion_tokens: 9, total_tokens: 34, prompt_tokens_details: { cached_tokens: 5, cache_write_tokens: 0 } },
      },
    ]);
  });

  it('gives each in-stream error type the status it has outside a stream', () => {
    const statusOf = (type: string) => {
      const reader = new AnthropicStreamReader();
      try {
        reader.read({ event: 'error', data: JSON.stringify({ type: 'error', error: { type, message: 'no' } }) });
      } catch (error) {
        const outcome = (error as { outcome?: { status?: number } }).outcome;
        return outcome?.status;
      }
      return undefined;
    };
    assert.deepEqual(
      ['overloaded_error', 'rate_limit_error', 'api_error', 'invalid_request_error', 'something_new'].map(statusOf),
      [529, 429, 500, 400, 500],
    );
  });

  it('throws network_error ECONNRESET when the stream is cut mid-answer', async () => {
    upstream.script({ sse: anthropicStreamFrames({ text: ['one ', 'two ', 'three'] }), cutAfterFrames: 5 });

    const drained = await drain(opened(await open()).events);

    assert.equal(textOf(drained.events), 'one two ');
    const { outcome } = streamError(drained);
    assert.equal(outcome.kind === 'network_error' && outcome.code, 'ECONNRESET');
  });

  it('reads a body that ends cleanly before message_delta and message_stop as a cut', async () => {
    upstream.script({ sse: anthropicStreamFrames({ text: ['one ', 'two'] }).slice(0, 5) });
    const drained = await drain(opened(await open()).events);
    assert.equal(textOf(drained.events), 'one two');
    assert.deepEqual(streamError(drained).outcome, {
      kind: 'network_error',
      code: 'ECONNRESET',
      message: 'upstream stream ended before its end',
    });
  });

  it('throws malformed for a frame that is not JSON', async () => {
    upstream.script({ sse: [anthropicStreamFrames()[0]!, 'event: content_block_start\ndata: {"type":'] });
    const drained = await drain(opened(await open()).events);
    assert.equal(streamError(drained).outcome.kind, 'malformed');
  });

  it('returns a non-2xx head as http_error with Anthropic\'s message, never the API key', async () => {
    upstream.script({
      status: 529,
      body: { type: 'error', error: { type: 'overloaded_error', message: `Overloaded (key ${TEST_KEY})` } },
    });
    const outcome = await open();
    assert.equal(outcome.kind, 'http_error');
    if (outcome.kind !== 'http_error') return;
    assert.equal(outcome.status, 529);
    assert.match(outcome.message, /^Overloaded \(key/);
    assert.ok(!JSON.stringify(outcome).includes(TEST_KEY));
  });

  it('on a 401 refreshes the key once and streams with the rotated one', async () => {
    upstream.script(
      { status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } },
      { sse: anthropicStreamFrames({ text: ['rotated'] }) },
    );
    const outcome = await open(hello, 2_000, rotatingSecrets('anthropic', { api_key: TEST_KEY }, { api_key: ROTATED_KEY }));
    const drained = await drain(opened(outcome).events);
    assert.equal(textOf(drained.events), 'rotated');
    assert.deepEqual(
      upstream.requests.map((request) => request.headers['x-api-key']),
      [TEST_KEY, ROTATED_KEY],
    );
  });

  it('sends a prefill (a final assistant message) last, without trailing whitespace', async () => {
    upstream.script({ sse: anthropicStreamFrames({ text: ['forty-two.'] }) });
    const body = {
      ...hello,
      messages: [
        { role: 'user', content: 'What is the answer?' },
        { role: 'assistant', content: 'The answer is \n' },
      ],
    };
    await drain(opened(await open(body)).events);
    assert.deepEqual((upstream.requests[0]?.body as { messages: unknown[] }).messages, [
      { role: 'user', content: [{ type: 'text', text: 'What is the answer?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'The answer is' }] },
    ]);
  });

  it('answers an untranslatable request with a 400 without calling upstream, and has no embeddings', async () => {
    const bad = await open({ model: 'm', messages: 'nope', stream: true });
    assert.deepEqual(bad, { kind: 'http_error', status: 400, headers: {}, message: 'invalid request for anthropic: `messages` must be an array' });
    const embeddings = await new AnthropicProvider(config(), secrets).stream({ operation: 'embeddings', body: {}, timeoutMs: 1_000 });
    assert.deepEqual(embeddings, { kind: 'unavailable', reason: 'anthropic has no embeddings API' });
    assert.equal(upstream.requests.length, 0);
  });

  it('abort() closes the upstream socket at once', { timeout: 5_000 }, async () => {
    upstream.script({ sse: anthropicStreamFrames({ text: ['never', 'ending'] }), hangAfterFrames: 4 });
    const stream = opened(await open());
    const iterator = stream.events[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { done: false, value: { type: 'text', text: 'never' } });
    const pending = iterator.next();

    stream.abort();

    assert.ok(await waitFor(() => upstream.closedEarly === 1, 500), 'the upstream saw its connection closed');
    const result = await pending.catch((error: unknown) => ({ error }));
    assert.ok('error' in result || result.done === true);
  });
});
