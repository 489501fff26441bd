import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { responseFromCompletion } from '../../../../shared/api/responses/fromChatCompletion';
import { parseResponsesRequest } from '../../../../shared/api/responses/parseRequest';
import { renderResponseStream } from '../../../../shared/api/responses/renderResponseStream';
import { responseEcho, ResponseIds, responseIdOfItem, type ResponseObject } from '../../../../shared/api/responses/responseObject';
import { GatewayError } from '../../../../shared/errors';
import type { StreamEvent } from '../../../../shared/stream';

const HEX = '0123456789abcdef0123456789abcdef';
const meta = { id: 'chatcmpl-x', model: 'm-1', created: 1_700_000_000 };
const echo = responseEcho(parseResponsesRequest({ model: 'any', input: 'hi', metadata: { run: '7' } }), true);
const usage: StreamEvent = {
  type: 'usage',
  usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10, prompt_tokens_details: { cached_tokens: 4 } },
  gateway: { target: 'p/m-1', cost_usd: 0.25 },
};

interface Frame {
  event: string;
  data: Record<string, unknown> & { type: string; sequence_number: number };
}

async function render(events: StreamEvent[], options: { failWith?: Error; onCompleted?: (response: ResponseObject) => Promise<void> } = {}) {
  async function* source(): AsyncGenerator<StreamEvent> {
    yield* events;
    if (options.failWith) throw options.failWith;
  }
  let text = '';
  for await (const piece of renderResponseStream(source(), { ids: new ResponseIds(HEX), echo, meta, requestId: 'req-1', onCompleted: options.onCompleted })) {
    text += piece;
  }
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block): Frame => {
      const [eventLine, dataLine] = block.split('\n');
      return { event: eventLine!.replace(/^event: /, ''), data: JSON.parse(dataLine!.replace(/^data: /, '')) };
    });
}

