import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  normalizeAnthropicUsage,
  normalizeBedrockUsage,
  normalizeGatewayUsage,
  normalizeOpenAiUsage,
  totalTokens,
} from '../../../shared/budget';
import { toOpenAiUsage } from '../../../shared/providers/anthropicTranslation';

describe('usage normalisation', () => {
  it('OpenAI: cached tokens are taken out of prompt_tokens, no cache writes', () => {
    const usage = { prompt_tokens: 1200, completion_tokens: 50, total_tokens: 1250, prompt_tokens_details: { cached_tokens: 1000 } };
    assert.deepEqual(normalizeOpenAiUsage(usage), { input: 200, cacheRead: 1000, cacheWrite: 0, output: 50 });
  });

  it('OpenAI embeddings usage: prompt only', () => {
    assert.deepEqual(normalizeOpenAiUsage({ prompt_tokens: 8, total_tokens: 8 }), { input: 8, cacheRead: 0, cacheWrite: 0, output: 0 });
  });

  it('Anthropic: cache reads and writes sit beside input_tokens', () => {
    const usage = { input_tokens: 25, cache_read_input_tokens: 1000, cache_creation_input_tokens: 300, output_tokens: 40 };
    assert.deepEqual(normalizeAnthropicUsage(usage), { input: 25, cacheRead: 1000, cacheWrite: 300, output: 40 });
  });

  it('Bedrock Converse: the buckets are disjoint (AWS: total input = inputTokens + cacheRead + cacheWrite)', () => {
    const usage = { inputTokens: 25, cacheReadInputTokens: 1000, cacheWriteInputTokens: 300, outputTokens: 40, totalTokens: 1365 };
    assert.deepEqual(normalizeBedrockUsage(usage), { input: 25, cacheRead: 1000, cacheWrite: 300, output: 40 });
  });

  it('gateway usage from the anthropic adapter counts each cache token once', () => {
    const translated = toOpenAiUsage({ input_tokens: 25, cache_read_input_tokens: 1000, cache_creation_input_tokens: 300, output_tokens: 40 });
    assert.equal(translated.prompt_tokens, 1325);
    const normalized = normalizeGatewayUsage(translated);
    assert.deepEqual(normalized, { input: 25, cacheRead: 1000, cacheWrite: 300, output: 40 });
    assert.equal(totalTokens(normalized!), 1365);
  });

  it('gateway usage from an OpenAI answer is read as OpenAI usage', () => {
    const usage = { prompt_tokens: 1200, completion_tokens: 50, prompt_tokens_details: { cached_tokens: 1000 } };
    assert.deepEqual(normalizeGatewayUsage(usage), { input: 200, cacheRead: 1000, cacheWrite: 0, output: 50 });
  });

  it('inconsistent counts keep the larger reading rather than drop tokens', () => {
    assert.deepEqual(normalizeOpenAiUsage({ prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 30 } }), {
      input: 0,
      cacheRead: 30,
      cacheWrite: 0,
      output: 1,
    });
  });

  it('no usage at all is undefined, not zero', () => {
    for (const usage of [undefined, null, 'x', {}, { prompt_tokens: 'ten' }]) {
      assert.equal(normalizeGatewayUsage(usage), undefined);
      assert.equal(normalizeAnthropicUsage(usage), undefined);
      assert.equal(normalizeBedrockUsage(usage), undefined);
    }
  });
});
