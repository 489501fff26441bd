import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionAssembler, completionEvents } from '../../../shared/stream';

describe('CompletionAssembler and completionEvents', () => {
  it('folds text and tool-call fragments into one chat.completion', () => {
    const assembler = new CompletionAssembler();
    assembler.add({ type: 'text', text: 'Hé' });
    assembler.add({ type: 'text', text: 'llo' });
    assembler.add({ type: 'tool_call', index: 0, id: 'call_1', name: 'f', arguments: '{"a"' });
    assembler.add({ type: 'tool_call', index: 0, arguments: ':1}' });
    assembler.add({ type: 'finish', reason: 'tool_calls' });
    assembler.add({ type: 'usage', usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    const body = assembler.toCompletion({ id: 'chatcmpl-1', model: 'm', created: 7 });
    assert.deepEqual(body, {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 7,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Héllo', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
    // Bytes, not characters: é is two.
    assert.equal(assembler.contentBytes, 6 + 1 + '{"a"'.length + ':1}'.length);
  });

  it('a stored answer replays as events that assemble back to the same answer', () => {
    const stored = {
      id: 'chatcmpl-2',
      object: 'chat.completion',
      created: 9,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
    const assembler = new CompletionAssembler();
    for (const event of completionEvents(stored)) assembler.add(event);
    assert.deepEqual(assembler.toCompletion({ id: 'chatcmpl-2', model: 'm', created: 9 }), stored);
  });
});
