import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProviderConfig } from '../../../shared/config/schema';
import type { SecretSource } from '../../../shared/credentials';
import type { AuthFailureEvent } from '../../../shared/providers';
import { OpenAiStreamReader, openAiStreamErrorStatus } from '../../../shared/providers/openAiStream';
import { OpenAiProvider, streamingBody } from '../../../shared/providers/openai';
import { openAiStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { drain, opened, rotatingSecrets, streamError, textOf, waitFor } from './streamFixtures';

type OpenAiConfig = Extract<ProviderConfig, { type: 'openai' }>;

const TEST_KEY = 'sk-test-openai-stream-0001';
const ROTATED_KEY = 'sk-test-openai-stream-0002';
const hello = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true };

const chunkFrame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'm', choices, ...extra })}`;

describe('OpenAiProvider.stream', () => {
  let upstream: MockUpstream;
  let secrets: SecretSource;
  before(async () => {
    upstream = await startMockUpstream();
  });
  after(() => upstream.close());
  beforeEach(() => {
    upstream.reset();
    secrets = { get: async (name) => (name === 'openai' ? { api_key: TEST_KEY } : undefined) };
  });

  const config = (): OpenAiConfig => ({ type: 'openai', base_url: upstream.baseUrl, credential: 'openai' });
  const open = (body: Record<string, unknown> = hello, timeoutMs = 2_000, source = secrets) =>
    new OpenAiProvider(config(), source).stream({ operation: 'chat', body, timeoutMs });

  it('streams text deltas, then one finish and one usage, and asks for usage upstream', async () => {
    // Prepare
    upstream.script({
      sse: openAiStreamFrames({ text: ['Hel', 'lo'], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } }),
    });

    // Act
    const drained = await drain(opened(await open({ ...hello, stream_options: { include_usage: false } })).events);

    // Assess
    assert.equal(drained.error, undefined);
    assert.deepEqual(drained.events, [
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } },
    ]);
    const sent = upstream.requests[0]!;
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.accept, 'text/event-stream');
    assert.equal(sent.headers.authorization, `Bearer ${TEST_KEY}`);
    assert.deepEqual(sent.body, { ...hello, stream: true, stream_options: { include_usage: true } });
  });

  it('forces include_usage while keeping the client\'s other stream_options', () => {
    assert.deepEqual(streamingBody({ model: 'm' }), { model: 'm', stream: true, stream_options: { include_usage: true } });
    assert.deepEqual(streamingBody({ model: 'm', stream_options: { include_usage: false, continuous_usage_stats: true } }), {
      model: 'm',
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    });
  });

  it('streams two parallel tool calls as indexed deltas with ids, names and argument fragments', async () => {
    upstream.script({
      sse: [
        chunkFrame([{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }]),
        chunkFrame([{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }] } }]),
        chunkFrame([{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'time', arguments: '' } }] } }]),
        chunkFrame([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }]),
        chunkFrame([{ index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: '{"tz":"CET"}' } }] } }]),
        chunkFrame([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } }]),
        chunkFrame([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
        chunkFrame([], { usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 } }),
        'data: [DONE]',
      ],
    });

    const drained = await drain(opened(await open()).events);

    assert.equal(drained.error, undefined);
    assert.deepEqual(drained.events, [
      { type: 'tool_call', index: 0, id: 'call_1', name: 'weather', arguments: '' },
      { type: 'tool_call', index: 1, id: 'call_2', name: 'time', arguments: '' },
      { type: 'tool_call', index: 0, arguments: '{"city":' },
      { type: 'tool_call', index: 1, arguments: '{"tz":"CET"}' },
      { type: 'tool_call', index: 0, arguments: '"Paris"}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: { prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 } },
    ]);
  });

  it('passes cached and reasoning token details on, and reports the last usage once when every chunk repeats it', async () => {
    const running = (completion: number) => ({ prompt_tokens: 50, completion_tokens: completion, total_tokens: 50 + completion });
    upstream.script({
      sse: [
        chunkFrame([{ index: 0, delta: { content: 'a' } }], { usage: running(1) }),
        chunkFrame([{ index: 0, delta: { content: 'b' }, finish_reason: 'length' }], { usage: running(2) }),
        chunkFrame([], {
          usage: { ...running(2), prompt_tokens_details: { cached_tokens: 40 }, completion_tokens_details: { reasoning_tokens: 1 } },
        }),
        'data: [DONE]',
      ],
    });

    const { events } = await drain(opened(await open()).events);

    assert.deepEqual(events.filter((event) => event.type === 'usage'), [
      {
        type: 'usage',
        usage: { ...running(2), prompt_tokens_details: { cached_tokens: 40 }, completion_tokens_details: { reasoning_tokens: 1 } },
      },
    ]);
    assert.deepEqual(events.filter((event) => event.type === 'finish'), [{ type: 'finish', reason: 'length' }]);
  });

  it('ignores choices other than index 0', async () => {
    upstream.script({
      sse: [
        chunkFrame([
          { index: 1, delta: { content: 'other' } },
          { index: 0, delta: { content: 'mine' } },
        ]),
        chunkFrame([{ index: 1, delta: {}, finish_reason: 'length' }]),
        chunkFrame([{ index: 0, delta: {}, finish_reason: 'stop' }]),
        'data: [DONE]',
      ],
    });
    const { events } = await drain(opened(await open()).events);
    assert.deepEqual(events, [
      { type: 'text', text: 'mine' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('yields each event as its frame arrives, never waiting for the whole answer', { timeout: 5_000 }, async () => {
    upstream.script({ sse: openAiStreamFrames({ text: ['first', 'second'] }), hangAfterFrames: 2 });
    const stream = opened(await open());
    const iterator = stream.events[Symbol.asyncIterator]();

    // The upstream has sent the role chunk and 'first', and then nothing: the event is here anyway.
    const first = await iterator.next();

    assert.deepEqual(first, { done: false, value: { type: 'text', text: 'first' } });
    stream.abort();
  });

  it('throws a network_error ECONNRESET when the stream is cut mid-answer, after the text that came', async () => {
    upstream.script({ sse: openAiStreamFrames({ text: ['one ', 'two ', 'three'] }), cutAfterFrames: 3 });

    const drained = await drain(opened(await open()).events);

    assert.equal(textOf(drained.events), 'one two ');
    const error = streamError(drained);
    assert.equal(error.outcome.kind, 'network_error');
    assert.equal(error.outcome.kind === 'network_error' && error.outcome.code, 'ECONNRESET');
  });

  it('reads a body that ends without [DONE] and without a finish_reason as a cut', async () => {
    const frames = openAiStreamFrames({ text: ['partial'], finishReason: null, usage: null }).slice(0, -1);
    upstream.script({ sse: frames });

    const drained = await drain(opened(await open()).events);

    assert.equal(textOf(drained.events), 'partial');
    assert.deepEqual(streamError(drained).outcome, {
      kind: 'network_error',
      code: 'ECONNRESET',
      message: 'upstream stream ended before its end',
    });
  });

  it('accepts a body that ends without [DONE] once a finish_reason came', async () => {
    upstream.script({ sse: openAiStreamFrames({ text: ['whole'], usage: null }).slice(0, -1) });
    const drained = await drain(opened(await open()).events);
    assert.equal(drained.error, undefined);
    assert.deepEqual(drained.events, [
      { type: 'text', text: 'whole' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('throws an in-stream error chunk as an http_error with its mapped status and a redacted message', async () => {
    upstream.script({
      sse: [
        chunkFrame([{ index: 0, delta: { content: 'so far' } }]),
        `data: ${JSON.stringify({ error: { message: `Rate limit reached for key ${TEST_KEY}`, type: 'requests', code: 'rate_limit_exceeded' } })}`,
      ],
    });

    const drained = await drain(opened(await open()).events);

    assert.equal(textOf(drained.events), 'so far');
    const { outcome } = streamError(drained);
    assert.equal(outcome.kind, 'http_error');
    assert.equal(outcome.kind === 'http_error' && outcome.status, 429);
    const message = outcome.kind === 'http_error' ? outcome.message : '';
    assert.match(message, /^Rate limit reached for key/);
    assert.ok(!message.includes(TEST_KEY), 'the key never comes back');
  });

  it('maps in-stream error objects to statuses: their own status, a known code, else 500', () => {
    assert.equal(openAiStreamErrorStatus({ message: 'x' }), 500);
    assert.equal(openAiStreamErrorStatus({ message: 'x', type: 'server_error' }), 500);
    assert.equal(openAiStreamErrorStatus({ message: 'x', code: 'rate_limit_exceeded' }), 429);
    assert.equal(openAiStreamErrorStatus({ message: 'x', code: 503 }), 503);
    assert.equal(openAiStreamErrorStatus({ message: 'x', status: '502' }), 502);
    assert.equal(openAiStreamErrorStatus({ message: 'x', type: 'invalid_request_error' }), 400);
    assert.equal(openAiStreamErrorStatus('boom'), 500);
  });

  it('throws malformed for a frame that is not JSON', async () => {
    upstream.script({ sse: [chunkFrame([{ index: 0, delta: { content: 'ok' } }]), 'data: {"choices": [', 'data: [DONE]'] });
    const drained = await drain(opened(await open()).events);
    assert.equal(textOf(drained.events), 'ok');
    assert.equal(streamError(drained).outcome.kind, 'malformed');
  });

  it('returns a non-2xx head as http_error with its headers and message, never the API key', async () => {
    upstream.script({
      status: 429,
      headers: { 'retry-after': '3' },
      body: { error: { message: `Rate limit exceeded for ${TEST_KEY}`, type: 'requests' } },
    });

    const outcome = await open();

    assert.equal(outcome.kind, 'http_error');
    if (outcome.kind !== 'http_error') return;
    assert.equal(outcome.status, 429);
    assert.equal(outcome.headers['retry-after'], '3');
    assert.match(outcome.message, /^Rate limit exceeded for/);
    assert.ok(!JSON.stringify(outcome).includes(TEST_KEY));
    assert.ok(!JSON.stringify(outcome).includes('stream-0001'), 'not even a fragment of the key');
  });

  it('on a 401 refreshes the key once and streams with the rotated one', async () => {
    upstream.script(
      { status: 401, body: { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } } },
      { sse: openAiStreamFrames({ text: ['rotated'] }) },
    );
    const failures: AuthFailureEvent[] = [];
    const provider = new OpenAiProvider(config(), rotatingSecrets('openai', { api_key: TEST_KEY }, { api_key: ROTATED_KEY }), {
      onAuthFailure: (event) => failures.push(event),
    });

    const outcome = await provider.stream({ operation: 'chat', body: hello, timeoutMs: 2_000 });
    const drained = await drain(opened(outcome).events);

    assert.equal(textOf(drained.events), 'rotated');
    assert.deepEqual(
      upstream.requests.map((request) => request.headers.authorization),
      [`Bearer ${TEST_KEY}`, `Bearer ${ROTATED_KEY}`],
    );
    assert.deepEqual(failures, [{ credential: 'openai', status: 401, recovered: true }]);
  });

  it('returns timeout when no head arrives within timeoutMs, and network_error on a reset before it', async () => {
    upstream.script({ delayMs: 1_000, sse: openAiStreamFrames({ text: ['late'] }) }, { reset: true });
    assert.deepEqual(await open(hello, 100), { kind: 'timeout', timeoutMs: 100 });
    const reset = await open();
    assert.equal(reset.kind === 'network_error' && reset.code, 'ECONNRESET');
  });

  it('reads a 200 JSON answer to a streamed request as malformed', async () => {
    upstream.script({ body: { id: 'x', object: 'chat.completion', choices: [] } });
    const outcome = await open();
    assert.equal(outcome.kind, 'malformed');
  });

  it('abort() closes the upstream socket at once and the events end without a stray error', { timeout: 5_000 }, async () => {
    upstream.script({ sse: openAiStreamFrames({ text: ['never', 'ending'] }), hangAfterFrames: 2 });
    const stream = opened(await open());
    const iterator = stream.events[Symbol.asyncIterator]();
    await iterator.next();
    const pending = iterator.next();

    const abortedAt = Date.now();
    stream.abort();

    assert.ok(await waitFor(() => upstream.closedEarly === 1, 500), 'the upstream saw its connection closed');
    assert.ok(Date.now() - abortedAt < 500);
    const result = await pending.catch((error: unknown) => ({ error }));
    assert.ok('error' in result || result.done === true, 'the iterator ends (or throws) after abort');
  });

  it('is unavailable for embeddings and without its credential', async () => {
    const provider = new OpenAiProvider(config(), { get: async () => undefined });
    assert.deepEqual(await provider.stream({ operation: 'embeddings', body: { model: 'm', input: 'x' }, timeoutMs: 1_000 }), {
      kind: 'unavailable',
      reason: 'openai cannot stream embeddings',
    });
    assert.deepEqual(await provider.stream({ operation: 'chat', body: hello, timeoutMs: 1_000 }), {
      kind: 'unavailable',
      reason: 'credential "openai" is not set',
    });
    assert.equal(upstream.requests.length, 0);
  });
});

describe('OpenAiStreamReader', () => {
  it('reads an `event: error` frame as an in-stream error', () => {
    const reader = new OpenAiStreamReader();
    assert.throws(() => reader.read({ event: 'error', data: '{"message":"model crashed"}' }), {
      name: 'UpstreamStreamError',
      outcome: { kind: 'http_error', status: 500, headers: {}, message: 'model crashed' },
    });
  });

  it('finishes with `stop` when [DONE] came without a finish_reason', () => {
    const reader = new OpenAiStreamReader();
    assert.deepEqual(reader.read({ data: '[DONE]' }), []);
    assert.equal(reader.done, true);
    assert.deepEqual(reader.end(), [{ type: 'finish', reason: 'stop' }]);
  });
});
