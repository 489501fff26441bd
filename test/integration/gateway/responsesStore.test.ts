import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, tool } from 'ai';
import { NotFoundError } from 'openai';
import { z } from 'zod';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { DynamoResponseRecords, ResponseStore, type ResponseRecords } from '../../../shared/responses';
import { capturingLogger } from '../../support/capturingLogger';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { assertClientError, fastRetry, openaiProvider, raw, sdkClient, sdkError, sdkErrorBody, testSettings } from '../../support/e2eHarness';
import { chatCompletion, openAiStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { offsetClock } from '../../support/offsetClock';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

const ALPHA_KEY = 'bw_test_responses_alpha_01_xxxxx';
const BETA_KEY = 'bw_test_responses_beta_001_xxxxx';
const THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000;
const SLOW_WRITE_MS = 150;

type ChatMessage = { role: string; content?: unknown; tool_calls?: unknown; tool_call_id?: string };
type ChatBody = { messages: ChatMessage[] };

const toolCallAnswer = (text: string | null, call: { id: string; name: string; arguments: string }) => ({
  ...chatCompletion(),
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: text, tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }] },
      finish_reason: 'tool_calls',
    },
  ],
});

/**
 * Stored responses (`store`, `previous_response_id`, `item_reference`, GET and DELETE) through
 * the real gateway on DynamoDB Local: a follow-up turn sends only its new input, and the
 * upstream still receives the whole conversation; another tenant's ids read as missing.
 */
