import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anthropicErrorType } from '../../../../shared/api/messages/anthropicErrors';
import { anthropicUsage, toAnthropicMessage } from '../../../../shared/api/messages/messageObject';
import { renderMessageStream } from '../../../../shared/api/messages/renderMessageStream';
import { GatewayError } from '../../../../shared/errors';
import { CompletionAssembler, completionEvents, type StreamEvent } from '../../../../shared/stream';

const meta = { id: 'chatcmpl-abc123', model: 'claude-x', created: 1 };

interface Frame {
  event: string;
  data: Record<string, unknown> & { type: string };
}

async function render(events: StreamEvent[], failWith?: Error): Promise<Frame[]> {
  async function* source(): AsyncGenerator<StreamEvent> {
    yield* events;
    if (failWith) throw failWith;
  }
  let out = '';
  for await (const piece of renderMessageStream(meta, source(), { requestId: 'req-1', inputTokensEstimate: 99 })) out += piece;
  return out
    .split('\n\n')
    .filter(Boolean)
    .map((frame) => {
      const [eventLine, dataLine] = frame.split('\n');
      return { event: eventLine!.replace('event: ', ''), data: JSON.parse(dataLine!.replace('data: ', '')) };
    });
}

const usage: StreamEvent = {
  type: 'usage',
  usage: { prompt_tokens: 130, completion_tokens: 7, total_tokens: 137, prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 } },
  gateway: { target: 'claude/claude-x', cost_usd: 0.01 },
};

describe('renderMessageStream: the canonical stream as Anthropic Messages SSE', () => {
  it('thinking, text and two tool calls: blocks numbered in order, each opened, filled and closed', async () => {
    // Act
    const frames = await render([
      { type: 'thinking', index: 0, thinking: 'hm' },
      { type: 'thinking', index: 0, thinking: '', signature: 'sig' },
      { type: 'thinking', index: 1, thinking: '', redacted: 'opaque' },
      { type: 'text', text: 'Let me ' },
      { type: 'text', text: 'check.' },
      { type: 'tool_call', index: 0, id: 'call_1', name: 'f', arguments: '' },
      { type: 'tool_call', index: 0, arguments: '{"a":' },
      { type: 'tool_call', index: 0, arguments: '1}' },
      { type: 'tool_call', index: 1, id: 'call_2', name: 'g', arguments: '{}' },
      { type: 'finish', reason: 'tool_calls' },
      usage,
    ]);

    // Assess
    assert.deepEqual(
      frames.map(({ event, data }) => [event, data.index ?? null, (data.delta as { type?: string } | undefined)?.type ?? (data.content_block as { type?: string } | undefined)?.type ?? null]),
      [
        ['message_start', null, null],
        ['ping', null, null],
        ['content_block_start', 0, 'thinking'],
        ['content_block_delta', 0, 'thinking_delta'],
        ['content_block_delta', 0, 'signature_delta'],
        ['content_block_stop', 0, null],
        ['content_block_start', 1, 'redacted_thinking'],
        ['content_block_stop', 1, null],
        ['content_block_start', 2, 'text'],
        ['content_block_delta', 2, 'text_delta'],
        ['content_block_delta', 2, 'text_delta'],
        ['content_block_stop', 2, null],
        ['content_block_start', 3, 'tool_use'],
        ['content_block_delta', 3, 'input_json_delta'],
        ['content_block_delta', 3, 'input_json_delta'],
        ['content_block_stop', 3, null],
        ['content_block_start', 4, 'tool_use'],
        ['content_block_delta', 4, 'input_json_delta'],
        ['content_block_stop', 4, null],
        ['message_delta', null, null],
        ['message_stop', null, null],
      ],
    );
    assert.ok(frames.every(({ event, data }) => event === data.type), 'each event names its data type');
    assert.deepEqual(frames[6]!.data.content_block, { type: 'redacted_thinking', data: 'opaque' });
    assert.deepEqual(frames[12]!.data.content_block, { type: 'tool_use', id: 'call_1', name: 'f', input: {} });
    const start = frames[0]!.data.message as Record<string, unknown>;
    assert.equal(start.id, 'msg_abc123');
    assert.equal(start.model, 'claude-x');
    assert.deepEqual(start.content, []);
    assert.deepEqual(start.usage, { input_tokens: 99, output_tokens: 0 }, 'the estimate, until message_delta says');
  });

  it('message_delta: the stop reason and every usage count (input known only now), with the gateway facts', async () => {
    const frames = await render([{ type: 'text', text: 'x' }, { type: 'finish', reason: 'length' }, usage]);
    const delta = frames.find((frame) => frame.event === 'message_delta')!.data;
    assert.deepEqual(delta.delta, { stop_reason: 'max_tokens', stop_sequence: null });
    assert.deepEqual(delta.usage, { input_tokens: 10, output_tokens: 7, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 });
    assert.deepEqual(delta.x_breakwater, { target: 'claude/claude-x', cost_usd: 0.01 });
  });

  it('a failure after the first byte ends with an `error` event in Anthropic\'s shape, and no message_stop', async () => {
    const frames = await render([{ type: 'text', text: 'par' }], new GatewayError('stream_interrupted', 'the stream broke'));
    const last = frames.at(-1)!;
    assert.equal(last.event, 'error');
    assert.deepEqual(last.data, {
      type: 'error',
      error: { type: 'api_error', message: 'the stream broke', details: { error_code: 'stream_interrupted' } },
    });
    assert.ok(!frames.some((frame) => frame.event === 'message_stop'));
  });

  it('an unexpected error says nothing but the request id', async () => {
    const frames = await render([], new Error('secret internals'));
    const error = frames.at(-1)!.data.error as { message: string };
    assert.doesNotMatch(error.message, /secret/);
    assert.match(error.message, /req-1/);
  });
});

