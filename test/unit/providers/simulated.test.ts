import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { providerSchema, type ProviderConfig } from '../../../shared/config/schema';
import { sampleFromSchema } from '../../../shared/providers/sampleFromSchema';
import { SimulatedProvider } from '../../../shared/providers/simulated';
import { simulatedAnswer } from '../../../shared/providers/simulatedAnswer';
import { fakeClock, scriptedRandom } from '../../support/fakeClock';
import { drain, opened, streamError, textOf } from './streamFixtures';

type SimulatedConfig = Extract<ProviderConfig, { type: 'simulated' }>;
const simulated = (overrides: Record<string, unknown> = {}) =>
  providerSchema.parse({ type: 'simulated', latency_ms: 0, stream_chunk_delay_ms: 0, ...overrides }) as SimulatedConfig;

/** Validates with zod's own JSON-schema reader, independent of the sampler. */
const validates = (schema: Record<string, unknown>, value: unknown) => {
  const result = z.fromJSONSchema(schema as never).safeParse(value);
  assert.ok(result.success, `${JSON.stringify(value)} does not validate: ${result.success ? '' : z.prettifyError(result.error)}`);
};

const WEATHER = {
  type: 'object',
  properties: {
    city: { type: 'string', description: 'The city' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
    detailed: { type: 'boolean' },
  },
  required: ['city', 'unit', 'days'],
  additionalProperties: false,
};
const weatherTool = { type: 'function', function: { name: 'get_weather', description: 'Get the weather forecast for a city', parameters: WEATHER } };
const searchTool = {
  type: 'function',
  function: { name: 'search_docs', description: 'Search the documentation', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
};

describe('sampleFromSchema', () => {
  const schemas: Array<[string, Record<string, unknown>]> = [
    ['required properties, enums, integer bounds', WEATHER],
    [
      'nested objects, arrays with minItems, number bounds, formats',
      {
        type: 'object',
        properties: {
          when: { type: 'string', format: 'date-time' },
          email: { type: 'string', format: 'email' },
          id: { type: 'string', format: 'uuid' },
          tags: { type: 'array', items: { type: 'string', minLength: 3, maxLength: 5 }, minItems: 2, maxItems: 3 },
          score: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
          step: { type: 'integer', multipleOf: 5, minimum: 12 },
          owner: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 18 } }, required: ['name', 'age'], additionalProperties: false },
        },
        required: ['when', 'email', 'id', 'tags', 'score', 'step', 'owner'],
        additionalProperties: false,
      },
    ],
    [
      "local $refs, anyOf with null (OpenAI strict mode's optional fields), const, type lists",
      {
        type: 'object',
        $defs: { Address: { type: 'object', properties: { street: { type: 'string' }, zip: { type: 'string' } }, required: ['street', 'zip'], additionalProperties: false } },
        properties: {
          home: { $ref: '#/$defs/Address' },
          work: { anyOf: [{ $ref: '#/$defs/Address' }, { type: 'null' }] },
          kind: { const: 'person' },
          nickname: { type: ['string', 'null'] },
        },
        required: ['home', 'work', 'kind', 'nickname'],
        additionalProperties: false,
      },
    ],
  ];
  for (const [what, schema] of schemas) {
    it(`generates a value that validates: ${what}`, () => {
      for (const seed of [0, 1, 42, 2 ** 31]) validates(schema, sampleFromSchema(schema, { seed }));
    });
  }

  it('is deterministic for a seed, and quotes the text for query-like string properties', () => {
    assert.deepEqual(sampleFromSchema(WEATHER, { seed: 7, text: 'Oslo' }), sampleFromSchema(WEATHER, { seed: 7, text: 'Oslo' }));
    assert.deepEqual(sampleFromSchema({ type: 'object', properties: { query: { type: 'string' } } }, { seed: 1, text: 'how do refunds work?' }), {
      query: 'how do refunds work?',
    });
  });
});

describe('simulatedAnswer: answers like a model would, from the request alone', () => {
  const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'sim', messages: [{ role: 'user', content }], ...extra });

  it('calls the tool that matches the question, with arguments that validate against its schema', () => {
    const answer = simulatedAnswer(ask("What's the weather in Oslo this week?", { tools: [searchTool, weatherTool] }));
    assert.equal(answer.kind, 'tool_calls');
    const [call] = answer.kind === 'tool_calls' ? answer.toolCalls : [];
    assert.equal(call?.name, 'get_weather');
    validates(WEATHER, JSON.parse(call!.arguments));
    assert.deepEqual(simulatedAnswer(ask("What's the weather in Oslo this week?", { tools: [searchTool, weatherTool] })), answer, 'deterministic');
  });

  it('honours tool_choice: a named function is called; none answers in text; an undeclared name is refused', () => {
    const named = simulatedAnswer(ask('weather please', { tools: [weatherTool, searchTool], tool_choice: { type: 'function', function: { name: 'search_docs' } } }));
    assert.equal(named.kind === 'tool_calls' && named.toolCalls[0]!.name, 'search_docs');
    assert.equal(simulatedAnswer(ask('weather please', { tools: [weatherTool], tool_choice: 'none' })).kind, 'text');
    assert.equal(simulatedAnswer(ask('x', { tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } })).kind, 'invalid');
  });

  it('answers in text once a tool message comes back, quoting the result', () => {
    const answer = simulatedAnswer({
      model: 'sim',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 4}' },
      ],
    });
    assert.deepEqual(answer, { kind: 'text', content: 'Simulated answer from the tool results: {"temp": 4}' });
  });

  it('response_format json_schema: JSON that validates; json_object: a JSON object', () => {
    const answer = simulatedAnswer(ask('Oslo', { response_format: { type: 'json_schema', json_schema: { name: 'w', schema: WEATHER, strict: true } } }));
    assert.equal(answer.kind, 'text');
    validates(WEATHER, JSON.parse(answer.kind === 'text' ? answer.content : ''));
    const object = simulatedAnswer(ask('hi', { response_format: { type: 'json_object' } }));
    assert.equal(typeof JSON.parse(object.kind === 'text' ? object.content : ''), 'object');
  });
});

