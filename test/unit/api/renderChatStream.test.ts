import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderChatStream } from '../../../shared/api/chat/renderChatStream';
import { GatewayError } from '../../../shared/errors';
import type { StreamEvent } from '../../../shared/stream';

const meta = { id: 'chatcmpl-x', model: 'm', created: 1 };

async function render(events: StreamEvent[], includeUsage: boolean, failWith?: Error) {
  async function* source(): AsyncGenerator<StreamEvent> {
    yield* events;
    if (failWith) throw failWith;
  }
  let out = '';
  for await (const piece of renderChatStream(meta, source(), { includeUsage, requestId: 'req-1' })) out += piece;
  return out.split('\n\n').filter(Boolean).map((frame) => frame.replace(/^data: /, ''));
}

describe('renderChatStream: the canonical stream as OpenAI chat.completion.chunk SSE', () => {
  it('a role chunk, a chunk per delta, finish_reason on its own chunk, then [DONE]', async () => {
    const frames = await render([{ type: 'text', text: 'a' }, { type: 'finish', reason: 'stop' }], false);
    assert.equal(frames.at(-1), '[DONE]');
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame));
    assert.deepEqual(chunks.map((chunk) => chunk.choices[0].delta), [{ role: 'assistant', content: '' }, { content: 'a' }, {}]);
    assert.deepEqual(chunks.map((chunk) => chunk.choices[0].finish_reason), [null, null, 'stop']);
    assert.ok(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === 'chatcmpl-x'));
  });

  it('tool calls: the first delta of a call names it (id, type, name), later ones carry arguments only', async () => {
    const frames = await render(
      [
        { type: 'tool_call', index: 0, id: 'call_1', name: 'f', arguments: '' },
        { type: 'tool_call', index: 0, arguments: '{}' },
      ],
      false,
    );
    const calls = frames.slice(1, 3).map((frame) => JSON.parse(frame).choices[0].delta.tool_calls[0]);
    assert.deepEqual(calls, [
      { index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } },
      { index: 0, function: { arguments: '{}' } },
    ]);
  });

  it('usage only when the client asked, as a chunk with empty choices and the gateway facts', async () => {
    const usage: StreamEvent = {
      type: 'usage',
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      gateway: { target: 'p/m', cost_usd: 0.5 },
    };
    assert.ok(!(await render([usage], false)).some((frame) => frame.includes('"usage"')));
    const withUsage = await render([usage], true);
    const chunk = JSON.parse(withUsage.at(-2)!);
    assert.deepEqual(chunk.choices, []);
    assert.deepEqual(chunk.usage, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    assert.deepEqual(chunk.x_breakwater, { target: 'p/m', cost_usd: 0.5 });
  });

  it('a failure after the first byte ends with the OpenAI error object and no [DONE]', async () => {
    const frames = await render([{ type: 'text', text: 'a' }], false, new GatewayError('stream_interrupted', 'cut'));
    assert.notEqual(frames.at(-1), '[DONE]');
    assert.deepEqual(JSON.parse(frames.at(-1)!), { error: { message: 'cut', type: 'api_error', code: 'stream_interrupted' } });
  });

  it('an unexpected failure reveals nothing but the request id', async () => {
    const frames = await render([], false, new Error('secret sk-test-leak'));
    const body = JSON.parse(frames.at(-1)!);
    assert.equal(body.error.code, 'internal_error');
    assert.ok(!frames.join('').includes('sk-test-leak'));
    assert.match(body.error.message, /req-1/);
  });
});