describe('renderResponseStream: the canonical stream as Responses API events', () => {
  it('text: created, in_progress, the message item with its part and deltas, then completed with usage', async () => {
    const frames = await render([{ type: 'text', text: 'Hel' }, { type: 'text', text: 'lo' }, { type: 'finish', reason: 'stop' }, usage]);
    assert.deepEqual(
      frames.map((frame) => frame.event),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    assert.ok(frames.every((frame) => frame.event === frame.data.type), 'each event: line names its data type');
    assert.deepEqual(
      frames.map((frame) => frame.data.sequence_number),
      frames.map((_, index) => index),
    );
    const delta = frames[4]!.data;
    assert.deepEqual(delta, {
      type: 'response.output_text.delta',
      sequence_number: 4,
      item_id: `msg_${HEX}_0`,
      output_index: 0,
      content_index: 0,
      delta: 'Hel',
      logprobs: [],
    });
    const created = frames[0]!.data.response as ResponseObject;
    assert.equal(created.status, 'in_progress');
    assert.deepEqual(created.output, []);
    assert.equal(created.usage, null);

    const completed = frames.at(-1)!.data;
    const response = completed.response as ResponseObject;
    assert.equal(response.id, `resp_${HEX}`);
    assert.equal(response.status, 'completed');
    assert.equal(response.model, 'm-1');
    assert.equal(response.created_at, 1_700_000_000);
    assert.deepEqual(response.metadata, { run: '7' });
    assert.deepEqual(response.output, [
      {
        type: 'message',
        id: `msg_${HEX}_0`,
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Hello', annotations: [], logprobs: [] }],
      },
    ]);
    assert.deepEqual(response.usage, {
      input_tokens: 7,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 10,
    });
    assert.deepEqual(completed.x_breakwater, { target: 'p/m-1', cost_usd: 0.25 });
  });

  it('tool calls: the message closes when a call starts; each call has its item, argument deltas and done', async () => {
    const frames = await render([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call', index: 0, id: 'call_1', name: 'weather', arguments: '' },
      { type: 'tool_call', index: 0, arguments: '{"city":' },
      { type: 'tool_call', index: 0, arguments: '"Paris"}' },
      { type: 'tool_call', index: 1, id: 'call_2', name: 'time', arguments: '{}' },
      { type: 'finish', reason: 'tool_calls' },
      usage,
    ]);
    assert.deepEqual(
      frames.slice(5).map((frame) => `${frame.event}${'output_index' in frame.data ? `@${frame.data.output_index}` : ''}`),
      [
        'response.output_text.done@0',
        'response.content_part.done@0',
        'response.output_item.done@0',
        'response.output_item.added@1',
        'response.function_call_arguments.delta@1',
        'response.function_call_arguments.delta@1',
        'response.output_item.added@2',
        'response.function_call_arguments.delta@2',
        'response.function_call_arguments.done@1',
        'response.output_item.done@1',
        'response.function_call_arguments.done@2',
        'response.output_item.done@2',
        'response.completed',
      ],
    );
    const added = frames.find((frame) => frame.event === 'response.output_item.added' && frame.data.output_index === 1)!.data;
    assert.deepEqual(added.item, { type: 'function_call', id: `fc_${HEX}_1`, call_id: 'call_1', name: 'weather', arguments: '', status: 'in_progress' });
    const done = frames.find((frame) => frame.event === 'response.function_call_arguments.done' && frame.data.output_index === 1)!.data;
    assert.equal(done.arguments, '{"city":"Paris"}');
    assert.equal(done.name, 'weather');
    const response = frames.at(-1)!.data.response as ResponseObject;
    assert.deepEqual(
      response.output.map((item) => (item.type === 'function_call' ? [item.call_id, item.name, item.arguments, item.status] : item.type)),
      ['message', ['call_1', 'weather', '{"city":"Paris"}', 'completed'], ['call_2', 'time', '{}', 'completed']],
    );
  });

  it('finish_reason length: response.incomplete, status incomplete, reason max_output_tokens', async () => {
    const frames = await render([{ type: 'text', text: 'cut' }, { type: 'finish', reason: 'length' }, usage]);
    const last = frames.at(-1)!;
    assert.equal(last.event, 'response.incomplete');
    const response = last.data.response as ResponseObject;
    assert.equal(response.status, 'incomplete');
    assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(response.output[0]!.status, 'incomplete');
  });

  it('a failure after the first byte ends with response.failed: status failed, the error, the output so far', async () => {
    const frames = await render([{ type: 'text', text: 'one ' }], { failWith: new GatewayError('stream_interrupted', 'the stream broke') });
    const last = frames.at(-1)!;
    assert.equal(last.event, 'response.failed');
    assert.ok(!frames.some((frame) => frame.event === 'response.completed'));
    const response = last.data.response as ResponseObject;
    assert.equal(response.status, 'failed');
    assert.deepEqual(response.error, { code: 'stream_interrupted', message: 'the stream broke' });
    assert.equal(response.output[0]!.status, 'incomplete');
    assert.deepEqual((response.output[0] as { content: unknown }).content, [{ type: 'output_text', text: 'one ', annotations: [], logprobs: [] }]);
  });

  it('an unexpected error says only the request id', async () => {
    const frames = await render([], { failWith: new Error('secret detail') });
    const response = frames.at(-1)!.data.response as ResponseObject;
    assert.equal(response.error?.code, 'internal_error');
    assert.doesNotMatch(response.error!.message, /secret/);
    assert.match(response.error!.message, /req-1/);
  });

  it('onCompleted gets the final response after the last event, and is not called for a failed stream', async () => {
    const seen: Array<{ id: string; framesBefore: number }> = [];
    let frameCount = 0;
    async function* source(): AsyncGenerator<StreamEvent> {
      yield { type: 'text', text: 'ok' };
      yield usage;
    }
    const stream = renderResponseStream(source(), {
      ids: new ResponseIds(HEX),
      echo,
      meta,
      requestId: 'r',
      onCompleted: async (response) => {
        seen.push({ id: response.id, framesBefore: frameCount });
      },
    });
    let lastFrame = '';
    for await (const piece of stream) {
      frameCount += 1;
      lastFrame = piece;
    }
    assert.match(lastFrame, /^event: response.completed/);
    assert.deepEqual(seen, [{ id: `resp_${HEX}`, framesBefore: frameCount }]);

    let called = false;
    await render([{ type: 'text', text: 'x' }], {
      failWith: new GatewayError('stream_interrupted', 'cut'),
      onCompleted: async () => {
        called = true;
      },
    });
    assert.equal(called, false);
  });
});

describe('responseFromCompletion: a buffered chat.completion as a response', () => {
  const completion = (message: Record<string, unknown>, finish_reason = 'stop') => ({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_700_000_123,
    model: 'upstream-model',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason }],
    usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9, completion_tokens_details: { reasoning_tokens: 2 } },
  });

  it('text → one message item; usage, model and created carried over', () => {
    const response = responseFromCompletion(completion({ content: 'hello' }), new ResponseIds(HEX), echo);
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.created_at, 1_700_000_123);
    assert.equal(response.model, 'upstream-model');
    assert.equal(response.error, null);
    assert.equal(response.incomplete_details, null);
    assert.deepEqual(response.output, [
      { type: 'message', id: `msg_${HEX}_0`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'hello', annotations: [], logprobs: [] }] },
    ]);
    assert.deepEqual(response.usage, {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: 9,
    });
  });

  it('tool calls only → function_call items and no message; a refusal → a refusal part', () => {
    const calls = responseFromCompletion(
      completion({ content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] }, 'tool_calls'),
      new ResponseIds(HEX),
      echo,
    );
    assert.deepEqual(calls.output, [{ type: 'function_call', id: `fc_${HEX}_0`, call_id: 'call_9', name: 'f', arguments: '{"x":1}', status: 'completed' }]);
    const refused = responseFromCompletion(completion({ content: null, refusal: 'no' }), new ResponseIds(HEX), echo);
    assert.deepEqual((refused.output[0] as { content: unknown }).content, [{ type: 'refusal', refusal: 'no' }]);
  });

  it('finish_reason length → incomplete (max_output_tokens); content_filter → incomplete (content_filter)', () => {
    const cut = responseFromCompletion(completion({ content: 'abc' }, 'length'), new ResponseIds(HEX), echo);
    assert.equal(cut.status, 'incomplete');
    assert.deepEqual(cut.incomplete_details, { reason: 'max_output_tokens' });
    const filtered = responseFromCompletion(completion({ content: '' }, 'content_filter'), new ResponseIds(HEX), echo);
    assert.deepEqual(filtered.incomplete_details, { reason: 'content_filter' });
  });

  it('an item id names its response, so an item_reference finds the stored response', () => {
    const ids = new ResponseIds(HEX);
    assert.equal(responseIdOfItem(ids.message()), ids.response);
    assert.equal(responseIdOfItem(ids.functionCall()), ids.response);
    assert.equal(responseIdOfItem('msg_67ccd3acc8d48190a77525dc6de64b4104becb25c6e9b1e0'), undefined);
  });
});
