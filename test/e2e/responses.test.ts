import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import type { ResponseInputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { z } from 'zod';
import {
  assertClientError,
  fastRetry,
  modelTarget,
  raw,
  sdkClient,
  sdkError,
  sdkErrorBody,
  startMockedGateway,
  type MockedGateway,
} from '../support/e2eHarness';
import { anthropicStreamFrames, chatCompletion, openAiStreamFrames, startMockUpstream, type MockUpstream } from '../support/mockUpstream';

type ChatBody = {
  model: string;
  messages: Array<Record<string, unknown>>;
  tools?: unknown[];
  response_format?: unknown;
  max_tokens?: number;
  stream?: boolean;
};

const toolCallCompletion = (calls: Array<{ id: string; name: string; arguments: string }>) => ({
  ...chatCompletion(),
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
      },
      finish_reason: 'tool_calls',
    },
  ],
});

const anthropicMessage = (text: string) => ({
  id: 'msg_anthropic_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [{ type: 'text', text }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 6 },
});

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

/**
 * The Responses API door (`POST /v1/responses`) driven by the official `openai` SDK against
 * scripted upstreams: an OpenAI-compatible mock (chat completions, JSON and SSE) and an
 * Anthropic mock. The door translates to the engine's chat form and back, so these are also the
 * proof that one route config serves both APIs.
 */
