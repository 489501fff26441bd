import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProviderConfig } from '../../../shared/config/schema';
import type { SecretSource } from '../../../shared/credentials';
import {
  AnthropicProvider,
  fromAnthropicResponse,
  toAnthropicRequest,
  toFinishReason,
} from '../../../shared/providers/anthropic';
import { NOW, choiceOf, textCompletion, toolCallChoice, usageRecord } from './chatFixtures';

type AnthropicConfig = Extract<ProviderConfig, { type: 'anthropic' }>;

const TEST_KEY = 'sk-test-anthropic-0001';
const translationConfig = { default_max_tokens: 4096 };

const config = (overrides: Partial<AnthropicConfig> = {}): AnthropicConfig => ({
  type: 'anthropic',
  base_url: 'https://api.anthropic.com/v1',
  credential: 'anthropic',
  anthropic_version: '2023-06-01',
  default_max_tokens: 4096,
  ...overrides,
});

const secrets = (value: Record<string, string> | undefined): SecretSource => ({
  get: async (name) => (name === 'anthropic' ? value : undefined),
});

const anthropicMessage = (overrides: Record<string, unknown> = {}) => ({
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [{ type: 'text', text: 'Hello!' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 3 },
  ...overrides,
});

describe('toAnthropicRequest', () => {
  it('lifts system and developer messages into a joined top-level system', () => {
    const out = toAnthropicRequest(
      {
        model: 'claude-sonnet-4-5',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hi' },
        ],
      },
      translationConfig,
    );
    assert.deepEqual(out, {
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      system: 'You are terse.\n\nAnswer in French.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    });
  });

  it('translates multi-part content with data: and https images', () => {
    const out = toAnthropicRequest(
      {
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in these?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
            ],
          },
        ],
      },
      translationConfig,
    );
    assert.deepEqual(out.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
  });

  it('maps sampling fields, drops OpenAI-only ones (and defaults such as n: 1, zero penalties) and prefers max_completion_tokens', () => {
    const out = toAnthropicRequest(
      {
        model: 'm',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 100,
        max_completion_tokens: 200,
        temperature: 0.2,
        top_p: 0.9,
        stop: 'END',
        user: 'user-42',
        n: 1,
        presence_penalty: 0,
        frequency_penalty: 0,
        logprobs: false,
        seed: 7,
        stream: false,
      },
      translationConfig,
    );
    assert.deepEqual(out, {
      model: 'm',
      max_tokens: 200,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
    });
    const withArray = toAnthropicRequest(
      { model: 'm', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50, stop: ['a', 'b'] },
      translationConfig,
    );
    assert.equal(withArray.max_tokens, 50);
    assert.deepEqual(withArray.stop_sequences, ['a', 'b']);
  });

  it('translates tools, tool calls and merged tool results', () => {
    const out = toAnthropicRequest(
      {
        model: 'm',
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'Weather for a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
            },
          },
        ],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        messages: [
          { role: 'user', content: 'Weather in Paris and Oslo?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '18C' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '9C' }] },
          { role: 'user', content: 'Thanks' },
          { role: 'user', content: 'Which is warmer?' },
        ],
      },
      translationConfig,
    );
    assert.deepEqual(out.tools, [
      {
        name: 'get_weather',
        description: 'Weather for a city',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ]);
    assert.deepEqual(out.tool_choice, { type: 'tool', name: 'get_weather' });
    assert.deepEqual(out.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Oslo?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Oslo' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '9C' }] },
          { type: 'text', text: 'Thanks' },
          { type: 'text', text: 'Which is warmer?' },
        ],
      },
    ]);
  });

  it('maps each tool_choice and parallel_tool_calls', () => {
    const base = {
      model: 'm',
      messages: [{ role: 'user', content: 'Hi' }],
      tools: [{ type: 'function', function: { name: 'f' } }],
    };
    const choice = (extra: Record<string, unknown>) => toAnthropicRequest({ ...base, ...extra }, translationConfig);
    assert.deepEqual(choice({ tool_choice: 'auto' }).tool_choice, { type: 'auto' });
    assert.deepEqual(choice({ tool_choice: 'required' }).tool_choice, { type: 'any' });
    assert.deepEqual(choice({ tool_choice: 'none' }).tool_choice, { type: 'none' });
    assert.equal(choice({}).tool_choice, undefined);
    assert.deepEqual(choice({}).tools, [{ name: 'f', input_schema: { type: 'object', properties: {} } }]);
    assert.deepEqual(choice({ parallel_tool_calls: false }).tool_choice, { type: 'auto', disable_parallel_tool_use: true });
    const noTools = toAnthropicRequest({ ...base, tools: undefined, tool_choice: 'auto' }, translationConfig);
    assert.equal('tools' in noTools, false);
    assert.equal('tool_choice' in noTools, false);
  });

  it('throws naming the field when tool arguments are not JSON', () => {
    assert.throws(
      () =>
        toAnthropicRequest(
          {
            model: 'm',
            messages: [
              { role: 'user', content: 'Hi' },
              { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] },
            ],
          },
          translationConfig,
        ),
      { name: 'AnthropicTranslationError', message: 'messages[1].tool_calls[0].function.arguments is not valid JSON' },
    );
  });
  it('keeps a prefill (a final assistant message) last and trims its trailing whitespace', () => {
    const ask = (assistant: unknown) =>
      toAnthropicRequest(
        { model: 'm', messages: [{ role: 'user', content: 'Count to three.' }, { role: 'assistant', content: assistant }] },
        translationConfig,
      ).messages;
    assert.deepEqual(ask('One, two, \n\t '), [
      { role: 'user', content: [{ type: 'text', text: 'Count to three.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'One, two,' }] },
    ]);
    // Only the last text is trimmed; one left empty is dropped, and its turn with it.
    assert.deepEqual(ask([{ type: 'text', text: 'One,  ' }, { type: 'text', text: ' ' }]), [
      { role: 'user', content: [{ type: 'text', text: 'Count to three.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'One,  ' }] },
    ]);
    assert.deepEqual(ask('   '), [{ role: 'user', content: [{ type: 'text', text: 'Count to three.' }] }]);
    // Whitespace inside the conversation is the client's, and left alone.
    const earlier = toAnthropicRequest(
      {
        model: 'm',
        messages: [
          { role: 'user', content: 'Hi ' },
          { role: 'assistant', content: 'Hello! ' },
          { role: 'user', content: 'Bye ' },
        ],
      },
      translationConfig,
    ).messages as Array<{ content: Array<{ text: string }> }>;
    assert.deepEqual(earlier.map((m) => m.content[0]!.text), ['Hi ', 'Hello! ', 'Bye ']);
  });
});

describe('fromAnthropicResponse', () => {
  it('joins text blocks and builds a chat.completion', () => {
    const out = fromAnthropicResponse(
      anthropicMessage({ content: [{ type: 'text', text: 'Hello, ' }, { type: 'text', text: 'world.' }] }),
      NOW,
    );
    assert.deepEqual(out, textCompletion('msg_01', 'claude-sonnet-4-5', 'Hello, world.', usageRecord(12, 3, 15)));
  });

  it('turns tool_use blocks into tool_calls with null content', () => {
    const out = fromAnthropicResponse(
      anthropicMessage({
        content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }],
        stop_reason: 'tool_use',
      }),
      NOW,
    );
    assert.deepEqual(choiceOf(out), toolCallChoice({ id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris"}' }));
  });

  it('round-trips a tool call back into an Anthropic request', () => {
    const answer = fromAnthropicResponse(
      anthropicMessage({
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_07', name: 'lookup', input: { q: 'x', n: 2 } },
        ],
        stop_reason: 'tool_use',
      }),
      NOW,
    );
    const assistant = choiceOf(answer).message;
    const next = toAnthropicRequest(
      {
        model: 'm',
        messages: [{ role: 'user', content: 'Go' }, assistant, { role: 'tool', tool_call_id: 'toolu_07', content: 'found' }],
      },
      translationConfig,
    );
    assert.deepEqual(next.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Go' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_07', name: 'lookup', input: { q: 'x', n: 2 } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_07', content: 'found' }] },
    ]);
  });

  it('maps every stop reason', () => {
    const table: Array<[unknown, string]> = [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['tool_use', 'tool_calls'],
      ['refusal', 'content_filter'],
      [null, 'stop'],
    ];
    for (const [stopReason, finishReason] of table) {
      assert.equal(toFinishReason(stopReason), finishReason, `stop_reason ${String(stopReason)}`);
      const out = fromAnthropicResponse(anthropicMessage({ stop_reason: stopReason }), NOW);
      assert.equal(choiceOf(out).finish_reason, finishReason);
    }
  });

  it('counts cache reads and writes into prompt_tokens and keeps them apart', () => {
    const out = fromAnthropicResponse(
      anthropicMessage({
        usage: { input_tokens: 25, cache_read_input_tokens: 1000, cache_creation_input_tokens: 300, output_tokens: 40 },
      }),
      NOW,
    );
    assert.deepEqual(out.usage, usageRecord(1325, 40, 1365, 1000, 300));
  });

  it('throws on a body that is not an Anthropic message', () => {
    assert.throws(() => fromAnthropicResponse('Hello', NOW), /not a JSON object/);
    assert.throws(() => fromAnthropicResponse(null, NOW), /not a JSON object/);
    assert.throws(() => fromAnthropicResponse({ id: 'msg_01', choices: [] }, NOW), /no `content` array/);
    assert.throws(() => fromAnthropicResponse(anthropicMessage({ content: ['text'] }), NOW), /content\[0\] is not an object/);
  });
});

describe('AnthropicProvider', () => {
  const seen: Array<{ url?: string; headers: http.IncomingHttpHeaders; body: unknown }> = [];
  let status = 200;
  let reply: unknown = anthropicMessage();
  let baseUrl = '';
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ url: req.url, headers: req.headers, body: JSON.parse(raw) });
      const authorized = req.headers['x-api-key'] === TEST_KEY && req.headers['anthropic-version'] === '2023-06-01';
      res.writeHead(authorized ? status : 401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          authorized ? reply : { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
        ),
      );
    });
  });

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
  });
  after(async () => {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  const provider = () => new AnthropicProvider(config({ base_url: baseUrl }), secrets({ api_key: TEST_KEY }), () => NOW);
  const chat = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 64 };

  it('posts to /messages with the key and version headers and translates the answer', async () => {
    status = 200;
    reply = anthropicMessage({ usage: { input_tokens: 5, cache_read_input_tokens: 7, output_tokens: 2 } });
    seen.length = 0;
    const outcome = await provider().call({ operation: 'chat', body: chat, timeoutMs: 2_000 });
    assert.equal(outcome.kind, 'success');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.url, '/v1/messages');
    assert.equal(seen[0]?.headers['content-type'], 'application/json');
    assert.deepEqual(seen[0]?.body, {
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    });
    if (outcome.kind !== 'success') return;
    assert.equal(outcome.status, 200);
    assert.deepEqual(outcome.body, textCompletion('msg_01', 'claude-sonnet-4-5', 'Hello!', usageRecord(12, 2, 14, 7)));
  });

  it('reports a 529 overload as an http_error with Anthropic\'s message', async () => {
    status = 529;
    reply = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
    const outcome = await provider().call({ operation: 'chat', body: chat, timeoutMs: 2_000 });
    assert.equal(outcome.kind, 'http_error');
    if (outcome.kind !== 'http_error') return;
    assert.equal(outcome.status, 529);
    assert.equal(outcome.message, 'Overloaded');
    assert.equal(outcome.headers['content-type'], 'application/json');
  });

  it('reports a 2xx that is not a message as malformed', async () => {
    status = 200;
    reply = { choices: [] };
    const outcome = await provider().call({ operation: 'chat', body: chat, timeoutMs: 2_000 });
    assert.deepEqual(outcome, { kind: 'malformed', message: 'unreadable 200 answer: no `content` array' });
  });

  it('answers an untranslatable request with a 400 naming the field, without calling upstream', async () => {
    seen.length = 0;
    const body = {
      model: 'm',
      messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: 'nope' } }] }],
    };
    const outcome = await provider().call({ operation: 'chat', body, timeoutMs: 2_000 });
    assert.deepEqual(outcome, {
      kind: 'http_error',
      status: 400,
      headers: {},
      message: 'invalid request for anthropic: messages[0].tool_calls[0].function.arguments is not valid JSON',
    });
    assert.equal(seen.length, 0);
  });

  it('has no embeddings', async () => {
    const outcome = await provider().call({ operation: 'embeddings', body: { model: 'm', input: 'x' }, timeoutMs: 2_000 });
    assert.deepEqual(outcome, { kind: 'unavailable', reason: 'anthropic has no embeddings API' });
  });

  it('is unavailable without its credential and never leaks a key', async () => {
    for (const value of [undefined, { other: TEST_KEY }]) {
      const adapter = new AnthropicProvider(config({ base_url: baseUrl }), secrets(value), () => NOW);
      const outcome = await adapter.call({ operation: 'chat', body: chat, timeoutMs: 2_000 });
      assert.deepEqual(outcome, { kind: 'unavailable', reason: 'credential "anthropic" is not set' });
    }
  });
});