describe('toAnthropicMessage: a buffered chat.completion as a Messages answer', () => {
  it('thinking blocks, text, tool_use with parsed input; stop reason and usage mapped', () => {
    const message = toAnthropicMessage({
      id: 'chatcmpl-9',
      model: 'gpt-x',
      choices: [
        {
          message: {
            role: 'assistant',
            content: 'Checking.',
            thinking_blocks: [{ type: 'thinking', thinking: 't', signature: 's' }],
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"q":"x"}' } },
              { id: 'call_2', type: 'function', function: { name: 'g', arguments: 'not json' } },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 50, completion_tokens: 9, total_tokens: 59, prompt_tokens_details: { cached_tokens: 30 } },
    });
    assert.deepEqual(message, {
      id: 'msg_9',
      type: 'message',
      role: 'assistant',
      model: 'gpt-x',
      content: [
        { type: 'thinking', thinking: 't', signature: 's' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_1', name: 'f', input: { q: 'x' } },
        { type: 'tool_use', id: 'call_2', name: 'g', input: {} },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 30, cache_creation_input_tokens: 0 },
    });
  });

  it('finish reasons: stop → end_turn, length → max_tokens, content_filter → refusal, anything else → end_turn', () => {
    const reason = (finish_reason: unknown) => toAnthropicMessage({ choices: [{ message: { content: 'x' }, finish_reason }] }).stop_reason;
    assert.deepEqual(['stop', 'length', 'content_filter', 'weird', undefined].map(reason), ['end_turn', 'max_tokens', 'refusal', 'end_turn', 'end_turn']);
  });

  it('Anthropic usage survives the round trip through the engine\'s OpenAI-shaped usage', () => {
    // What anthropicTranslation.toOpenAiUsage makes of {input 12, output 5, read 100, write 20}.
    const openAi = { prompt_tokens: 132, completion_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, prompt_tokens_details: { cached_tokens: 100 } };
    assert.deepEqual(anthropicUsage(openAi), { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 });
  });

  it('a stream assembled (cache, idempotency store) and replayed keeps its thinking blocks', () => {
    const assembler = new CompletionAssembler();
    const events: StreamEvent[] = [
      { type: 'thinking', index: 0, thinking: 'a' },
      { type: 'thinking', index: 0, thinking: 'b' },
      { type: 'thinking', index: 0, thinking: '', signature: 'sig' },
      { type: 'thinking', index: 1, thinking: '', redacted: 'r' },
      { type: 'text', text: 'done' },
      { type: 'finish', reason: 'stop' },
    ];
    events.forEach((event) => assembler.add(event));
    const stored = assembler.toCompletion({ id: 'c', model: 'm', created: 0 });
    const blocks = [
      { type: 'thinking', thinking: 'ab', signature: 'sig' },
      { type: 'redacted_thinking', data: 'r' },
    ];
    assert.deepEqual((stored.choices as Array<{ message: { thinking_blocks: unknown } }>)[0]!.message.thinking_blocks, blocks);
    const replayed = new CompletionAssembler();
    for (const event of completionEvents(stored)) replayed.add(event);
    assert.deepEqual(replayed.toCompletion({ id: 'c', model: 'm', created: 0 }), stored);
    assert.deepEqual(toAnthropicMessage(stored).content, [...blocks, { type: 'text', text: 'done' }]);
  });
});

describe('anthropicErrorType: the status decides, as in Anthropic\'s API', () => {
  it('maps each status the gateway answers with', () => {
    const table = [400, 401, 402, 403, 404, 405, 409, 413, 422, 429, 500, 502, 503, 504, 529].map((status) => [status, anthropicErrorType(status)]);
    assert.deepEqual(table, [
      [400, 'invalid_request_error'],
      [401, 'authentication_error'],
      [402, 'billing_error'],
      [403, 'permission_error'],
      [404, 'not_found_error'],
      [405, 'invalid_request_error'],
      [409, 'invalid_request_error'],
      [413, 'request_too_large'],
      [422, 'invalid_request_error'],
      [429, 'rate_limit_error'],
      [500, 'api_error'],
      [502, 'api_error'],
      [503, 'api_error'],
      [504, 'timeout_error'],
      [529, 'overloaded_error'],
    ]);
  });
});
