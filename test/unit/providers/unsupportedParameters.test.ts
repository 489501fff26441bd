import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import type { ProviderConfig } from '../../../shared/config/schema';
import type { SecretSource } from '../../../shared/credentials';
import { AnthropicProvider } from '../../../shared/providers/anthropic';
import { AnthropicStreamReader } from '../../../shared/providers/anthropicStream';
import { fromAnthropicResponse, toAnthropicCall, toAnthropicRequest } from '../../../shared/providers/anthropicTranslation';
import { BedrockProvider, BedrockStreamReader, fromConverseResponse, toConverseCall, toConverseRequest } from '../../../shared/providers/bedrock';
import { isUnsupportedParameterError } from '../../../shared/providers/responseFormatTranslation';
import type { SseEvent } from '../../../shared/providers/sseEvents';
import type { StreamEvent } from '../../../shared/stream/StreamEvent';
import { NOW, choiceOf } from './chatFixtures';

const MODEL = 'claude-x';
const config = { default_max_tokens: 1024 };
const hi = [{ role: 'user', content: 'Hi' }];
const ask = (extra: Record<string, unknown>) => ({ model: MODEL, messages: hi, ...extra });

/** Both translations, so every rule is checked for each target. */
const TARGETS = [
  { name: 'anthropic', translate: (body: Record<string, unknown>) => toAnthropicRequest(body, config) },
  { name: 'bedrock', translate: (body: Record<string, unknown>) => toConverseRequest(body) },
] as const;

function refusal(translate: () => unknown): { param: string; message: string } {
  try {
    translate();
  } catch (error) {
    assert.ok(isUnsupportedParameterError(error), `expected an UnsupportedParameterError, got ${String(error)}`);
    return { param: error.param, message: error.message };
  }
  assert.fail('expected the translation to refuse the request');
}