describe('e2e: the Responses API with the openai SDK', () => {
  let stack: MockedGateway<'primary'>;
  let primary: MockUpstream;
  let claude: MockUpstream;
  const client = (route?: string) => sdkClient(stack.gateway.url, undefined, route ? { 'x-breakwater-route': route } : undefined);
  const upstreamBody = (mock: MockUpstream, index = -1) => mock.requests.at(index)?.body as ChatBody;

  before(async () => {
    claude = await startMockUpstream();
    stack = await startMockedGateway({
      upstreams: ['primary'],
      routes: {
        main: {
          strategy: { mode: 'single' },
          retry: fastRetry(0),
          stream_first_token_timeout: 500,
          targets: [modelTarget('primary', 'gpt-test')],
        },
        fallback: {
          strategy: { mode: 'fallback' },
          retry: fastRetry(0),
          targets: [modelTarget('primary', 'gpt-test'), { provider: 'claude', override_params: { model: 'claude-sonnet-4-5' } }],
        },
      },
      otherProviders: { claude: { type: 'anthropic', base_url: claude.baseUrl, credential: 'upstream' } },
    });
    ({ primary } = stack.mocks);
  });
  after(async () => {
    await stack.close();
    await claude.close();
  });
  beforeEach(() => {
    stack.reset();
    claude.reset();
  });

  it('text: the SDK reads output_text from the response; the upstream got a chat request with the instructions first', async () => {
    primary.script({ body: chatCompletion('Hello there', 'gpt-test') });
    const { data: response, response: http } = await client()
      .responses.create({ model: 'any', instructions: 'Be brief.', input: 'Say hello', max_output_tokens: 50, metadata: { run: 'r1' } })
      .withResponse();
    assert.equal(response.output_text, 'Hello there');
    assert.equal(response.object, 'response');
    assert.match(response.id, /^resp_[0-9a-f]{32}$/);
    assert.equal(response.status, 'completed');
    assert.equal(response.model, 'gpt-test');
    assert.equal(response.instructions, 'Be brief.');
    assert.equal(response.max_output_tokens, 50);
    assert.deepEqual(response.metadata, { run: 'r1' });
    assert.equal(response.error, null);
    assert.equal((response as { store?: boolean }).store, false, 'no state store here: nothing is stored, and the response says so');
    assert.deepEqual(response.usage, {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 9,
    });
    assert.equal(http.headers.get('x-breakwater-target'), 'primary/gpt-test');
    assert.ok(http.headers.get('x-request-id'));
    assert.deepEqual(upstreamBody(primary), {
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ],
      max_tokens: 50,
    });
  });

  it('function tools round trip: function_call out, function_call_output back in the next request', async () => {
    primary.script({ body: toolCallCompletion([{ id: 'call_abc', name: 'get_weather', arguments: '{"city":"Paris"}' }]) });
    const input: ResponseInputItem[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client().responses.create({ model: 'any', input, tools: [weatherTool], tool_choice: 'auto' });
    assert.equal(first.output.length, 1);
    const call = first.output[0]!;
    assert.equal(call.type, 'function_call');
    assert.ok(call.type === 'function_call');
    assert.equal(call.call_id, 'call_abc');
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
    assert.equal(first.output_text, '');
    const sentTools = upstreamBody(primary).tools;
    assert.deepEqual(sentTools, [
      { type: 'function', function: { name: 'get_weather', description: weatherTool.description, parameters: weatherTool.parameters, strict: true } },
    ]);

    primary.script({ body: chatCompletion('Sunny, 24°C.') });
    const second = await client().responses.create({
      model: 'any',
      // Output items go back as input, as the OpenAI docs show (the SDK's types lag on one item kind).
      input: [...input, ...(first.output as ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: '{"sky":"sunny","celsius":24}' }],
      tools: [weatherTool],
    });
    assert.equal(second.output_text, 'Sunny, 24°C.');
    assert.deepEqual(upstreamBody(primary).messages, [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_abc', content: '{"sky":"sunny","celsius":24}' },
    ]);
  });

  it('structured output: text.format json_schema reaches the upstream as response_format, and responses.parse parses the answer', async () => {
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    primary.script({ body: chatCompletion('{"city":"Paris","celsius":24}') });
    const parsed = await client().responses.parse({ model: 'any', input: 'Weather in Paris as JSON', text: { format: zodTextFormat(Weather, 'weather') } });
    assert.deepEqual(parsed.output_parsed, { city: 'Paris', celsius: 24 });
    const format = upstreamBody(primary).response_format as { type: string; json_schema: { name: string; strict: boolean; schema: { properties: object } } };
    assert.equal(format.type, 'json_schema');
    assert.equal(format.json_schema.name, 'weather');
    assert.equal(format.json_schema.strict, true);
    assert.deepEqual(Object.keys(format.json_schema.schema.properties), ['city', 'celsius']);
    assert.deepEqual(parsed.text?.format, { type: 'json_schema', name: 'weather', strict: true, schema: format.json_schema.schema });

    primary.script({ body: chatCompletion('{"ok":true}') });
    await client().responses.create({ model: 'any', input: 'JSON please', text: { format: { type: 'json_object' } } });
    assert.deepEqual(upstreamBody(primary).response_format, { type: 'json_object' });
  });

  it('reasoning.effort, text.verbosity, temperature, top_p and user reach an OpenAI target under their chat names', async () => {
    primary.script({ body: chatCompletion('ok') });
    const response = await client().responses.create({
      model: 'any',
      input: 'think',
      reasoning: { effort: 'high' },
      text: { verbosity: 'low' },
      temperature: 0.3,
      top_p: 0.8,
      user: 'end-user-7',
    });
    assert.deepEqual(response.reasoning, { effort: 'high', summary: null });
    const sent = upstreamBody(primary) as ChatBody & Record<string, unknown>;
    assert.equal(sent.reasoning_effort, 'high');
    assert.equal(sent.verbosity, 'low');
    assert.equal(sent.temperature, 0.3);
    assert.equal(sent.top_p, 0.8);
    assert.equal(sent.user, 'end-user-7');
    assert.equal('reasoning' in sent || 'text' in sent || 'input' in sent, false, 'no Responses field leaks into the chat request');
  });

  it('max_output_tokens reached: status incomplete with incomplete_details.reason max_output_tokens', async () => {
    primary.script({ body: { ...chatCompletion('cut sh'), choices: [{ index: 0, message: { role: 'assistant', content: 'cut sh' }, finish_reason: 'length' }] } });
    const response = await client().responses.create({ model: 'any', input: 'long story', max_output_tokens: 16 });
    assert.equal(response.status, 'incomplete');
    assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(response.output_text, 'cut sh');
  });

  it('streaming with responses.stream(): text deltas as they come, then the final response with usage', async () => {
    primary.script({ sse: openAiStreamFrames({ text: ['Hel', 'lo', ' world'], usage: { prompt_tokens: 8, completion_tokens: 3, total_tokens: 11 } }) });
    const deltas: string[] = [];
    const stream = client().responses.stream({ model: 'any', input: 'hi' });
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    assert.deepEqual(deltas, ['Hel', 'lo', ' world']);
    assert.equal(final.output_text, 'Hello world');
    assert.equal(final.status, 'completed');
    assert.equal(final.usage?.input_tokens, 8);
    assert.equal(final.usage?.output_tokens, 3);
    assert.equal(upstreamBody(primary).stream, true);
  });

  it('streaming with create({stream: true}): the Responses event sequence, with tool-call argument deltas and item ids', async () => {
    primary.script({
      sse: openAiStreamFrames({ text: ['Let me check.'], toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: ['{"city":', '"Rome"}'] }] }),
    });
    const { data: stream, response: http } = await client()
      .responses.create({ model: 'any', input: 'Weather in Rome?', tools: [weatherTool], stream: true })
      .withResponse();
    assert.match(http.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(http.headers.get('x-breakwater-target'), 'primary/gpt-test');
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(
      events.map((event) => event.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, index) => index),
    );
    const callAdded = events[8]!;
    assert.ok(callAdded.type === 'response.output_item.added' && callAdded.item.type === 'function_call');
    assert.equal(callAdded.output_index, 1);
    const argDeltas = events.filter((event) => event.type === 'response.function_call_arguments.delta');
    assert.ok(argDeltas.every((event) => event.item_id === callAdded.item.id && event.output_index === 1));
    const completed = events.at(-1)!;
    assert.ok(completed.type === 'response.completed');
    const call = completed.response.output[1];
    assert.ok(call?.type === 'function_call');
    assert.equal(call.call_id, 'call_1');
    assert.equal(call.arguments, '{"city":"Rome"}');
    assert.ok(completed.response.usage, 'the completed response carries usage');
    const facts = (completed as unknown as { x_breakwater: { target: string; cost_usd: number } }).x_breakwater;
    assert.equal(facts.target, 'primary/gpt-test');
  });

  it('fallback across formats: the OpenAI-format target fails, the Anthropic target answers, buffered and streamed', async () => {
    primary.setDefault({ status: 503, body: { error: { message: 'overloaded' } } });
    claude.script({ body: anthropicMessage('Bonjour from Claude') });
    const { data: response, response: http } = await client('fallback')
      .responses.create({ model: 'any', instructions: 'Answer in French.', input: 'Say hello' })
      .withResponse();
    assert.equal(response.output_text, 'Bonjour from Claude');
    assert.equal(response.model, 'claude-sonnet-4-5');
    assert.equal(response.usage?.input_tokens, 12);
    assert.equal(http.headers.get('x-breakwater-target'), 'claude/claude-sonnet-4-5');
    assert.equal(http.headers.get('x-breakwater-fallback-index'), '1');
    const sent = claude.requests[0]!;
    assert.match(sent.path, /\/messages$/);
    const anthropicBody = sent.body as { system?: unknown; messages: Array<{ role: string; content: unknown }> };
    assert.match(JSON.stringify(anthropicBody.system), /Answer in French\./);
    assert.equal(anthropicBody.messages[0]?.role, 'user');
    assert.match(JSON.stringify(anthropicBody.messages[0]?.content), /Say hello/);

    claude.script({ sse: anthropicStreamFrames({ text: ['Bon', 'jour'] }) });
    const stream = client('fallback').responses.stream({ model: 'any', input: 'Say hello' });
    const final = await stream.finalResponse();
    assert.equal(final.output_text, 'Bonjour');
    assert.equal(final.status, 'completed');
  });

  it('a built-in tool is refused with 400 unsupported_tool naming it (BadRequestError), before any upstream call', async () => {
    const error = await sdkError(
      client().responses.create({ model: 'any', input: 'news today?', tools: [{ type: 'web_search_preview' }, weatherTool] }),
    );
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'unsupported_tool');
    assert.equal(error.param, 'tools[0].type');
    assert.match(error.message, /"web_search_preview"/);
    assert.equal(primary.requests.length, 0);
  });

  it('an unknown parameter is a 400 naming it; an uploaded file id is a 400 too', async () => {
    const unknown = await sdkError(client().responses.create({ model: 'any', input: 'hi', frobnicate: true } as never));
    assert.ok(unknown instanceof BadRequestError);
    assert.equal(unknown.code, 'invalid_request');
    assert.equal(unknown.param, 'frobnicate');
    const fileImage = await sdkError(
      client().responses.create({
        model: 'any',
        input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-123', detail: 'auto' }] }],
      }),
    );
    assert.equal(fileImage.status, 400);
    assert.equal(fileImage.param, 'input[0].content[0]');
    assert.equal(primary.requests.length, 0);
  });

  it('a bad key is a 401 (AuthenticationError) before the body is looked at', async () => {
    const error = await sdkError(sdkClient(stack.gateway.url, 'bw_test_wrong_xxxxxxxxxxxxxxxxxx').responses.create({ model: 'any', input: 'hi', bogus: 1 } as never));
    assert.ok(error instanceof AuthenticationError);
  });

  it('guarantee: a stream cut after its first byte ends with response.failed (status failed, the error), never response.completed', async () => {
    primary.script({ sse: openAiStreamFrames({ text: ['one ', 'two ', 'three ', 'four'] }), cutAfterFrames: 3 });
    const stream = await client().responses.create({ model: 'any', input: 'count', stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const last = events.at(-1)!;
    assert.equal(last.type, 'response.failed');
    assert.ok(!events.some((event) => event.type === 'response.completed'));
    assert.ok(last.type === 'response.failed');
    assert.equal(last.response.status, 'failed');
    assert.equal((last.response.error as { code: string } | null)?.code, 'stream_interrupted');
    assert.match(last.response.error!.message, /broke after its first byte/);
    const partial = events.filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta).join('');
    assert.ok(partial.startsWith('one'), `partial text was streamed: ${JSON.stringify(partial)}`);

    // The stream helper ends with the failed response: its status says it is not whole.
    primary.script({ sse: openAiStreamFrames({ text: ['one ', 'two ', 'three ', 'four'] }), cutAfterFrames: 3 });
    const final = await client().responses.stream({ model: 'any', input: 'count' }).finalResponse();
    assert.equal(final.status, 'failed');
  });

  it('without a state store: previous_response_id is a 400 saying why; GET and DELETE find nothing', async () => {
    const error = await sdkError(client().responses.create({ model: 'any', input: 'and then?', previous_response_id: 'resp_0123' }));
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.param, 'previous_response_id');
    assert.match(error.message, /no state store/);
    const missing = await sdkError(client().responses.retrieve('resp_0123'));
    assert.ok(missing instanceof NotFoundError);
    assert.equal(sdkErrorBody(missing).code, 'response_not_found');
    assertClientError(await raw(`${stack.gateway.url}/v1/responses/resp_0123`, { method: 'DELETE' }), 404, 'response_not_found', 'not_found_error');
    assert.equal(primary.requests.length, 0);
  });
});
