import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AccessDeniedException,
  InternalServerException,
  ModelNotReadyException,
  ModelTimeoutException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import type { ProviderConfig } from '../../../shared/config/schema';
import { providerSchema } from '../../../shared/config/schema';
import {
  BedrockProvider,
  BedrockTranslationError,
  converseErrorOutcome,
  fromConverseResponse,
  toBedrockFinishReason,
  toConverseRequest,
} from '../../../shared/providers/bedrock';
import { createProvider } from '../../../shared/providers/createProvider';
import { startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { NOW, choiceOf, textCompletion, toolCallChoice, usageRecord } from './chatFixtures';

type BedrockConfig = Extract<ProviderConfig, { type: 'bedrock' }>;

const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const CONTEXT = { id: 'chatcmpl-req-1', model: MODEL, nowSeconds: NOW };
const TEST_CREDENTIALS = { accessKeyId: 'AKIATEST', secretAccessKey: 'test' };
const PNG_BASE64 = 'iVBORw0KGgo=';

const converseAnswer = (overrides: Record<string, unknown> = {}) => ({
  output: { message: { role: 'assistant', content: [{ text: 'Hello!' }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 },
  metrics: { latencyMs: 120 },
  ...overrides,
});

type ExceptionClass = new (options: { message: string; $metadata: { httpStatusCode: number } }) => Error;

const serviceError = (ErrorClass: ExceptionClass, status: number) =>
  new ErrorClass({ message: `${ErrorClass.name} says no`, $metadata: { httpStatusCode: status } });

describe('toConverseRequest', () => {
  it('lifts system and developer messages into system blocks and names the model', () => {
    const out = toConverseRequest({
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }, { type: 'text', text: '' }] },
        { role: 'user', content: 'Hi' },
      ],
    });
    assert.deepEqual(out, {
      modelId: MODEL,
      system: [{ text: 'You are terse.' }, { text: 'Answer in French.' }],
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
    });
  });

  it('maps sampling fields into inferenceConfig, prefers max_completion_tokens and drops OpenAI-only ones', () => {
    const out = toConverseRequest({
      model: 'm',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 50,
      max_completion_tokens: 200,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END', ''],
      n: 1,
      seed: 7,
      user: 'u-1',
      parallel_tool_calls: false,
    });
    assert.deepEqual(out, {
      modelId: 'm',
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      inferenceConfig: { maxTokens: 200, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    });
    const single = toConverseRequest({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], stop: 'STOP', max_tokens: 9 });
    assert.deepEqual(single.inferenceConfig, { maxTokens: 9, stopSequences: ['STOP'] });
  });

  it('turns base64 data: URLs into image bytes with their format', () => {
    const out = toConverseRequest({
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
            { type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/4A==' } },
            { type: 'image_url', image_url: { url: 'data:image/webp;base64,UklGRg==' } },
            { type: 'image_url', image_url: { url: 'data:image/gif;base64,R0lGOA==' } },
          ],
        },
      ],
    });
    assert.deepEqual(out.messages, [
      {
        role: 'user',
        content: [
          { text: 'What is in these?' },
          { image: { format: 'png', source: { bytes: new Uint8Array(Buffer.from(PNG_BASE64, 'base64')) } } },
          { image: { format: 'jpeg', source: { bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xe0]) } } },
          { image: { format: 'webp', source: { bytes: new Uint8Array(Buffer.from('RIFF')) } } },
          { image: { format: 'gif', source: { bytes: new Uint8Array(Buffer.from('GIF8')) } } },
        ],
      },
    ]);
  });

  it('refuses image URLs Converse cannot take, naming the field', () => {
    const ask = (url: string) => () =>
      toConverseRequest({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] });
    assert.throws(ask('https://example.com/cat.jpg'), {
      name: 'BedrockTranslationError',
      message: 'messages[0].content[0].image_url.url must be a base64 data: URL (bedrock does not fetch image URLs)',
    });
    assert.throws(ask('data:image/bmp;base64,Qk0='), {
      name: 'BedrockTranslationError',
      message: 'messages[0].content[0].image_url.url has media type "image/bmp"; bedrock takes png, jpeg, gif or webp',
    });
  });

  it('translates tools, tool calls and merges tool results into one user turn, results first', () => {
    const out = toConverseRequest({
      model: 'm',
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking both.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '21C' }] },
        { role: 'user', content: 'Thanks' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'weather',
            description: 'Current weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
        { type: 'function', function: { name: 'noargs' } },
      ],
      tool_choice: 'auto',
    });
    assert.deepEqual(out.messages, [
      { role: 'user', content: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { text: 'Checking both.' },
          { toolUse: { toolUseId: 'call_1', name: 'weather', input: { city: 'Paris' } } },
          { toolUse: { toolUseId: 'call_2', name: 'weather', input: {} } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call_1', content: [{ text: '18C' }] } },
          { toolResult: { toolUseId: 'call_2', content: [{ text: '21C' }] } },
          { text: 'Thanks' },
        ],
      },
    ]);
    assert.deepEqual(out.toolConfig, {
      tools: [
        {
          toolSpec: {
            name: 'weather',
            description: 'Current weather',
            inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
          },
        },
        { toolSpec: { name: 'noargs', inputSchema: { json: { type: 'object', properties: {} } } } },
      ],
      toolChoice: { auto: {} },
    });
  });

  it('maps each tool_choice; "none" drops the tools unless the conversation already uses them', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const spec = { toolSpec: { name: 'f', inputSchema: { json: { type: 'object', properties: {} } } } };
    const plain = [{ role: 'user', content: 'Hi' }];
    const choose = (tool_choice: unknown, messages: unknown[] = plain) =>
      toConverseRequest({ model: 'm', messages, tools, tool_choice }).toolConfig;

    assert.deepEqual(choose(undefined), { tools: [spec] });
    assert.deepEqual(choose('auto'), { tools: [spec], toolChoice: { auto: {} } });
    assert.deepEqual(choose('required'), { tools: [spec], toolChoice: { any: {} } });
    assert.deepEqual(choose({ type: 'function', function: { name: 'f' } }), { tools: [spec], toolChoice: { tool: { name: 'f' } } });
    assert.equal(choose('none'), undefined);
    const withToolTurns = [
      ...plain,
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'done' },
    ];
    assert.deepEqual(choose('none', withToolTurns), { tools: [spec] });
    assert.throws(() => choose('sometimes'), {
      name: 'BedrockTranslationError',
      message: '`tool_choice` must be "auto", "required", "none" or {type: "function", function: {name}}',
    });
  });

  it('throws naming the field on requests it cannot translate', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ messages: [] }, '`model` must be a non-empty string'],
      [{ model: 'm', messages: 'hi' }, '`messages` must be an array'],
      [{ model: 'm', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role "robot" is not supported'],
      [{ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 0 }, '`max_tokens` must be a positive integer'],
      [
        {
          model: 'm',
          messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{oops' } }] }],
        },
        'messages[0].tool_calls[0].function.arguments is not valid JSON',
      ],
      [{ model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id must be a non-empty string'],
      [
        { model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] },
        'messages[0].content[0].type "input_audio" is not supported by bedrock',
      ],
    ];
    for (const [body, message] of cases) {
      assert.throws(() => toConverseRequest(body), (error: unknown) => {
        assert.ok(error instanceof BedrockTranslationError);
        assert.equal(error.message, message);
        return true;
      });
    }
  });
  it('trims the trailing whitespace of a prefill (a final assistant message)', () => {
    const out = toConverseRequest({
      model: 'm',
      messages: [
        { role: 'user', content: 'Count to three.' },
        { role: 'assistant', content: 'One, two, ' },
      ],
    });
    assert.deepEqual(out.messages, [
      { role: 'user', content: [{ text: 'Count to three.' }] },
      { role: 'assistant', content: [{ text: 'One, two,' }] },
    ]);
  });
});

