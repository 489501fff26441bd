import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUILT_IN_PRICES,
  costInPicoUsd,
  costOf,
  FALLBACK_PRICE,
  normalizeAnthropicUsage,
  normalizeBedrockUsage,
  normalizeGatewayUsage,
  normalizeOpenAiUsage,
  picoToLedgerMicros,
  PriceTable,
  pricesSchema,
  usdToMicros,
} from '../../../shared/budget';
import { toOpenAiUsage } from '../../../shared/providers/anthropicTranslation';
import { recordingLogger } from './memoryLedger';

const prices = new PriceTable();

describe('costOf', () => {
  // 25 × $3 + 1000 × $0.30 + 300 × $3.75 + 40 × $15 per million = 75 + 300 + 1125 + 600 µ$ = $0.0021
  const anthropicRaw = { input_tokens: 25, cache_read_input_tokens: 1000, cache_creation_input_tokens: 300, output_tokens: 40 };

  it('Anthropic on claude-sonnet-4-5 (3 / 15 / 0.3 / 3.75): $0.0021', () => {
    assert.equal(costOf(normalizeAnthropicUsage(anthropicRaw)!, prices.priceOf('claude-sonnet-4-5')), 0.0021);
  });

  it('the same answer through the anthropic adapter costs the same $0.0021', () => {
    assert.equal(costOf(normalizeGatewayUsage(toOpenAiUsage(anthropicRaw))!, prices.priceOf('claude-sonnet-4-5')), 0.0021);
  });

  it('OpenAI 1200 prompt (1000 cached) + 50 completion on gpt-4o-mini: $0.000135', () => {
    // 200 × $0.15 + 1000 × $0.075 + 50 × $0.60 per million = 30 + 75 + 30 µ$
    const usage = normalizeOpenAiUsage({ prompt_tokens: 1200, completion_tokens: 50, prompt_tokens_details: { cached_tokens: 1000 } })!;
    assert.equal(costOf(usage, prices.priceOf('gpt-4o-mini')), 0.000135);
    assert.equal(costInPicoUsd(usage, prices.priceOf('gpt-4o-mini')), 135_000_000);
  });

  it('Bedrock Converse 25 input + 1000 cache read + 300 cache write + 40 output on claude-sonnet-4-5: $0.0021', () => {
    const usage = normalizeBedrockUsage({ inputTokens: 25, cacheReadInputTokens: 1000, cacheWriteInputTokens: 300, outputTokens: 40, totalTokens: 1365 })!;
    assert.equal(costOf(usage, prices.priceOf('claude-sonnet-4-5')), 0.0021);
  });

  it('is exact where summing floating-point dollars drifts', () => {
    const usage = { input: 1, cacheRead: 0, cacheWrite: 0, output: 4 };
    const naive = (1 * 0.15) / 1e6 + (4 * 0.6) / 1e6;
    assert.notEqual(naive, 0.00000255); // 0.0000025499999999999997
    assert.equal(costOf(usage, prices.priceOf('gpt-4o-mini')), 0.00000255);
  });

  it('ledger microdollars round up, caps round to nearest', () => {
    assert.equal(picoToLedgerMicros(2_100_000_000), 2_100);
    assert.equal(picoToLedgerMicros(2_550_000), 3);
    assert.equal(picoToLedgerMicros(1), 1);
    assert.equal(picoToLedgerMicros(0), 0);
    assert.equal(usdToMicros(0.29), 290_000);
    assert.equal(usdToMicros(1), 1_000_000);
  });
});

describe('PriceTable', () => {
  it('config prices replace the built-in entry and keep its output ceiling', () => {
    const overrides = pricesSchema.parse({ 'gpt-4o': { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 } });
    const table = new PriceTable({ overrides });
    assert.deepEqual(table.priceOf('gpt-4o'), { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, max_output_tokens: 16_384 });
  });

  it('a config price without cache prices assumes no read discount and a 1.25 × write', () => {
    const table = new PriceTable({ overrides: pricesSchema.parse({ 'my-model': { input: 2, output: 6 } }) });
    assert.deepEqual(table.priceOf('my-model'), { input: 2, output: 6, cache_read: 2, cache_write: 2.5, max_output_tokens: 4_096 });
  });

  it('rejects a negative or unknown price field', () => {
    assert.equal(pricesSchema.safeParse({ m: { input: -1, output: 1 } }).success, false);
    assert.equal(pricesSchema.safeParse({ m: { input: 1, output: 1, cached: 1 } }).success, false);
  });

  it('dated snapshots are billed as their alias', () => {
    assert.equal(prices.priceOf('gpt-4o-mini-2024-07-18'), BUILT_IN_PRICES['gpt-4o-mini']);
    assert.equal(prices.priceOf('claude-sonnet-4-5-20250929'), BUILT_IN_PRICES['claude-sonnet-4-5']);
    assert.equal(prices.isKnown('gpt-4o-mini-realtime'), false);
  });

  it('an unknown model gets the conservative fallback, logged once', () => {
    const logger = recordingLogger();
    const table = new PriceTable({ logger });
    assert.equal(table.priceOf('mystery-1'), FALLBACK_PRICE);
    assert.equal(table.priceOf('mystery-1'), FALLBACK_PRICE);
    assert.equal(table.priceOf('mystery-2'), FALLBACK_PRICE);
    assert.deepEqual(
      logger.lines.map((line) => [line.level, line.attributes?.model]),
      [
        ['warn', 'mystery-1'],
        ['warn', 'mystery-2'],
      ],
    );
  });
});