describe('gateway integration: stored responses (DynamoDB Local)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;
  const clock = offsetClock();
  const logs = capturingLogger({ logLevel: 'WARN' });
  const alpha = () => sdkClient(gateway.url, ALPHA_KEY);
  const beta = () => sdkClient(gateway.url, BETA_KEY);
  const upstreamMessages = (index = -1) => (mock.requests.at(index)?.body as ChatBody).messages;

  const config = (): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mock) },
    routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream', override_params: { model: 'gpt-test' } }] } },
    tenants: { alpha: { route: 'main', keys: [ALPHA_KEY] }, beta: { route: 'main', keys: [BETA_KEY] } },
    settings: testSettings(),
  });

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    gateway = await startStatefulGateway({
      dynamo,
      config: config(),
      clock,
      logger: logs.logger,
      // Writes take a while, as on a busy table: a turn that does not wait for its write loses the race.
      overrideServices: (built, { clients, tables }) => {
        const records = new DynamoResponseRecords(clients.doc, tables.responses);
        const slowPut: ResponseRecords = {
          put: async (record) => {
            await new Promise((resolve) => setTimeout(resolve, SLOW_WRITE_MS));
            await records.put(record);
          },
          get: (tenant, id) => records.get(tenant, id),
          delete: (tenant, id, now) => records.delete(tenant, id, now),
        };
        return { ...built, responses: new ResponseStore({ records: slowPut, clock, logger: logs.logger }) };
      },
    });
  });
  after(async () => {
    await gateway?.close();
    await mock?.close();
    await dynamo?.stop();
  });
  beforeEach(() => {
    mock.reset();
    logs.lines.length = 0;
  });

  it('store is on by default; a follow-up with previous_response_id sends the earlier turns upstream, not the earlier instructions', async () => {
    mock.script({ body: chatCompletion('Paris.') }, { body: chatCompletion('About 2.1 million.') });
    const first = await alpha().responses.create({ model: 'any', instructions: 'Answer in one word.', input: 'Capital of France?' });
    // On the wire as at OpenAI, though the SDK's `Response` type leaves it out.
    assert.equal((first as { store?: boolean }).store, true);
    const second = await alpha().responses.create({
      model: 'any',
      instructions: 'Answer with a number.',
      input: 'Its population?',
      previous_response_id: first.id,
    });
    assert.equal(second.output_text, 'About 2.1 million.');
    assert.equal(second.previous_response_id, first.id);
    assert.equal(second.instructions, 'Answer with a number.');
    assert.deepEqual(upstreamMessages(), [
      { role: 'system', content: 'Answer with a number.' },
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'Its population?' },
    ]);

    // A chain: the third turn continues the second, which carries the first.
    mock.script({ body: chatCompletion('Yes.') });
    await alpha().responses.create({ model: 'any', input: 'Is that a lot?', previous_response_id: second.id });
    assert.deepEqual(
      upstreamMessages().map((message) => message.content),
      ['Capital of France?', 'Paris.', 'Its population?', 'About 2.1 million.', 'Is that a lot?'],
    );
  });

  it('a tool round trip continued by id: the follow-up sends only the function_call_output', async () => {
    mock.script({ body: toolCallAnswer(null, { id: 'call_1', name: 'lookup', arguments: '{"q":"tides"}' }) }, { body: chatCompletion('High tide at 6.') });
    const tools = [{ type: 'function' as const, name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false }];
    const first = await alpha().responses.create({ model: 'any', input: 'When is high tide?', tools });
    const call = first.output[0]!;
    assert.ok(call.type === 'function_call');
    const second = await alpha().responses.create({
      model: 'any',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '06:00' }],
      tools,
    });
    assert.equal(second.output_text, 'High tide at 6.');
    assert.deepEqual(upstreamMessages(), [
      { role: 'user', content: 'When is high tide?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"tides"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '06:00' },
    ]);
  });

  it('a streamed answer is stored by the time its stream ends, so the next turn can continue from it at once', async () => {
    mock.script({ sse: openAiStreamFrames({ text: ['Streamed ', 'answer.'] }) }, { body: chatCompletion('ok') });
    const final = await alpha().responses.stream({ model: 'any', input: 'Stream something' }).finalResponse();
    assert.equal(final.output_text, 'Streamed answer.');
    await alpha().responses.create({ model: 'any', input: 'Go on', previous_response_id: final.id });
    assert.deepEqual(upstreamMessages().slice(0, 2), [
      { role: 'user', content: 'Stream something' },
      { role: 'assistant', content: 'Streamed answer.' },
    ]);
    const stored = await alpha().responses.retrieve(final.id);
    assert.equal(stored.status, 'completed');
    assert.equal(stored.output_text, 'Streamed answer.');
  });

  it('GET returns the stored response; DELETE deletes it ({id, object, deleted}); then both are 404', async () => {
    mock.script({ body: chatCompletion('keep me') });
    const created = await alpha().responses.create({ model: 'any', input: 'hi', metadata: { ticket: 'T-1' } });
    const fetched = await alpha().responses.retrieve(created.id);
    assert.deepEqual(fetched, created);

    const deleted = await raw(`${gateway.url}/v1/responses/${created.id}`, { method: 'DELETE', auth: ALPHA_KEY });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.json, { id: created.id, object: 'response', deleted: true });
    const gone = await sdkError(alpha().responses.retrieve(created.id));
    assert.ok(gone instanceof NotFoundError);
    assert.equal(sdkErrorBody(gone).code, 'response_not_found');
    assertClientError(await raw(`${gateway.url}/v1/responses/${created.id}`, { method: 'DELETE', auth: ALPHA_KEY }), 404, 'response_not_found', 'not_found_error');
    const continued = await sdkError(alpha().responses.create({ model: 'any', input: 'more', previous_response_id: created.id }));
    assert.equal(continued.status, 404);
  });

  it("guarantee: another tenant's response id is a 404 everywhere (GET, DELETE, previous_response_id, item_reference) and stays the owner's", async () => {
    mock.script({ body: chatCompletion('alpha secret') });
    const owned = await alpha().responses.create({ model: 'any', input: 'private' });
    mock.reset();

    const read = await sdkError(beta().responses.retrieve(owned.id));
    assert.equal(read.status, 404);
    assert.equal(sdkErrorBody(read).code, 'response_not_found');
    assertClientError(await raw(`${gateway.url}/v1/responses/${owned.id}`, { method: 'DELETE', auth: BETA_KEY }), 404, 'response_not_found', 'not_found_error');
    const continued = await sdkError(beta().responses.create({ model: 'any', input: 'tell me', previous_response_id: owned.id }));
    assert.equal(continued.status, 404);
    assert.equal(sdkErrorBody(continued).code, 'response_not_found');
    assert.equal(continued.param, 'previous_response_id');
    const referenced = await sdkError(
      beta().responses.create({ model: 'any', input: [{ type: 'item_reference', id: owned.output[0]!.id! }, { role: 'user', content: 'repeat' }] }),
    );
    assert.equal(referenced.status, 404);
    assert.equal(referenced.param, 'input[0]');
    assert.equal(mock.requests.length, 0, 'nothing of it reached the upstream');
    assert.equal((await alpha().responses.retrieve(owned.id)).output_text, 'alpha secret');
  });

  it('Idempotency-Key: a duplicate gets the same response (same id) and the upstream is called once', async () => {
    mock.script({ body: chatCompletion('once') });
    const send = () =>
      alpha().responses.create({ model: 'any', input: 'charge the card' }, { headers: { 'idempotency-key': 'resp-idem-0001' } }).withResponse();
    const first = await send();
    const second = await send();
    assert.equal(second.data.id, first.data.id);
    assert.equal(second.data.output_text, 'once');
    assert.equal(second.response.headers.get('idempotent-replayed'), 'true');
    assert.equal(mock.requests.length, 1);
    assert.equal((await alpha().responses.retrieve(first.data.id)).output_text, 'once');
  });

  it('store: false is not stored: it cannot be read or continued', async () => {
    mock.script({ body: chatCompletion('ephemeral') });
    const response = await alpha().responses.create({ model: 'any', input: 'hi', store: false });
    assert.equal((response as { store?: boolean }).store, false);
    assert.equal((await sdkError(alpha().responses.retrieve(response.id))).status, 404);
    assert.equal((await sdkError(alpha().responses.create({ model: 'any', input: 'x', previous_response_id: response.id }))).status, 404);
  });

  it('item_reference: the AI SDK, storing by default, refers to its earlier text by id; the door sends that text upstream', async () => {
    mock.script(
      { body: toolCallAnswer('Let me look that up.', { id: 'call_r', name: 'lookup', arguments: '{"q":"x"}' }) },
      { body: chatCompletion('Found it.') },
    );
    const openai = createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: ALPHA_KEY });
    const result = await generateText({
      model: openai('gpt-4o'),
      prompt: 'Find x',
      maxRetries: 0,
      stopWhen: stepCountIs(3),
      tools: { lookup: tool({ inputSchema: z.object({ q: z.string() }), execute: async () => 'x is 42' }) },
    });
    assert.equal(result.text, 'Found it.');
    const secondCall = result.steps[1]!.request.body as { input: Array<{ type?: string }> };
    assert.ok(
      secondCall.input.some((item) => item.type === 'item_reference'),
      `the AI SDK sent an item_reference: ${JSON.stringify(secondCall.input)}`,
    );
    assert.deepEqual(upstreamMessages(), [
      { role: 'user', content: [{ type: 'text', text: 'Find x' }] },
      {
        role: 'assistant',
        content: 'Let me look that up.',
        tool_calls: [{ id: 'call_r', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_r', content: 'x is 42' },
    ]);
  });

  it('an answer over 350 KB is returned but not stored, and the log says so', async () => {
    mock.script({ body: chatCompletion('x'.repeat(360 * 1024)) });
    const response = await alpha().responses.create({ model: 'any', input: 'write a lot' });
    assert.equal(response.output_text.length, 360 * 1024);
    assert.equal((await sdkError(alpha().responses.retrieve(response.id))).status, 404);
    const record = logs.records().find((line) => line.message === 'response not stored: too large');
    assert.equal(record?.response_id, response.id);
  });

  // Last: it moves the gateway's clock 30 days on.
  it('a stored response expires after 30 days', async () => {
    mock.script({ body: chatCompletion('short-lived') });
    const response = await alpha().responses.create({ model: 'any', input: 'hi' });
    clock.advance(THIRTY_DAYS_MS - 60_000);
    assert.equal((await alpha().responses.retrieve(response.id)).id, response.id);
    clock.advance(120_000);
    assert.equal((await sdkError(alpha().responses.retrieve(response.id))).status, 404);
  });
});