describe('fromConverseResponse', () => {
  it('joins text blocks into a chat.completion', () => {
    const out = fromConverseResponse(
      converseAnswer({
        output: { message: { role: 'assistant', content: [{ text: 'Hello' }, { reasoningContent: {} }, { text: ' there' }] } },
      }),
      CONTEXT,
    );
    assert.deepEqual(out, textCompletion('chatcmpl-req-1', MODEL, 'Hello there', usageRecord(12, 3, 15)));
  });

  it('turns toolUse blocks into tool_calls with null content', () => {
    const out = fromConverseResponse(
      converseAnswer({
        output: {
          message: {
            role: 'assistant',
            content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'weather', input: { city: 'Paris' } } }],
          },
        },
        stopReason: 'tool_use',
      }),
      CONTEXT,
    );
    assert.deepEqual(choiceOf(out), toolCallChoice({ id: 'tooluse_1', name: 'weather', arguments: '{"city":"Paris"}' }));
  });

  it('maps every stop reason', () => {
    const table: Array<[unknown, string]> = [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['model_context_window_exceeded', 'length'],
      ['tool_use', 'tool_calls'],
      ['guardrail_intervened', 'content_filter'],
      ['content_filtered', 'content_filter'],
      ['something_new', 'stop'],
      [undefined, 'stop'],
    ];
    for (const [stopReason, finishReason] of table) {
      assert.equal(toBedrockFinishReason(stopReason), finishReason, `stopReason ${String(stopReason)}`);
      assert.equal(choiceOf(fromConverseResponse(converseAnswer({ stopReason }), CONTEXT)).finish_reason, finishReason);
    }
  });

  it('counts cache reads and writes into prompt_tokens and keeps them apart, as the anthropic adapter does', () => {
    const out = fromConverseResponse(
      converseAnswer({
        usage: { inputTokens: 25, cacheReadInputTokens: 1000, cacheWriteInputTokens: 300, outputTokens: 40, totalTokens: 1365 },
      }),
      CONTEXT,
    );
    assert.deepEqual(out.usage, usageRecord(1325, 40, 1365, 1000, 300));
  });

  it('throws on an answer that holds no message', () => {
    assert.throws(() => fromConverseResponse('nope', CONTEXT), { message: 'answer is not an object' });
    assert.throws(() => fromConverseResponse({ output: {} }, CONTEXT), { message: 'no `output.message.content` array' });
    assert.throws(
      () => fromConverseResponse(converseAnswer({ output: { message: { content: [{ toolUse: { name: 'f' } }] } } }), CONTEXT),
      { message: 'content[0] is a toolUse without toolUseId or name' },
    );
  });
});