const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, celsius: { type: 'number' } },
  required: ['city', 'celsius'],
  additionalProperties: false,
};
const jsonSchemaFormat = { type: 'json_schema', json_schema: { name: 'weather_report', strict: true, schema: WEATHER_SCHEMA } };
const lookupTool = {
  type: 'function',
  function: { name: 'lookup', description: 'Looks a city up', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
};

describe('translation: parameters a target cannot honour are refused, never dropped', () => {
  const refused: Array<[string, Record<string, unknown>]> = [
    ['n', { n: 2 }],
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 3 }],
    ['presence_penalty', { presence_penalty: 0.5 }],
    ['frequency_penalty', { frequency_penalty: -0.2 }],
    ['logit_bias', { logit_bias: { '50256': -100 } }],
    ['audio', { audio: { voice: 'alloy', format: 'mp3' }, modalities: ['text', 'audio'] }],
    ['modalities', { modalities: ['text', 'audio'] }],
    ['web_search_options', { web_search_options: {} }],
    ['functions', { functions: [{ name: 'f', parameters: {} }] }],
    ['response_format', { response_format: { type: 'grammar', grammar: 'x' } }],
  ];
  for (const target of TARGETS) {
    for (const [param, extra] of refused) {
      it(`${target.name}: ${param} → UnsupportedParameterError naming the parameter and the target`, () => {
        const { param: named, message } = refusal(() => target.translate(ask(extra)));
        // `audio` comes before `modalities` in the table: the first one asked for is named.
        assert.equal(named, param);
        assert.match(message, new RegExp(`^${param}\\b.* is not supported by ${target.name}/${MODEL}$`));
      });
    }

    it(`${target.name}: OpenAI's default values pass (n: 1, logprobs: false, zero penalties, empty logit_bias, text modality, seed)`, () => {
      const body = ask({
        n: 1,
        logprobs: false,
        top_logprobs: 0,
        presence_penalty: 0,
        frequency_penalty: 0,
        logit_bias: {},
        modalities: ['text'],
        seed: 42,
        response_format: { type: 'text' },
      });
      assert.deepEqual(target.translate(body), target.translate(ask({})));
    });

    it(`${target.name}: a json_schema whose root is not an object is refused (a tool's input is an object)`, () => {
      const format = { type: 'json_schema', json_schema: { name: 'list', schema: { type: 'array', items: { type: 'string' } } } };
      const { param, message } = refusal(() => target.translate(ask({ response_format: format })));
      assert.equal(param, 'response_format');
      assert.equal(message, `response_format with a schema whose root is not an object is not supported by ${target.name}/${MODEL}`);
    });

    it(`${target.name}: a response format named like one of the request's tools is refused`, () => {
      const format = { type: 'json_schema', json_schema: { name: 'lookup', schema: WEATHER_SCHEMA } };
      assert.equal(refusal(() => target.translate(ask({ response_format: format, tools: [lookupTool] }))).param, 'response_format');
    });
  }

  it('bedrock: parallel_tool_calls false with tools is refused (Converse has no switch for it); anthropic maps it', () => {
    const body = ask({ tools: [lookupTool], parallel_tool_calls: false });
    assert.equal(refusal(() => toConverseRequest(body)).param, 'parallel_tool_calls');
    assert.deepEqual(toAnthropicRequest(body, config).tool_choice, { type: 'auto', disable_parallel_tool_use: true });
  });

  it('adapters answer `unsupported` without calling the upstream, and say so when asked first', async () => {
    let secretReads = 0;
    const secrets: SecretSource = {
      get: async () => {
        secretReads += 1;
        return { api_key: 'sk-test-never-used-0001' };
      },
    };
    const anthropicConfig: Extract<ProviderConfig, { type: 'anthropic' }> = {
      type: 'anthropic',
      base_url: 'http://127.0.0.1:9/v1',
      credential: 'anthropic',
      anthropic_version: '2023-06-01',
      default_max_tokens: 1024,
    };
    const anthropic = new AnthropicProvider(anthropicConfig, secrets, () => NOW);
    const bedrock = new BedrockProvider({ type: 'bedrock', region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    const request = { operation: 'chat' as const, body: ask({ logprobs: true }), timeoutMs: 1_000 };
    for (const [name, adapter] of [['anthropic', anthropic], ['bedrock', bedrock]] as const) {
      const expected = { kind: 'unsupported', param: 'logprobs', message: `logprobs is not supported by ${name}/${MODEL}` };
      assert.deepEqual(adapter.unsupported!(request), expected);
      assert.deepEqual(await adapter.call(request), expected);
      assert.deepEqual(await adapter.stream({ ...request, body: { ...request.body, stream: true } }), expected);
      assert.equal(adapter.unsupported!({ ...request, body: ask({}) }), undefined);
      assert.equal(adapter.unsupported!({ operation: 'embeddings', body: { model: MODEL, input: 'x' } }), undefined);
    }
    assert.equal(secretReads, 0, 'no credential was read: nothing was sent');
  });
});

describe('translation: response_format becomes a forced tool, its call the answer', () => {
  it('anthropic: json_schema → a tool named from the schema, forced; the tool_use answer is the content JSON', () => {
    const call = toAnthropicCall(ask({ response_format: jsonSchemaFormat }), config);
    assert.equal(call.responseTool, 'weather_report');
    assert.deepEqual(call.request.tools, [
      { name: 'weather_report', description: (call.request.tools as Array<{ description: string }>)[0]!.description, input_schema: WEATHER_SCHEMA },
    ]);
    assert.deepEqual(call.request.tool_choice, { type: 'tool', name: 'weather_report' });

    const answer = fromAnthropicResponse(
      {
        id: 'msg_1',
        model: MODEL,
        content: [{ type: 'tool_use', id: 'toolu_1', name: 'weather_report', input: { city: 'Oslo', celsius: 4 } }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 10, output_tokens: 8 },
      },
      NOW,
      call.responseTool,
    );
    const choice = choiceOf(answer);
    assert.equal(choice.finish_reason, 'stop');
    assert.deepEqual(choice.message, { role: 'assistant', content: '{"city":"Oslo","celsius":4}' });
    assert.deepEqual(JSON.parse(choice.message.content as string), { city: 'Oslo', celsius: 4 });
  });

  it('anthropic: json_object → a permissive object tool, forced', () => {
    const call = toAnthropicCall(ask({ response_format: { type: 'json_object' } }), config);
    assert.equal(call.responseTool, 'json_object');
    assert.deepEqual((call.request.tools as Array<{ input_schema: unknown }>)[0]!.input_schema, { type: 'object', additionalProperties: true });
    assert.deepEqual(call.request.tool_choice, { type: 'tool', name: 'json_object' });
  });

  it("anthropic: with the request's own tools on auto, the model must call a tool — its own or the answer's", () => {
    const call = toAnthropicCall(ask({ response_format: jsonSchemaFormat, tools: [lookupTool] }), config);
    assert.deepEqual((call.request.tools as Array<{ name: string }>).map((tool) => tool.name), ['lookup', 'weather_report']);
    assert.deepEqual(call.request.tool_choice, { type: 'any' });
    // A call of the request's own tool stays a tool call.
    const answer = fromAnthropicResponse(
      { content: [{ type: 'tool_use', id: 'toolu_2', name: 'lookup', input: { q: 'Oslo' } }], stop_reason: 'tool_use' },
      NOW,
      call.responseTool,
    );
    assert.equal(choiceOf(answer).finish_reason, 'tool_calls');
    assert.equal(choiceOf(answer).message.content, null);
  });

  it('anthropic: tool_choice "required" or a named function answers with a tool call, so the format changes nothing', () => {
    for (const tool_choice of ['required', { type: 'function', function: { name: 'lookup' } }]) {
      const withFormat = toAnthropicCall(ask({ response_format: jsonSchemaFormat, tools: [lookupTool], tool_choice }), config);
      assert.equal(withFormat.responseTool, undefined);
      assert.deepEqual(withFormat.request, toAnthropicRequest(ask({ tools: [lookupTool], tool_choice }), config));
    }
  });

  it('bedrock: json_schema → a forced toolSpec; the toolUse answer is the content JSON', () => {
    const call = toConverseCall(ask({ response_format: jsonSchemaFormat }));
    assert.equal(call.responseTool, 'weather_report');
    assert.equal(call.input.toolConfig?.tools?.[0]?.toolSpec?.name, 'weather_report');
    assert.deepEqual(call.input.toolConfig?.tools?.[0]?.toolSpec?.inputSchema, { json: WEATHER_SCHEMA });
    assert.deepEqual(call.input.toolConfig?.toolChoice, { tool: { name: 'weather_report' } });

    const answer = fromConverseResponse(
      {
        output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'weather_report', input: { city: 'Oslo', celsius: 4 } } }] } },
        stopReason: 'tool_use',
        usage: { inputTokens: 1, outputTokens: 1 },
      },
      { id: 'c', model: MODEL, nowSeconds: NOW, responseTool: call.responseTool },
    );
    assert.equal(choiceOf(answer).finish_reason, 'stop');
    assert.deepEqual(JSON.parse(choiceOf(answer).message.content as string), { city: 'Oslo', celsius: 4 });
  });
});

