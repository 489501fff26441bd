import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { APIError } from 'openai';
import { anthropicStreamFrames, openAiStreamFrames, startMockUpstream, type MockUpstream } from '../support/mockUpstream';
import { fastRetry, hello, modelTarget, sdkClient, startMockedGateway, VIRTUAL_KEY, type MockedGateway } from '../support/e2eHarness';

/** Reads an SSE body's `data:` payloads as they are, `[DONE]` included. */
async function sseData(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
}

const waitFor = async (condition: () => boolean, timeoutMs: number) => {
  const until = Date.now() + timeoutMs;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  return condition();
};

/**
 * Streaming through the gateway with the official OpenAI SDK (`stream: true` and the `.stream()`
 * helper) against scripted SSE upstreams: OpenAI-compatible and Anthropic.
 */
describe('e2e: streaming chat completions', () => {
  let stack: MockedGateway<'primary' | 'backup'>;
  let primary: MockUpstream;
  let backup: MockUpstream;
  let claude: MockUpstream;
  const client = (route?: string) => sdkClient(stack.gateway.url, undefined, route ? { 'x-breakwater-route': route } : undefined);

  before(async () => {
    claude = await startMockUpstream();
    stack = await startMockedGateway({
      upstreams: ['primary', 'backup'],
      routes: {
        main: {
          strategy: { mode: 'fallback' },
          retry: fastRetry(2),
          stream_first_token_timeout: 300,
          stream_idle_timeout: 300,
          targets: [modelTarget('primary', 'primary-model'), modelTarget('backup', 'backup-model')],
        },
        recovering: {
          strategy: { mode: 'fallback' },
          retry: fastRetry(0),
          stream_recovery: 'continue',
          targets: [modelTarget('primary', 'primary-model'), { provider: 'claude', override_params: { model: 'claude-sonnet-4-5' } }],
        },
        anthropic: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'claude', override_params: { model: 'claude-sonnet-4-5' } }] },
      },
      otherProviders: { claude: { type: 'anthropic', base_url: claude.baseUrl, credential: 'upstream' } },
    });
    ({ primary, backup } = stack.mocks);
  });
  after(async () => {
    await stack.close();
    await claude.close();
  });
  beforeEach(() => {
    stack.reset();
    claude.reset();
  });

  it('relays text chunk by chunk with the head headers, finish_reason on the last chunk, and [DONE]', async () => {
    primary.script({ sse: openAiStreamFrames({ text: ['Hel', 'lo', ' there'], model: 'primary-model' }) });
    const { data: stream, response } = await client()
      .chat.completions.create({ model: 'any', messages: hello, stream: true })
      .withResponse();
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(response.headers.get('x-breakwater-target'), 'primary/primary-model');
    assert.equal(response.headers.get('x-breakwater-attempts'), '1');
    assert.equal(response.headers.get('x-breakwater-fallback-index'), '0');
    assert.equal(response.headers.get('x-breakwater-degraded'), 'false');
    assert.ok(response.headers.get('x-request-id'));

    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join(''), 'Hello there');
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk'));
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
    assert.ok(chunks.every((chunk) => chunk.usage === undefined || chunk.usage === null), 'no usage chunk unless asked');
    // Usage is asked of the upstream all the same: spend settles from it.
    assert.deepEqual((primary.requests[0]?.body as { stream_options?: unknown }).stream_options, { include_usage: true });
  });

  it('include_usage: a final chunk with usage, empty choices and the gateway facts', async () => {
    primary.script({ sse: openAiStreamFrames({ text: ['a', 'b'], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } }) });
    const stream = await client().chat.completions.create({
      model: 'any',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.prompt_tokens, 7);
    assert.equal(last.usage?.completion_tokens, 2);
    assert.equal((last as unknown as { x_breakwater: { target: string } }).x_breakwater.target, 'primary/primary-model');
  });

  it('tool-call deltas: index, id, name and argument fragments assemble with the .stream() helper', async () => {
    primary.script({
      sse: openAiStreamFrames({
        toolCalls: [
          { id: 'call_1', name: 'get_weather', arguments: ['{"city":', '"Paris"}'] },
          { id: 'call_2', name: 'get_time', arguments: ['{"tz":"CET"}'] },
        ],
        finishReason: 'tool_calls',
      }),
    });
    const runner = client().chat.completions.stream({ model: 'any', messages: hello });
    const final = await runner.finalChatCompletion();
    const calls = final.choices[0]!.message.tool_calls!;
    assert.equal(final.choices[0]!.finish_reason, 'tool_calls');
    assert.deepEqual(
      calls.map((call) => (call.type === 'function' ? [call.id, call.function.name, call.function.arguments] : [])),
      [
        ['call_1', 'get_weather', '{"city":"Paris"}'],
        ['call_2', 'get_time', '{"tz":"CET"}'],
      ],
    );
  });

  it('guarantee: a 503 before the first byte is retried, invisibly to the client', async () => {
    primary.script({ status: 503, body: { error: { message: 'overloaded' } } }, { sse: openAiStreamFrames({ text: ['ok'] }) });
    const { data: stream, response } = await client().chat.completions.create({ model: 'any', messages: hello, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'ok');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    assert.equal(primary.requests.length, 2);
  });

  it('guarantee: a 200 that stalls before its first token fails over within stream_first_token_timeout', async () => {
    primary.setDefault({ sse: openAiStreamFrames({ text: ['never'] }), hangAfterFrames: 0 });
    backup.script({ sse: openAiStreamFrames({ text: ['from ', 'the backup'] }) });
    const started = Date.now();
    const { data: stream, response } = await client().chat.completions.create({ model: 'any', messages: hello, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'from the backup');
    assert.equal(response.headers.get('x-breakwater-target'), 'backup/backup-model');
    assert.equal(response.headers.get('x-breakwater-degraded'), 'true');
    // 3 stalled attempts of 300 ms each, plus small backoffs: well under the SDK's 15 s.
    assert.ok(Date.now() - started < 3_000, `failed over in ${Date.now() - started} ms`);
  });

  it('guarantee: a stream cut after its first byte ends with an OpenAI error event and no [DONE], never a silent truncation', async () => {
    primary.script({ sse: openAiStreamFrames({ text: ['one ', 'two ', 'three ', 'four'] }), cutAfterFrames: 3 });
    const stream = await client().chat.completions.create({ model: 'any', messages: hello, stream: true });
    let text = '';
    const error = await (async () => {
      try {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assert.ok(error instanceof APIError, `the SDK raised ${String(error)}`);
    assert.match(error.message, /broke after its first byte/);
    assert.equal((error.error as { code?: string }).code, 'stream_interrupted');
    assert.ok(text.startsWith('one'), `partial text was streamed: ${JSON.stringify(text)}`);

    // The same, read raw: the last data line is the error object, and there is no [DONE].
    primary.script({ sse: openAiStreamFrames({ text: ['one ', 'two ', 'three ', 'four'] }), cutAfterFrames: 3 });
    const response = await fetch(`${stack.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VIRTUAL_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', messages: hello, stream: true }),
    });
    const data = await sseData(response);
    assert.ok(!data.includes('[DONE]'));
    assert.equal(JSON.parse(data.at(-1)!).error.code, 'stream_interrupted');
  });

  it('stream_recovery "continue": a cut answer is continued by a prefill-capable target in the same response', async () => {
    primary.script({ sse: openAiStreamFrames({ text: ['The answer ', 'is forty', '-two', ' and more'] }), cutAfterFrames: 3 });
    claude.script({ sse: anthropicStreamFrames({ text: ['-two, ', 'as computed.'], inputTokens: 20, outputTokens: 6 }) });
    const stream = await client('recovering').chat.completions.create({
      model: 'any',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, 'The answer is forty-two, as computed.');
    const prefill = (claude.requests[0]?.body as { messages: Array<{ role: string; content: unknown }> }).messages.at(-1)!;
    assert.equal(prefill.role, 'assistant');
    assert.equal(JSON.stringify(prefill.content).includes('The answer is forty'), true);
    const facts = (chunks.at(-1) as unknown as { x_breakwater: { recovered_from?: string; target: string } }).x_breakwater;
    assert.equal(facts.recovered_from, 'primary/primary-model');
    assert.equal(facts.target, 'claude/claude-sonnet-4-5');
  });

  it('translates Anthropic SSE (text, tool_use with input_json_delta, usage) to OpenAI chunks as they arrive', async () => {
    claude.script({
      sse: anthropicStreamFrames({
        text: ['Let me ', 'check.'],
        toolUse: { id: 'toolu_1', name: 'get_weather', inputJson: ['{"city"', ':"Oslo"}'] },
        inputTokens: 11,
        outputTokens: 9,
      }),
    });
    const stream = await client('anthropic').chat.completions.create({
      model: 'any',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join(''), 'Let me check.');
    const toolDeltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    assert.equal(toolDeltas[0]?.id, 'toolu_1');
    assert.equal(toolDeltas[0]?.function?.name, 'get_weather');
    assert.equal(toolDeltas.map((delta) => delta.function?.arguments ?? '').join(''), '{"city":"Oslo"}');
    assert.equal(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(chunks.at(-1)?.usage?.prompt_tokens, 11);
    assert.equal(chunks.at(-1)?.usage?.completion_tokens, 9);
  });

  it('guarantee: a client that goes away aborts the upstream at once', async () => {
    const frames = openAiStreamFrames({ text: Array.from({ length: 100 }, (_, i) => `w${i} `) });
    primary.script({ sse: frames, frameDelayMs: 30 });
    const controller = new AbortController();
    const stream = await client().chat.completions.create({ model: 'any', messages: hello, stream: true }, { signal: controller.signal });
    let seen = 0;
    try {
      for await (const _chunk of stream) {
        if (++seen === 3) controller.abort();
      }
    } catch {
      // The SDK reports the abort.
    }
    assert.ok(await waitFor(() => primary.closedEarly > 0, 2_000), 'the upstream connection was closed before its end');
  });

  it('bad input on a stream is the same 4xx JSON error as buffered: n > 1 is refused', async () => {
    const response = await fetch(`${stack.gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VIRTUAL_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', messages: hello, stream: true, n: 2 }),
    });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await response.json()) as { error: { code: string; param: string } };
    assert.equal(body.error.code, 'invalid_request');
    assert.equal(body.error.param, 'n');
  });
});