describe('converseErrorOutcome', () => {
  it('maps each Bedrock exception to the status the engine acts on', () => {
    const table: Array<[ExceptionClass, number, number]> = [
      [ThrottlingException, 429, 429],
      [ServiceUnavailableException, 503, 503],
      [ModelNotReadyException, 429, 503],
      [InternalServerException, 500, 500],
      [ValidationException, 400, 400],
      [AccessDeniedException, 403, 403],
      [ModelTimeoutException, 408, 408],
    ];
    for (const [ErrorClass, wireStatus, status] of table) {
      assert.deepEqual(
        converseErrorOutcome(serviceError(ErrorClass, wireStatus)),
        { kind: 'http_error', status, headers: {}, message: `${ErrorClass.name} says no` },
        ErrorClass.name,
      );
    }
  });

  it('falls back to the HTTP status for exceptions it does not name, and reads a 2xx as malformed', () => {
    const unknown = Object.assign(new Error('bad gateway'), { name: 'SomethingNewException', $metadata: { httpStatusCode: 502 } });
    assert.deepEqual(converseErrorOutcome(unknown), { kind: 'http_error', status: 502, headers: {}, message: 'bad gateway' });
    const unreadable = Object.assign(new Error('Unexpected token'), { name: 'SyntaxError', $metadata: { httpStatusCode: 200 } });
    assert.deepEqual(converseErrorOutcome(unreadable), { kind: 'malformed', message: 'unreadable 200 answer: Unexpected token' });
  });

  it('reads node error codes on the error or its cause as network errors', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: { attempts: 1 } });
    assert.deepEqual(converseErrorOutcome(reset), { kind: 'network_error', code: 'ECONNRESET', message: 'socket hang up' });
    const refused = new Error('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    assert.deepEqual(converseErrorOutcome(refused), { kind: 'network_error', code: 'ECONNREFUSED', message: 'fetch failed' });
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND bedrock-runtime'), { code: 'ENOTFOUND' });
    assert.equal((converseErrorOutcome(dns) as { code: string }).code, 'ENOTFOUND');
  });

  it('reads missing credentials as unavailable and redacts key ids from messages', () => {
    const creds = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    assert.deepEqual(converseErrorOutcome(creds), {
      kind: 'unavailable',
      reason: 'no AWS credentials: Could not load credentials from any providers',
    });
    const denied = serviceError(AccessDeniedException, 403);
    denied.message = 'User AKIAIOSFODNN7EXAMPLE is not authorized';
    assert.equal((converseErrorOutcome(denied) as { message: string }).message, 'User [redacted] is not authorized');
  });
});

