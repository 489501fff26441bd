import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import Anthropic, { APIError, AuthenticationError, BadRequestError, NotFoundError, RateLimitError } from '@anthropic-ai/sdk';
import { startApiGatewayServer, type RunningServer } from '../../bin/local/apiGatewayServer';
import { installAwsLambdaGlobal } from '../../bin/local/lambdaStreaming';
import { createGatewayHandler } from '../../functions/gateway/createHandler';
import { PriceTable, SpendGuard, type SpendLedger } from '../../shared/budget';
import { compileConfig } from '../../shared/config';
import { systemClock } from '../../shared/resilience';
import {
  e2eConfig,
  fastRetry,
  modelTarget,
  raw,
  startMockedGateway,
  UPSTREAM_KEY,
  upstreamSecrets,
  VIRTUAL_KEY,
  type MockedGateway,
} from '../support/e2eHarness';
import { anthropicStreamFrames, chatCompletion, openAiStreamFrames, startMockUpstream, type MockUpstream } from '../support/mockUpstream';

const CLAUDE = 'claude-sonnet-4-5';
const GPT = 'gpt-4o-mini';

/** An Anthropic Messages answer, as the mock Anthropic upstream sends it. */
const claudeMessage = (content: unknown[], extra: Record<string, unknown> = {}) => ({
  id: 'msg_upstream_1',
  type: 'message',
  role: 'assistant',
  model: CLAUDE,
  content,
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 },
  ...extra,
});

const weatherTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

/** Awaits a call that must fail with one of the SDK's HTTP errors. */
async function sdkError(call: Promise<unknown>): Promise<APIError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof APIError) return error;
    throw error;
  }
  assert.fail('expected the SDK call to fail');
}

/**
 * The Anthropic Messages door through the official Anthropic SDK (`maxRetries: 0`, the virtual
 * key as its API key) against scripted Anthropic and OpenAI mock upstreams.
 */
