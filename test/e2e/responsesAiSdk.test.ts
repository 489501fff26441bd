import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { fastRetry, modelTarget, startMockedGateway, VIRTUAL_KEY, type MockedGateway } from '../support/e2eHarness';
import { chatCompletion, openAiStreamFrames, type MockUpstream } from '../support/mockUpstream';

type ChatBody = { model: string; messages: Array<Record<string, unknown>>; tools?: Array<{ function: { name: string } }>; stream?: boolean };

/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai`) through the gateway: its default `openai(model)`
 * speaks the Responses API, so this is what an AI SDK app gets when pointed at Breakwater.
 */
describe('e2e: the Vercel AI SDK over the Responses API', () => {
  let stack: MockedGateway<'primary'>;
  let primary: MockUpstream;
  const provider = () => createOpenAI({ baseURL: `${stack.gateway.url}/v1`, apiKey: VIRTUAL_KEY });
  const lastBody = () => primary.requests.at(-1)?.body as ChatBody;

  before(async () => {
    stack = await startMockedGateway({
      upstreams: ['primary'],
      routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [modelTarget('primary', 'gpt-test')] } },
    });
    ({ primary } = stack.mocks);
  });
  after(() => stack.close());
  beforeEach(() => stack.reset());

  it('generateText with the default provider call (POST /v1/responses): text, usage, finish reason', async () => {
    primary.script({ body: chatCompletion('Hello from the gateway') });
    const result = await generateText({ model: provider()('gpt-4o'), system: 'Be brief.', prompt: 'Say hello', maxRetries: 0 });
    // The SDK spoke the Responses API (an `input` list); the door turned it into a chat completion.
    assert.ok(Array.isArray((result.request.body as { input?: unknown }).input), JSON.stringify(result.request.body));
    assert.match(result.response.id, /^resp_/);
    assert.equal(primary.requests[0]?.path, '/v1/chat/completions');
    assert.equal(result.text, 'Hello from the gateway');
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.usage.inputTokens, 5);
    assert.equal(result.usage.outputTokens, 4);
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(lastBody().messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Say hello' }] },
    ]);
  });

  it('generateText with .responses(model) and a tool: the SDK runs the tool and sends its result back', async () => {
    primary.script(
      {
        body: {
          ...chatCompletion(),
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: null,
                tool_calls: [{ id: 'call_w', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }],
              },
              finish_reason: 'tool_calls',
            },
          ],
        },
      },
      { body: chatCompletion('Snowy in Oslo.') },
    );
    const cities: string[] = [];
    const result = await generateText({
      model: provider().responses('gpt-4o'),
      prompt: 'Weather in Oslo?',
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: {
        weather: tool({
          description: 'The weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            cities.push(city);
            return { city, sky: 'snow' };
          },
        }),
      },
    });
    assert.deepEqual(cities, ['Oslo']);
    assert.equal(result.text, 'Snowy in Oslo.');
    assert.equal(result.steps.length, 2);
    assert.equal(primary.requests[0] && (primary.requests[0].body as ChatBody).tools?.[0]?.function.name, 'weather');
    assert.deepEqual(lastBody().messages.slice(1), [
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_w', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_w', content: '{"city":"Oslo","sky":"snow"}' },
    ]);
  });

  it('streamText: text deltas, then a streamed tool call run by the SDK and the answer after it', async () => {
    primary.script({ sse: openAiStreamFrames({ text: ['Str', 'eam', 'ed'] }) });
    const plain = streamText({ model: provider()('gpt-4o'), prompt: 'stream please', maxRetries: 0 });
    const deltas: string[] = [];
    for await (const delta of plain.textStream) deltas.push(delta);
    assert.deepEqual(deltas, ['Str', 'eam', 'ed']);
    assert.equal((await plain.totalUsage).outputTokens, 3);
    assert.equal(lastBody().stream, true);

    primary.script(
      { sse: openAiStreamFrames({ toolCalls: [{ id: 'call_s', name: 'weather', arguments: ['{"city"', ':"Lima"}'] }] }) },
      { sse: openAiStreamFrames({ text: ['Warm ', 'in Lima.'] }) },
    );
    const withTool = streamText({
      model: provider()('gpt-4o'),
      prompt: 'Weather in Lima?',
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: { weather: tool({ inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, sky: 'sun' }) }) },
    });
    const parts: string[] = [];
    for await (const part of withTool.fullStream) {
      if (part.type === 'tool-call') parts.push(`call:${part.toolName}:${JSON.stringify(part.input)}`);
      if (part.type === 'tool-result') parts.push(`result:${JSON.stringify(part.output)}`);
      if (part.type === 'error') parts.push(`error:${String(part.error)}`);
    }
    assert.deepEqual(parts, ['call:weather:{"city":"Lima"}', 'result:{"city":"Lima","sky":"sun"}']);
    assert.equal(await withTool.text, 'Warm in Lima.');
    assert.equal((await withTool.steps)[0]?.finishReason, 'tool-calls');
  });

  it('a refusal reaches the AI SDK as an APICallError with the gateway\'s status and message', async () => {
    const error = await generateText({
      model: provider()('gpt-4o'),
      prompt: 'hi',
      maxRetries: 0,
      providerOptions: { openai: { conversation: 'conv_1' } },
    }).then(
      () => assert.fail('expected the call to fail'),
      (caught: unknown) => caught,
    );
    assert.ok(APICallError.isInstance(error), `got ${String(error)}`);
    assert.equal(error.statusCode, 400);
    assert.match(error.message, /conversation/);
    assert.equal(primary.requests.length, 0);
  });
});
