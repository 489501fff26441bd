import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateInputTokens, IMAGE_TOKENS, PriceTable, requestedOutputTokens, worstCaseEstimate } from '../../../shared/budget';

const prices = new PriceTable();
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

  it('embeddings: text inputs by characters, token arrays by length', () => {
    assert.equal(estimateInputTokens({ input: ['abcd', 'efgh'] }), 18);
    assert.equal(estimateInputTokens({ input: [[1, 2, 3], [4]] }), 20);
  });
});

describe('worstCaseEstimate', () => {
  const body = { model: 'claude-sonnet-4-5', messages: [user('x'.repeat(400))], max_tokens: 1_000 };

  it('prices input at the dearer of input and cache write, output at max_tokens', () => {
    // input: 16 + 8 + ceil(404 / 4) = 125 tokens × $3.75; output 1000 × $15 → 468.75 + 15 000 µ$
    const estimate = worstCaseEstimate(body, ['claude-sonnet-4-5'], prices);
    assert.deepEqual(estimate, { picoUsd: 15_468_750_000, usd: 0.01546875, tokens: 1_125, inputTokens: 125, model: 'claude-sonnet-4-5' });
  });

  it('prefers max_completion_tokens, falls back to the model ceiling, and multiplies by n', () => {
    assert.equal(requestedOutputTokens({ max_tokens: 10, max_completion_tokens: 20 }), 20);
    assert.equal(requestedOutputTokens({}), undefined);
    const noMax = worstCaseEstimate({ messages: [user('x'.repeat(400))] }, ['gpt-4o-mini'], prices);
    assert.equal(noMax.tokens, 125 + 16_384);
    const three = worstCaseEstimate({ ...body, n: 3 }, ['claude-sonnet-4-5'], prices);
    assert.equal(three.tokens, 125 + 3_000);
  });

  it('takes the dearest of the route\'s candidates, and the most tokens of any', () => {
    const estimate = worstCaseEstimate({ messages: [user('x'.repeat(400))], max_tokens: 100 }, ['gpt-4o-mini', 'claude-haiku-4-5', 'gpt-4o'], prices);
    // gpt-4o: 125 × 2.5 + 100 × 10 = 1312.5 µ$; haiku: 125 × 1.25 + 100 × 5 = 656.25 µ$
    assert.equal(estimate.model, 'gpt-4o');
    assert.equal(estimate.usd, 0.0013125);
    const tokens = worstCaseEstimate({ messages: [user('x')] }, ['claude-haiku-4-5', 'gpt-4o'], prices);
    assert.equal(tokens.model, 'claude-haiku-4-5');
    assert.equal(tokens.tokens, 26 + 64_000); // 16 + 8 + ceil(5 / 4) input
  });

  it('an embeddings request has no output', () => {
    const estimate = worstCaseEstimate({ model: 'text-embedding-3-small', input: ['abcd', 'efgh'] }, [], prices);
    assert.deepEqual(estimate, { picoUsd: 360_000, usd: 3.6e-7, tokens: 18, inputTokens: 18, model: 'text-embedding-3-small' });
  });
});
