import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateInputTokens, IMAGE_TOKENS, requestedOutputTokens } from '../../../shared/budget';

const user = (content: unknown) => ({ role: 'user', content });

describe('estimateInputTokens', () => {
  it('is chars/4 rounded up over the message text, plus 8 per message and 16 per request', () => {
    // "user" + "Hello world!" = 16 chars → 4 tokens; 16 + 8 + 4
    assert.equal(estimateInputTokens({ messages: [user('Hello world!')] }), 28);
    // "user" + 13 chars = 17 → 5 tokens (rounded up)
    assert.equal(estimateInputTokens({ messages: [user('Hello world!!')] }), 29);
    assert.equal(estimateInputTokens({ messages: [{ role: 'system', content: 'Be brief.' }, user('Hi')] }), 16 + 2 * 8 + Math.ceil(('system' + 'Be brief.' + 'user' + 'Hi').length / 4));
  });

  it('counts every non-ASCII character as a whole token', () => {
    // "user" (4) + "日本語" (3 × 4) = 16 units → 4 tokens
    assert.equal(estimateInputTokens({ messages: [user('日本語')] }), 28);
  });

  it('counts an image part as a fixed number of tokens, never its base64 bytes', () => {
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(100_000)}` } };
    assert.equal(estimateInputTokens({ messages: [user([{ type: 'text', text: 'abcd' }, image])] }), 16 + 8 + IMAGE_TOKENS + Math.ceil((4 + 4 + 4) / 4));
  });

  it('counts tool calls, tool results and the tool schemas', () => {
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
    const body = {
      messages: [
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
      ],
      tools,
    };
    const messageUnits = 'assistant'.length + 'c1functionf{"a":1}'.length + 'toolc1ok'.length;
    const toolUnits = JSON.stringify(tools).length;
    assert.equal(estimateInputTokens(body), 16 + 2 * 8 + Math.ceil((messageUnits + toolUnits) / 4));
  });

  it('the client\'s output limit: max_completion_tokens first, else max_tokens', () => {
    assert.equal(requestedOutputTokens({ max_tokens: 10, max_completion_tokens: 20 }), 20);
    assert.equal(requestedOutputTokens({ max_tokens: 10 }), 10);
    assert.equal(requestedOutputTokens({}), undefined);
  });

  it('embeddings: text inputs by characters, token arrays by length', () => {
    assert.equal(estimateInputTokens({ input: ['abcd', 'efgh'] }), 18);
    assert.equal(estimateInputTokens({ input: [[1, 2, 3], [4]] }), 20);
  });
});