describe('SimulatedProvider', () => {
  const request = (body: Record<string, unknown>) => ({ operation: 'chat' as const, body, timeoutMs: 1_000 });
  const tools = { model: 'sim', messages: [{ role: 'user', content: 'weather in Oslo' }], tools: [weatherTool] };

  it('call() answers tool calls as a chat.completion (finish tool_calls, null content)', async () => {
    const outcome = await new SimulatedProvider(simulated(), fakeClock(), scriptedRandom(0.5)).call(request(tools));
    assert.equal(outcome.kind, 'success');
    const choice = (outcome as unknown as { body: { choices: Array<{ message: Record<string, unknown>; finish_reason: string }> } }).body.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const [call] = choice.message.tool_calls as Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
    assert.equal(call!.type, 'function');
    validates(WEATHER, JSON.parse(call!.function.arguments));
  });

  it('stream() sends the same tool call as deltas: id and name first, then argument slices that join into call()’s arguments', async () => {
    const buffered = await new SimulatedProvider(simulated(), fakeClock(), scriptedRandom(0.5)).call(request(tools));
    const drained = await drain(opened(await new SimulatedProvider(simulated(), fakeClock(), scriptedRandom(0.5)).stream(request({ ...tools, stream: true }))).events);
    assert.equal(drained.error, undefined);
    const calls = drained.events.filter((event) => event.type === 'tool_call');
    assert.ok(calls.length > 2, 'the arguments come in several pieces');
    assert.deepEqual({ ...calls[0] }, { type: 'tool_call', index: 0, id: calls[0]!.type === 'tool_call' ? calls[0]!.id : '', name: 'get_weather', arguments: '' });
    const args = calls.map((event) => (event.type === 'tool_call' ? event.arguments : '')).join('');
    const message = (buffered as unknown as { body: { choices: Array<{ message: { tool_calls: Array<{ function: { arguments: string } }> } }> } }).body.choices[0]!.message;
    assert.equal(args, message.tool_calls[0]!.function.arguments);
    assert.deepEqual(drained.events.at(-2), { type: 'finish', reason: 'tool_calls' });
  });

  it('stream_cut_rate 1 cuts every stream mid-answer with a reset; 0 never draws', async () => {
    const body = { model: 'sim', messages: [{ role: 'user', content: 'tell me a long story about the sea' }], stream: true };
    const cut = await drain(opened(await new SimulatedProvider(simulated({ stream_cut_rate: 1 }), fakeClock(), scriptedRandom(0.5)).stream(request(body))).events);
    const error = streamError(cut);
    assert.deepEqual(error.outcome, { kind: 'network_error', code: 'ECONNRESET', message: 'simulated stream cut' });
    assert.ok(textOf(cut.events).length > 0, 'something came before the cut');
    assert.equal(cut.events.some((event) => event.type === 'finish'), false);

    const whole = await drain(opened(await new SimulatedProvider(simulated(), fakeClock(), scriptedRandom(0.5)).stream(request(body))).events);
    assert.equal(whole.error, undefined);
  });

  it('embeddings honour `dimensions` (8 by default), unit length, the same for the same input', async () => {
    const provider = new SimulatedProvider(simulated(), fakeClock(), scriptedRandom(0.5));
    const embed = async (extra: Record<string, unknown>) =>
      ((await provider.call({ operation: 'embeddings', body: { model: 'e', input: ['a', 'b'], ...extra }, timeoutMs: 1_000 })) as unknown as {
        body: { data: Array<{ embedding: number[] }> };
      }).body.data;
    const [a8] = await embed({});
    const [a40, b40] = await embed({ dimensions: 40 });
    assert.equal(a8!.embedding.length, 8);
    assert.equal(a40!.embedding.length, 40);
    assert.ok(Math.abs(Math.hypot(...a40!.embedding) - 1) < 1e-9);
    assert.notDeepEqual(a40!.embedding, b40!.embedding);
    assert.deepEqual((await embed({ dimensions: 40 }))[0], a40);
  });
});