describe('e2e: the Anthropic Messages API (POST /v1/messages) with the Anthropic SDK', () => {
  let stack: MockedGateway<'openai'>;
  let openai: MockUpstream;
  let claude: MockUpstream;
  const client = (route?: string, apiKey = VIRTUAL_KEY) =>
    new Anthropic({
      apiKey,
      baseURL: stack.gateway.url,
      maxRetries: 0,
      timeout: 15_000,
      defaultHeaders: route ? { 'x-breakwater-route': route } : undefined,
    });

  before(async () => {
    claude = await startMockUpstream();
    stack = await startMockedGateway({
      upstreams: ['openai'],
      routes: {
        anthropic: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [modelTarget('claude', CLAUDE)] },
        openai: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [modelTarget('openai', GPT)] },
        fallback: {
          strategy: { mode: 'fallback' },
          retry: fastRetry(0),
          targets: [modelTarget('claude', CLAUDE), modelTarget('openai', GPT)],
        },
      },
      otherProviders: { claude: { type: 'anthropic', base_url: claude.baseUrl, credential: 'upstream' } },
    });
    ({ openai } = stack.mocks);
  });
  after(async () => {
    await stack.close();
    await claude.close();
  });
  beforeEach(() => {
    stack.reset();
    claude.reset();
  });

  describe('buffered', () => {
    it('to an Anthropic target the client body goes as it came: cache_control, metadata, the anthropic-beta header; the answer comes back as a message', async () => {
      // Prepare
      claude.script({ body: claudeMessage([{ type: 'text', text: 'Hello from Claude' }]) });
      const system = [{ type: 'text' as const, text: 'You are terse.', cache_control: { type: 'ephemeral' as const } }];
      const messages = [
        {
          role: 'user' as const,
          content: [{ type: 'text' as const, text: 'A long document…', cache_control: { type: 'ephemeral' as const } }, { type: 'text' as const, text: 'Summarise it.' }],
        },
      ];

      // Act
      const { data: message, response } = await client('anthropic')
        .messages.create(
          // top_k is gone from this SDK's types; older clients still send it.
          { model: 'claude-latest', max_tokens: 256, system, messages, top_k: 5, metadata: { user_id: 'end-user-7' } } as Anthropic.MessageCreateParamsNonStreaming,
          { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31,interleaved-thinking-2025-05-14' } },
        )
        .withResponse();

      // Assess: the upstream got the client's own body, the target's model, the gateway's key.
      const sent = claude.requests[0]!;
      assert.equal(sent.path, '/v1/messages');
      assert.deepEqual(sent.body, {
        model: CLAUDE,
        max_tokens: 256,
        system,
        messages,
        top_k: 5,
        metadata: { user_id: 'end-user-7' },
      });
      assert.equal(sent.headers['anthropic-beta'], 'prompt-caching-2024-07-31,interleaved-thinking-2025-05-14');
      assert.equal(sent.headers['x-api-key'], UPSTREAM_KEY);
      assert.equal(sent.headers['anthropic-version'], '2023-06-01');

      assert.deepEqual(message.content, [{ type: 'text', text: 'Hello from Claude' }]);
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      assert.equal(message.id, 'msg_upstream_1');
      assert.equal(message.model, CLAUDE);
      assert.equal(message.stop_reason, 'end_turn');
      assert.deepEqual(message.usage, { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 });
      assert.equal(response.headers.get('x-breakwater-target'), `claude/${CLAUDE}`);
      assert.ok(response.headers.get('request-id'));
      assert.equal(response.headers.get('request-id'), response.headers.get('x-request-id'));
    });

    it('to an OpenAI target the request is translated (system, blocks, stop, user) and nothing Anthropic-only leaks', async () => {
      // Prepare
      openai.script({ body: chatCompletion('Bonjour', GPT) });

      // Act
      const message = await client('openai').messages.create({
        model: 'any',
        max_tokens: 100,
        system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
        messages: [
          { role: 'user', content: 'Say hello' },
          { role: 'assistant', content: 'In which language?' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'French, like this picture' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            ],
          },
        ],
        stop_sequences: ['\n\nHuman:'],
        temperature: 0.5,
        top_k: 3,
        metadata: { user_id: 'end-user-9' },
        output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { greeting: { type: 'string' } } } }, effort: 'low' },
      } as Anthropic.MessageCreateParamsNonStreaming);

      // Assess
      assert.deepEqual(openai.requests[0]!.body, {
        model: GPT,
        max_tokens: 100,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Say hello' },
          { role: 'assistant', content: 'In which language?' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'French, like this picture' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            ],
          },
        ],
        stop: ['\n\nHuman:'],
        temperature: 0.5,
        user: 'end-user-9',
        response_format: { type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object', properties: { greeting: { type: 'string' } } } } },
      });
      assert.deepEqual(message.content, [{ type: 'text', text: 'Bonjour' }]);
      assert.equal(message.stop_reason, 'end_turn');
      assert.match(message.id, /^msg_/);
      assert.deepEqual(message.usage, { input_tokens: 5, output_tokens: 4, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    });

    it('tool use round trip on an OpenAI target: tool_calls come back as tool_use with a parsed input, tool_result goes as a tool message', async () => {
      // Prepare: the model calls the tool, then answers once the result is back.
      openai.script(
        {
          body: {
            ...chatCompletion(undefined, GPT),
            choices: [
              {
                index: 0,
                message: {
                  role: 'assistant',
                  content: null,
                  tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
                },
                finish_reason: 'tool_calls',
              },
            ],
          },
        },
        { body: chatCompletion('It is sunny in Paris.', GPT) },
      );
      const ask = { role: 'user' as const, content: 'Weather in Paris?' };

      // Act
      const first = await client('openai').messages.create({
        model: 'any',
        max_tokens: 200,
        messages: [ask],
        tools: [weatherTool],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
      });
      const toolUse = first.content.find((block) => block.type === 'tool_use');
      assert.ok(toolUse && toolUse.type === 'tool_use');
      const second = await client('openai').messages.create({
        model: 'any',
        max_tokens: 200,
        tools: [weatherTool],
        messages: [
          ask,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: [{ type: 'text', text: '22°C, sunny' }] }] },
        ],
      });

      // Assess
      assert.equal(first.stop_reason, 'tool_use');
      assert.deepEqual(toolUse, { type: 'tool_use', id: 'call_7', name: 'get_weather', input: { city: 'Paris' } });
      const firstSent = openai.requests[0]!.body as Record<string, unknown>;
      assert.deepEqual(firstSent.tools, [
        { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherTool.input_schema } },
      ]);
      assert.equal(firstSent.tool_choice, 'required');
      assert.equal(firstSent.parallel_tool_calls, false);
      assert.deepEqual((openai.requests[1]!.body as { messages: unknown[] }).messages, [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_7', content: '22°C, sunny' },
      ]);
      assert.deepEqual(second.content, [{ type: 'text', text: 'It is sunny in Paris.' }]);
      assert.equal(second.stop_reason, 'end_turn');
    });

    it('tool use round trip on an Anthropic target: tool_use and tool_result (is_error included) pass through as sent', async () => {
      // Prepare
      claude.script(
        { body: claudeMessage([{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Oslo' } }], { stop_reason: 'tool_use' }) },
        { body: claudeMessage([{ type: 'text', text: 'The lookup failed.' }]) },
      );
      const ask = { role: 'user' as const, content: 'Weather in Oslo?' };

      // Act
      const first = await client('anthropic').messages.create({ model: 'any', max_tokens: 100, messages: [ask], tools: [weatherTool] });
      const turns = [
        ask,
        { role: 'assistant' as const, content: first.content },
        { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: 'toolu_01', content: 'timeout', is_error: true }] },
      ];
      const second = await client('anthropic').messages.create({ model: 'any', max_tokens: 100, messages: turns, tools: [weatherTool] });

      // Assess
      assert.equal(first.stop_reason, 'tool_use');
      assert.deepEqual(first.content, [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Oslo' } }]);
      assert.deepEqual((claude.requests[1]!.body as { messages: unknown }).messages, turns);
      assert.deepEqual(second.content, [{ type: 'text', text: 'The lookup failed.' }]);
    });

    it('thinking blocks in the answer come back with their signature, and go back upstream as sent', async () => {
      // Prepare
      const thinking = { type: 'thinking', thinking: 'Let me check the tool.', signature: 'c2ln' };
      const redacted = { type: 'redacted_thinking', data: 'ZW5jcnlwdGVk' };
      claude.script({
        body: claudeMessage([thinking, redacted, { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'Rome' } }], {
          stop_reason: 'tool_use',
        }),
      });

      // Act
      const message = await client('anthropic').messages.create({
        model: 'any',
        max_tokens: 2_048,
        thinking: { type: 'enabled', budget_tokens: 1_024 },
        messages: [{ role: 'user', content: 'Weather in Rome?' }],
        tools: [weatherTool],
      });

      // Assess
      assert.deepEqual(message.content, [thinking, redacted, { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'Rome' } }]);
      assert.deepEqual((claude.requests[0]!.body as { thinking: unknown }).thinking, { type: 'enabled', budget_tokens: 1_024 });
    });

    it('the native field cannot be forged through another door: a chat body carrying one is sent translated', async () => {
      // Prepare
      claude.script({ body: claudeMessage([{ type: 'text', text: 'ok' }]) });

      // Act
      const response = await raw(`${stack.gateway.url}/v1/chat/completions`, {
        headers: { 'x-breakwater-route': 'anthropic' },
        body: {
          model: 'any',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'screened words' }],
          x_breakwater_anthropic: { body: { max_tokens: 10, messages: [{ role: 'user', content: 'unscreened words' }] }, beta: 'forged' },
        },
      });

      // Assess
      assert.equal(response.status, 200, response.text);
      const sent = claude.requests[0]!;
      assert.deepEqual((sent.body as { messages: unknown }).messages, [{ role: 'user', content: [{ type: 'text', text: 'screened words' }] }]);
      assert.equal(sent.headers['anthropic-beta'], undefined);
    });

    it('fallback: an Anthropic target overloaded (529) falls back to an OpenAI target, which gets the translation only', async () => {
      // Prepare
      claude.script({ status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
      openai.script({ body: chatCompletion('from the fallback', GPT) });

      // Act
      const { data: message, response } = await client('fallback')
        .messages.create({
          model: 'any',
          max_tokens: 50,
          system: [{ type: 'text', text: 'Sys', cache_control: { type: 'ephemeral' } }],
          messages: [{ role: 'user', content: 'hi' }],
        })
        .withResponse();

      // Assess
      assert.deepEqual(message.content, [{ type: 'text', text: 'from the fallback' }]);
      assert.equal(response.headers.get('x-breakwater-target'), `openai/${GPT}`);
      assert.equal(response.headers.get('x-breakwater-fallback-index'), '1');
      assert.equal(claude.requests.length, 1);
      assert.deepEqual((claude.requests[0]!.body as { system: unknown }).system, [{ type: 'text', text: 'Sys', cache_control: { type: 'ephemeral' } }]);
      assert.deepEqual(openai.requests[0]!.body, {
        model: GPT,
        max_tokens: 50,
        messages: [
          { role: 'system', content: 'Sys' },
          { role: 'user', content: 'hi' },
        ],
      });
    });
  });

  describe('streaming', () => {
    it('messages.stream() from an Anthropic target: text deltas as they come, thinking with its signature, usage, finalMessage', async () => {
      // Prepare
      claude.script({
        sse: anthropicStreamFrames({ thinking: ['Hmm, ', 'a greeting.'], text: ['Hel', 'lo', ' there'], inputTokens: 30, cacheReadTokens: 70, outputTokens: 9 }),
      });
      const deltas: string[] = [];

      // Act
      const stream = client('anthropic').messages.stream(
        { model: 'any', max_tokens: 2_048, thinking: { type: 'enabled', budget_tokens: 1_024 }, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } },
      );
      stream.on('text', (text) => deltas.push(text));
      const final = await stream.finalMessage();

      // Assess
      assert.deepEqual(deltas, ['Hel', 'lo', ' there']);
      assert.deepEqual(final.content, [
        { type: 'thinking', thinking: 'Hmm, a greeting.', signature: 'c2lnbmF0dXJl' },
        { type: 'text', text: 'Hello there' },
      ]);
      assert.equal(final.stop_reason, 'end_turn');
      assert.equal(final.model, CLAUDE);
      assert.match(final.id, /^msg_/);
      assert.equal(final.usage.input_tokens, 30);
      assert.equal(final.usage.cache_read_input_tokens, 70);
      assert.equal(final.usage.output_tokens, 9);
      const sent = claude.requests[0]!;
      assert.equal((sent.body as { stream?: unknown }).stream, true);
      assert.equal(sent.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14');
    });

    it('the wire: message_start, ping, content blocks, message_delta, message_stop, as Anthropic orders them', async () => {
      // Prepare
      claude.script({ sse: anthropicStreamFrames({ text: ['a', 'b'] }) });

      // Act
      const response = await raw(`${stack.gateway.url}/v1/messages`, {
        body: { model: 'any', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] },
        headers: { 'x-breakwater-route': 'anthropic' },
      });

      // Assess
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.ok(response.headers.get('request-id'));
      assert.equal(response.headers.get('x-breakwater-target'), `claude/${CLAUDE}`);
      const events = response.text
        .split('\n\n')
        .filter(Boolean)
        .map((frame) => /^event: (\S+)/.exec(frame)?.[1]);
      assert.deepEqual(events, [
        'message_start',
        'ping',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
    });

    it('tool use from an OpenAI target streams as tool_use blocks with input_json_delta; finalMessage parses the input', async () => {
      // Prepare
      openai.script({
        sse: openAiStreamFrames({ toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: ['{"ci', 'ty":"Lyon"}'] }], model: GPT }),
      });
      const jsonDeltas: string[] = [];

      // Act
      const stream = client('openai').messages.stream({ model: 'any', max_tokens: 100, messages: [{ role: 'user', content: 'Lyon?' }], tools: [weatherTool] });
      stream.on('inputJson', (partial) => jsonDeltas.push(partial));
      const final = await stream.finalMessage();

      // Assess
      assert.deepEqual(jsonDeltas, ['{"ci', 'ty":"Lyon"}']);
      assert.deepEqual(final.content, [{ type: 'tool_use', id: 'call_9', name: 'get_weather', input: { city: 'Lyon' } }]);
      assert.equal(final.stop_reason, 'tool_use');
    });

    it('fallback before the first byte: an overloaded Anthropic target, then an OpenAI target streams the answer', async () => {
      // Prepare
      claude.script({ status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
      openai.script({ sse: openAiStreamFrames({ text: ['Bon', 'jour'], model: GPT }) });

      // Act
      const stream = client('fallback').messages.stream({ model: 'any', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      const final = await stream.finalMessage();

      // Assess
      assert.deepEqual(final.content, [{ type: 'text', text: 'Bonjour' }]);
      assert.equal(final.model, GPT);
      assert.equal(claude.requests.length, 1);
      assert.equal((openai.requests[0]!.body as { stream?: unknown }).stream, true);
      assert.equal('x_breakwater_anthropic' in (openai.requests[0]!.body as object), false);
    });

    it('a stream cut after its first byte ends with an `error` event, which the SDK raises', async () => {
      // Prepare: message_start, ping, block start, one delta; then the socket is cut.
      claude.script({ sse: anthropicStreamFrames({ text: ['partial', ' answer', ' never sent'] }), cutAfterFrames: 4 });
      const deltas: string[] = [];

      // Act
      const stream = client('anthropic').messages.stream({ model: 'any', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
      stream.on('text', (text) => deltas.push(text));
      const error = await sdkError(stream.finalMessage());

      // Assess
      assert.deepEqual(deltas, ['partial']);
      assert.equal(error.type, 'api_error');
      assert.equal(error.errorCode, 'stream_interrupted');
      assert.match(error.message, /broke after its first byte/);
    });
  });

  describe('errors in Anthropic\'s shape, so the SDK raises its own classes', () => {
    it('a bad key: AuthenticationError (401, authentication_error)', async () => {
      const error = await sdkError(client('anthropic', 'bw_test_not_a_key_0000_xxxxxxxxx').messages.create({ model: 'any', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
      assert.ok(error instanceof AuthenticationError, `got ${error.constructor.name}`);
      assert.equal(error.status, 401);
      assert.equal(error.type, 'authentication_error');
      assert.equal(error.errorCode, 'invalid_api_key');
      assert.ok(error.requestID);
      assert.equal(claude.requests.length, 0);
    });

    it('a bad key with a bad body is still a 401: the key is checked first', async () => {
      const response = await raw(`${stack.gateway.url}/v1/messages`, { body: { model: 'any' }, auth: 'bw_test_not_a_key_0000_xxxxxxxxx' });
      assert.equal(response.status, 401);
    });

    it('a body without max_tokens: BadRequestError (400, invalid_request_error) naming the field', async () => {
      const error = await sdkError(client('anthropic').messages.create({ model: 'any', messages: [{ role: 'user', content: 'hi' }] } as never));
      assert.ok(error instanceof BadRequestError, `got ${error.constructor.name}`);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, /max_tokens/);
      assert.equal(claude.requests.length, 0);
    });

    it('a server tool (web search) is refused by name: 400 unsupported_tool, no upstream call', async () => {
      const error = await sdkError(
        client('anthropic').messages.create({
          model: 'any',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'news?' }],
          tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }],
        }),
      );
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.errorCode, 'unsupported_tool');
      assert.match(error.message, /web_search_20250305/);
      assert.equal(claude.requests.length, 0);
    });

    it('malformed JSON, an unknown path, a wrong method: Anthropic\'s shape and status, request-id header', async () => {
      const malformed = await raw(`${stack.gateway.url}/v1/messages`, { body: '{"model": ' });
      const unknown = await raw(`${stack.gateway.url}/v1/messages/batches`, { body: {} });
      const wrongMethod = await raw(`${stack.gateway.url}/v1/messages`);
      for (const [response, status, type] of [
        [malformed, 400, 'invalid_request_error'],
        [unknown, 404, 'not_found_error'],
        [wrongMethod, 405, 'invalid_request_error'],
      ] as const) {
        assert.equal(response.status, status, response.text);
        const body = response.json as { type: string; error: { type: string; message: string }; request_id: string };
        assert.equal(body.type, 'error');
        assert.equal(body.error.type, type);
        assert.ok(body.error.message.length > 0);
        assert.equal(response.headers.get('request-id'), body.request_id);
        assert.equal(response.headers.get('x-request-id'), body.request_id);
      }
    });

    it('the other doors keep OpenAI\'s shape', async () => {
      const response = await raw(`${stack.gateway.url}/v1/chat/completions`, { body: { model: 'any' } });
      assert.equal(response.status, 400);
      assert.equal((response.json as { error: { code: string } }).error.code, 'invalid_request');
      assert.equal((response.json as { type?: unknown }).type, undefined);
    });

    it('every target failing: InternalServerError-class 503 with api_error and the attempts', async () => {
      claude.script({ status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
      const error = await sdkError(client('anthropic').messages.create({ model: 'any', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
      assert.equal(error.status, 503);
      assert.equal(error.type, 'api_error');
      assert.equal(error.errorCode, 'all_targets_failed');
      assert.ok(Array.isArray((error.details as { attempts?: unknown } | null)?.attempts));
    });
  });

  describe('POST /v1/messages/count_tokens', () => {
    it('an Anthropic route asks Anthropic: the native body with the target\'s model, `x-breakwater-token-count: upstream`', async () => {
      // Prepare
      claude.script({ body: { input_tokens: 42 } });
      const system = [{ type: 'text' as const, text: 'Sys', cache_control: { type: 'ephemeral' as const } }];

      // Act
      const { data, response } = await client('anthropic')
        .messages.countTokens({ model: 'claude-latest', system, messages: [{ role: 'user', content: 'count me' }], tools: [weatherTool] })
        .withResponse();

      // Assess
      assert.equal(data.input_tokens, 42);
      assert.equal(response.headers.get('x-breakwater-token-count'), 'upstream');
      const sent = claude.requests[0]!;
      assert.equal(sent.path, '/v1/messages/count_tokens');
      assert.deepEqual(sent.body, { model: CLAUDE, system, messages: [{ role: 'user', content: 'count me' }], tools: [weatherTool] });
      assert.equal(sent.headers['x-api-key'], UPSTREAM_KEY);
    });

    it('an OpenAI route is estimated, with no upstream call: `x-breakwater-token-count: estimate`', async () => {
      const short = await client('openai').messages.countTokens({ model: 'any', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
      const long = await client('openai').messages.countTokens({ model: 'any', messages: [{ role: 'user', content: 'hi '.repeat(400) }] });
      assert.equal(short.response.headers.get('x-breakwater-token-count'), 'estimate');
      assert.ok(short.data.input_tokens > 0);
      assert.ok(long.input_tokens >= short.data.input_tokens + 250, `${long.input_tokens} vs ${short.data.input_tokens}`);
      assert.equal(openai.requests.length, 0);
    });

    it('an Anthropic count that fails upstream (5xx) falls back to the estimate', async () => {
      claude.script({ status: 500, body: { type: 'error', error: { type: 'api_error', message: 'boom' } } });
      const { data, response } = await client('anthropic').messages.countTokens({ model: 'any', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
      assert.equal(response.headers.get('x-breakwater-token-count'), 'estimate');
      assert.ok(data.input_tokens > 0);
    });
  });
});

/** A spend ledger whose every window is full: each reservation is refused. */
const fullLedger: SpendLedger = {
  reserve: async () => ({ reserved: false }),
  adjust: async () => ({}),
  setFlagOnce: async () => false,
};

describe('e2e: the Messages door over budget', () => {
  let gateway: RunningServer;
  let claude: MockUpstream;

  before(async () => {
    claude = await startMockUpstream();
    installAwsLambdaGlobal();
    const logger = new Logger({ serviceName: 'breakwater-test', logLevel: 'SILENT' });
    const config = e2eConfig({
      providers: { claude: { type: 'anthropic', base_url: claude.baseUrl, credential: 'upstream' } },
      routes: { anthropic: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [modelTarget('claude', CLAUDE)] } },
      tenants: { capped: { route: 'anthropic', keys: [VIRTUAL_KEY], daily_budget_usd: 5 } },
    });
    const handler = createGatewayHandler({
      config: compileConfig(config),
      secrets: upstreamSecrets,
      logger,
      services: { spend: new SpendGuard({ ledger: fullLedger, prices: new PriceTable({ logger }), clock: systemClock, logger }) },
    });
    gateway = await startApiGatewayServer({ handler, port: 0 });
  });
  after(async () => {
    await gateway.close();
    await claude.close();
  });

  it('RateLimitError (429, rate_limit_error) with Retry-After, and no upstream call', async () => {
    const client = new Anthropic({ apiKey: VIRTUAL_KEY, baseURL: gateway.url, maxRetries: 0 });
    const error = await sdkError(client.messages.create({ model: 'any', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
    assert.ok(error instanceof RateLimitError, `got ${error.constructor.name}`);
    assert.equal(error.type, 'rate_limit_error');
    assert.equal(error.errorCode, 'budget_exceeded');
    assert.ok(Number(error.headers?.get('retry-after')) > 0);
    assert.equal(claude.requests.length, 0);
  });

  it('NotFoundError for an unknown route name', async () => {
    const client = new Anthropic({ apiKey: VIRTUAL_KEY, baseURL: gateway.url, maxRetries: 0, defaultHeaders: { 'x-breakwater-route': 'nope' } });
    const error = await sdkError(client.messages.create({ model: 'any', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
    assert.ok(error instanceof NotFoundError, `got ${error.constructor.name}`);
    assert.equal(error.type, 'not_found_error');
  });
});