const sse = (type: string, data: Record<string, unknown>): SseEvent => ({ event: type, data: JSON.stringify({ type, ...data }), id: undefined } as unknown as SseEvent);

describe('streaming: the response tool input streams as text deltas', () => {
  it("anthropic: input_json_delta of the response tool → text, finish stop; the request's own tool stays a tool call", () => {
    const reader = new AnthropicStreamReader([], 'weather_report');
    const frames = [
      sse('message_start', { message: { usage: { input_tokens: 5, output_tokens: 1 } } }),
      sse('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'weather_report', input: {} } }),
      sse('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city": "Os' } }),
      sse('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: 'lo", "celsius": 4}' } }),
      sse('content_block_stop', { index: 0 }),
      sse('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } }),
      sse('message_stop', {}),
    ];
    const events: StreamEvent[] = [...frames.flatMap((frame) => reader.read(frame)), ...reader.end()];
    const text = events.flatMap((event) => (event.type === 'text' ? [event.text] : [])).join('');
    assert.deepEqual(JSON.parse(text), { city: 'Oslo', celsius: 4 });
    assert.equal(events.some((event) => event.type === 'tool_call'), false);
    assert.deepEqual(events.filter((event) => event.type === 'finish'), [{ type: 'finish', reason: 'stop' }]);
  });

  it('anthropic: a response tool called with no input streams `{}`', () => {
    const reader = new AnthropicStreamReader([], 'json_object');
    const events = [
      sse('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'json_object', input: {} } }),
      sse('content_block_stop', { index: 0 }),
    ].flatMap((frame) => reader.read(frame));
    assert.deepEqual(events, [{ type: 'text', text: '{}' }]);
  });

  it('bedrock: toolUse input deltas of the response tool → text, finish stop', () => {
    const reader = new BedrockStreamReader('weather_report');
    const frames = [
      { messageStart: { role: 'assistant' } },
      { contentBlockStart: { contentBlockIndex: 0, start: { toolUse: { toolUseId: 't1', name: 'weather_report' } } } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { toolUse: { input: '{"city":"Oslo",' } } } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { toolUse: { input: '"celsius":4}' } } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { messageStop: { stopReason: 'tool_use' } },
      { metadata: { usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 } } },
    ] as unknown as ConverseStreamOutput[];
    const events: StreamEvent[] = [...frames.flatMap((frame) => reader.read(frame)), ...reader.end()];
    assert.deepEqual(
      events.filter((event) => event.type !== 'usage'),
      [
        { type: 'text', text: '{"city":"Oslo",' },
        { type: 'text', text: '"celsius":4}' },
        { type: 'finish', reason: 'stop' },
      ],
    );
  });
});
