import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { z } from 'zod';
import type { RunningServer } from '../../bin/local/apiGatewayServer';
import { SimulatedProvider } from '../../shared/providers/simulated';
import { providerSchema, type ProviderConfig } from '../../shared/config/schema';
import { systemClock } from '../../shared/resilience/clock';
import { sdkClient, startE2EGateway, testSettings, VIRTUAL_KEY } from '../support/e2eHarness';

const WEATHER = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
  },
  required: ['city', 'unit', 'days'],
  additionalProperties: false,
};
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Get the weather forecast for a city', parameters: WEATHER } },
  { type: 'function', function: { name: 'send_email', description: 'Send an email', parameters: { type: 'object', properties: { to: { type: 'string', format: 'email' } }, required: ['to'] } } },
];
const REPORT = {
  type: 'object',
  properties: { summary: { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 }, tags: { type: 'array', items: { type: 'string' } } },
  required: ['summary', 'confidence', 'tags'],
  additionalProperties: false,
};

const validates = (schema: Record<string, unknown>, value: unknown) => {
  const result = z.fromJSONSchema(schema as never).safeParse(value);
  assert.ok(result.success, `${JSON.stringify(value)} does not validate against the schema`);
};

/**
 * The shipped simulator as a client builds against it, through the real gateway with the
 * OpenAI SDK: tool calling round trips, structured output, streaming, base64 embeddings.
 */
describe('e2e: the simulated provider answers like a model', () => {
  let gateway: RunningServer;
  const client = () => sdkClient(gateway.url, VIRTUAL_KEY);

  before(async () => {
    gateway = await startE2EGateway({
      config: {
        providers: { sim: { type: 'simulated', latency_ms: 1, stream_chunk_delay_ms: 1 } },
        routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'sim', override_params: { model: 'sim-model' } }] } },
        tenants: { e2e: { route: 'main', keys: [VIRTUAL_KEY] } },
        settings: testSettings(),
      },
    });
  });
  after(() => gateway.close());

  it('guarantee: tools round trip — a tool call whose arguments validate, then a text answer once the tool result comes back', async () => {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Oslo?' }];
    const first = await client().chat.completions.create({ model: 'any', messages, tools });

    const choice = first.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    validates(WEATHER, JSON.parse(call.function.arguments));

    messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 4, "sky": "clear"}' });
    const second = await client().chat.completions.create({ model: 'any', messages, tools });
    assert.equal(second.choices[0]!.finish_reason, 'stop');
    assert.match(second.choices[0]!.message.content ?? '', /"temperature": 4/);
  });

  it('guarantee: tool_choice naming a function is honoured', async () => {
    const answer = await client().chat.completions.create({
      model: 'any',
      messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'send_email' } },
    });
    const call = answer.choices[0]!.message.tool_calls?.[0];
    assert.equal(call?.type === 'function' && call.function.name, 'send_email');
    assert.match(JSON.parse(call?.type === 'function' ? call.function.arguments : '{}').to, /@/);
  });

  it('guarantee: response_format json_schema → content that parses and validates against the schema', async () => {
    const answer = await client().chat.completions.create({
      model: 'any',
      messages: [{ role: 'user', content: 'Summarise the news' }],
      response_format: { type: 'json_schema', json_schema: { name: 'report', strict: true, schema: REPORT } },
    });
    validates(REPORT, JSON.parse(answer.choices[0]!.message.content!));
  });

  it('guarantee: streamed tool calls and structured output assemble into the same valid JSON', async () => {
    const toolStream = client().chat.completions.stream({ model: 'any', messages: [{ role: 'user', content: 'weather in Oslo' }], tools });
    const toolAnswer = await toolStream.finalChatCompletion();
    const call = toolAnswer.choices[0]!.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    validates(WEATHER, JSON.parse(call.function.arguments));

    const stream = await client().chat.completions.create({
      model: 'any',
      messages: [{ role: 'user', content: 'Summarise the news' }],
      response_format: { type: 'json_schema', json_schema: { name: 'report', schema: REPORT } },
      stream: true,
    });
    let content = '';
    let chunks = 0;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      chunks += 1;
    }
    assert.ok(chunks > 3, 'the answer streams in several chunks');
    validates(REPORT, JSON.parse(content));
  });

  it("guarantee: embeddings.create (the SDK's default base64) decodes to the simulator's floats, with `dimensions`", async () => {
    const result = await client().embeddings.create({ model: 'any', input: ['hello', 'world'], dimensions: 16 });

    const config = providerSchema.parse({ type: 'simulated', latency_ms: 0 }) as Extract<ProviderConfig, { type: 'simulated' }>;
    const direct = await new SimulatedProvider(config, systemClock, () => 0.5).call({
      operation: 'embeddings',
      body: { model: 'sim-model', input: ['hello', 'world'], dimensions: 16 },
      timeoutMs: 1_000,
    });
    const floats = (direct as unknown as { body: { data: Array<{ embedding: number[] }> } }).body.data.map((item) => item.embedding.map(Math.fround));
    assert.deepEqual(
      result.data.map((item) => item.embedding),
      floats,
    );
    assert.equal(result.data[0]!.embedding.length, 16);
  });
});