describe('bedrock provider config', () => {
  it('takes region and endpoint and refuses a credential', () => {
    assert.deepEqual(providerSchema.parse({ type: 'bedrock', region: 'eu-west-1' }), { type: 'bedrock', region: 'eu-west-1' });
    const refused = providerSchema.safeParse({ type: 'bedrock', credential: 'bedrock' });
    assert.equal(refused.success, false);
    assert.deepEqual(
      refused.error?.issues.map((issue) => [issue.path, issue.message]),
      [[['credential'], "bedrock signs with the function's IAM role and takes no `credential`"]],
    );
  });
});

describe('BedrockProvider against a loopback Converse stub', () => {
  let upstream: MockUpstream;
  let provider: BedrockProvider;
  let config: BedrockConfig;

  before(async () => {
    upstream = await startMockUpstream();
    config = { type: 'bedrock', region: 'us-east-1', endpoint: upstream.baseUrl.replace(/\/v1$/, '') };
    provider = new BedrockProvider(config, { credentials: TEST_CREDENTIALS, nowSeconds: () => NOW });
  });
  after(() => upstream.close());
  beforeEach(() => upstream.reset());

  const chat = (body: Record<string, unknown>, timeoutMs = 5_000) => provider.call({ operation: 'chat', body, timeoutMs });

  it('posts to /model/{modelId}/converse, signed for us-east-1, and translates the answer', async () => {
    upstream.script({
      headers: { 'x-amzn-requestid': 'req-42' },
      body: converseAnswer({
        usage: { inputTokens: 10, outputTokens: 2, totalTokens: 112, cacheReadInputTokens: 100, cacheWriteInputTokens: 0 },
      }),
    });
    const outcome = await chat({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hi' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
          ],
        },
      ],
      max_tokens: 64,
      temperature: 0,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
      tool_choice: 'required',
    });

    assert.equal(upstream.requests.length, 1);
    const sent = upstream.requests[0]!;
    assert.equal(sent.method, 'POST');
    assert.equal(sent.path, '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
    assert.deepEqual(sent.body, {
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ text: 'Hi' }, { image: { format: 'png', source: { bytes: PNG_BASE64 } } }] }],
      inferenceConfig: { maxTokens: 64, temperature: 0 },
      toolConfig: {
        tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object', properties: {} } } } }],
        toolChoice: { any: {} },
      },
    });
    assert.match(String(sent.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIATEST\/\d{8}\/us-east-1\/bedrock\/aws4_request,/);

    assert.deepEqual(outcome, {
      kind: 'success',
      status: 200,
      headers: { 'x-amzn-requestid': 'req-42' },
      body: textCompletion('chatcmpl-req-42', MODEL, 'Hello!', usageRecord(110, 2, 112, 100)),
    });
  });

  it('reads a throttling answer as http_error 429 and does not retry it itself', async () => {
    upstream.script({
      status: 429,
      headers: { 'x-amzn-errortype': 'ThrottlingException', 'x-amzn-requestid': 'req-429' },
      body: { message: 'Too many requests, please wait before trying again.' },
    });
    const outcome = await chat({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(outcome.kind, 'http_error');
    assert.equal(outcome.kind === 'http_error' && outcome.status, 429);
    assert.equal(outcome.kind === 'http_error' && outcome.message, 'Too many requests, please wait before trying again.');
    assert.equal(outcome.kind === 'http_error' && outcome.headers['x-amzn-errortype'], 'ThrottlingException');
    assert.equal(upstream.requests.length, 1);
  });

  it('maps a ModelNotReadyException answer to 503 and an unnamed 502 to 502', async () => {
    upstream.script(
      { status: 429, headers: { 'x-amzn-errortype': 'ModelNotReadyException' }, body: { message: 'warming up' } },
      { status: 502, body: '<html>bad gateway</html>' },
    );
    const notReady = await chat({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    assert.deepEqual(notReady.kind === 'http_error' && [notReady.status, notReady.message], [503, 'warming up']);
    const badGateway = await chat({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(badGateway.kind === 'http_error' && badGateway.status, 502);
    assert.equal(upstream.requests.length, 2);
  });

  it('gives up at the attempt timeout', async () => {
    upstream.script({ delayMs: 1_000, body: converseAnswer() });
    const started = Date.now();
    const outcome = await chat({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }, 150);
    assert.deepEqual(outcome, { kind: 'timeout', timeoutMs: 150 });
    assert.ok(Date.now() - started < 800, 'returned before the answer arrived');
  });

  it('reads a reset connection as a network error', async () => {
    upstream.script({ reset: true });
    const outcome = await chat({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(outcome.kind, 'network_error');
    assert.equal(outcome.kind === 'network_error' && outcome.code, 'ECONNRESET');
  });

  it('reads a 200 without a message, or without JSON, as malformed', async () => {
    upstream.script(
      { body: { stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } } },
      { body: '<html>proxy says hi</html>' },
    );
    const noMessage = await chat({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    assert.deepEqual(noMessage, { kind: 'malformed', message: 'unreadable bedrock answer: no `output.message.content` array' });
    const notJson = await chat({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(notJson.kind, 'malformed');
    assert.match(notJson.kind === 'malformed' ? notJson.message : '', /^unreadable 200 answer: Unexpected token '<'/);
  });

  it('answers 400 without calling Bedrock when the request cannot be translated', async () => {
    const outcome = await chat({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] });
    assert.deepEqual(outcome, {
      kind: 'http_error',
      status: 400,
      headers: {},
      message:
        'invalid request for bedrock: messages[0].content[0].image_url.url must be a base64 data: URL (bedrock does not fetch image URLs)',
    });
    assert.equal(upstream.requests.length, 0);
  });

  it('has no embeddings, and no calls at all without a region', async () => {
    assert.deepEqual(await provider.call({ operation: 'embeddings', body: { model: 'm', input: 'x' }, timeoutMs: 1_000 }), {
      kind: 'unavailable',
      reason: 'bedrock embeddings are not served through the Converse API',
    });
    const noRegion = new BedrockProvider({ type: 'bedrock' }, { credentials: TEST_CREDENTIALS, env: {} });
    assert.deepEqual(await noRegion.call({ operation: 'chat', body: { model: MODEL, messages: [] }, timeoutMs: 1_000 }), {
      kind: 'unavailable',
      reason: 'bedrock has no region: set `region` or AWS_REGION',
    });
    assert.equal(upstream.requests.length, 0);
  });

  it('is built by createProvider for a bedrock config', () => {
    const adapter = createProvider(config, {
      secrets: { get: async () => undefined },
      clock: { now: () => 0, sleep: async () => undefined },
      random: () => 0,
    });
    assert.ok(adapter instanceof BedrockProvider);
  });
});
