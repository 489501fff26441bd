import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { BadRequestError } from 'openai';
import { anthropicStreamFrames, startMockUpstream, type MockUpstream } from '../support/mockUpstream';
import { fastRetry, hello, modelTarget, sdkClient, sdkError, sdkErrorBody, startMockedGateway, type MockedGateway } from '../support/e2eHarness';

const WEATHER_SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, celsius: { type: 'number' } },
  required: ['city', 'celsius'],
  additionalProperties: false,
};
const weatherFormat = { type: 'json_schema' as const, json_schema: { name: 'weather_report', strict: true, schema: WEATHER_SCHEMA } };

/** An Anthropic Messages answer whose only block is a call of `name`. */
const toolUseMessage = (name: string, input: Record<string, unknown>) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-x',
  content: [{ type: 'tool_use', id: 'toolu_1', name, input }],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 9 },
});

/**
 * Translation you can trust, as an OpenAI SDK user sees it: a parameter a target of the route
 * cannot honour is refused up front (400 `unsupported_parameter`), and structured output reaches
 * an Anthropic target as a forced tool whose call comes back as the JSON content.
 */
describe('e2e: translation to Anthropic never drops a parameter silently', () => {
  let stack: MockedGateway<'openai'>;
  let openai: MockUpstream;
  let claude: MockUpstream;
  const client = (route: string) => sdkClient(stack.gateway.url, undefined, { 'x-breakwater-route': route });

  before(async () => {
    claude = await startMockUpstream();
    stack = await startMockedGateway({
      upstreams: ['openai'],
      routes: {
        // OpenAI first, Anthropic as the backup: the combination the issue met.
        mixed: {
          strategy: { mode: 'fallback' },
          retry: fastRetry(0),
          targets: [modelTarget('openai', 'gpt-a'), { provider: 'claude', override_params: { model: 'claude-x' } }],
        },
        anthropic: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'claude', override_params: { model: 'claude-x' } }] },
      },
      otherProviders: { claude: { type: 'anthropic', base_url: claude.baseUrl, credential: 'upstream' } },
    });
    openai = stack.mocks.openai;
  });
  after(async () => {
    await stack.close();
    await claude.close();
  });
  beforeEach(() => {
    stack.reset();
    claude.reset();
  });

  for (const [param, extra] of [
    ['logprobs', { logprobs: true }],
    ['n', { n: 2 }],
    ['presence_penalty', { presence_penalty: 1 }],
    ['logit_bias', { logit_bias: { '50256': -100 } }],
  ] as const) {
    it(`guarantee: ${param} on a route that may fall back to Anthropic → 400 unsupported_parameter up front, no upstream called`, async () => {
      const error = await sdkError(client('mixed').chat.completions.create({ model: 'm', messages: hello, ...extra }));

      assert.ok(error instanceof BadRequestError);
      assert.equal(error.code, 'unsupported_parameter');
      assert.equal(error.param, param);
      assert.match(sdkErrorBody(error).message, new RegExp(`^${param} is not supported by anthropic/claude-x`));
      assert.equal(openai.requests.length + claude.requests.length, 0, 'refused before any call, even though the primary was up');
    });
  }

  it('guarantee: with the primary down the backup still refuses with 400 unsupported_parameter, never a 503', async () => {
    openai.setDefault({ status: 503 });
    const error = await sdkError(client('mixed').chat.completions.create({ model: 'm', messages: hello, logprobs: true }));
    assert.equal(error.status, 400);
    assert.equal(error.code, 'unsupported_parameter');
  });

  it('guarantee: defaults that change nothing (n: 1, zero penalties, seed) pass to Anthropic', async () => {
    claude.script({ body: { ...toolUseMessage('x', {}), content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn' } });
    const answer = await client('anthropic').chat.completions.create({
      model: 'm',
      messages: hello,
      n: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      seed: 7,
    });
    assert.equal(answer.choices[0]?.message.content, 'hi');
    assert.equal('seed' in (claude.requests[0]!.body as object), false, 'seed is best-effort and documented as ignored');
  });

  it('guarantee: response_format json_schema → a forced tool on Anthropic; the SDK gets the JSON as content', async () => {
    claude.script({ body: toolUseMessage('weather_report', { city: 'Oslo', celsius: 4 }) });

    const answer = await client('anthropic').chat.completions.create({ model: 'm', messages: hello, response_format: weatherFormat });

    assert.equal(answer.choices[0]?.finish_reason, 'stop');
    assert.equal(answer.choices[0]?.message.tool_calls, undefined);
    assert.deepEqual(JSON.parse(answer.choices[0]!.message.content!), { city: 'Oslo', celsius: 4 });
    const sent = claude.requests[0]!.body as { tools: Array<{ name: string; input_schema: unknown }>; tool_choice: unknown };
    assert.deepEqual(sent.tools.map((tool) => [tool.name, tool.input_schema]), [['weather_report', WEATHER_SCHEMA]]);
    assert.deepEqual(sent.tool_choice, { type: 'tool', name: 'weather_report' });
  });

  it('guarantee: streamed, the forced tool’s input_json_delta arrives as content deltas that join into the JSON', async () => {
    claude.script({
      sse: anthropicStreamFrames({ toolUse: { id: 'toolu_1', name: 'weather_report', inputJson: ['{"city": "Os', 'lo", "celsius": 4}'] } }),
    });

    const stream = await client('anthropic').chat.completions.create({ model: 'm', messages: hello, response_format: weatherFormat, stream: true });
    let content = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      assert.equal(chunk.choices[0]?.delta.tool_calls, undefined);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.deepEqual(JSON.parse(content), { city: 'Oslo', celsius: 4 });
    assert.equal(finish, 'stop');
  });

  it('guarantee: json_object → a permissive forced tool; the answer is a JSON object', async () => {
    claude.script({ body: toolUseMessage('json_object', { ok: true }) });
    const answer = await client('anthropic').chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'answer in JSON' }],
      response_format: { type: 'json_object' },
    });
    assert.deepEqual(JSON.parse(answer.choices[0]!.message.content!), { ok: true });
  });
});
