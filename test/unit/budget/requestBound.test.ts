import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitToBudget, maxImageTokens, PriceTable, pricesSchema, worstCaseEstimate } from '../../../shared/budget';
import { ANTHROPIC_NATIVE_FIELD } from '../../../shared/providers/anthropicNative';

/*
 * Every expected figure below is worked out by hand from the providers' published rules and the
 * JSON text of the body (byte counts noted beside each), not with the code under test.
 */
const prices = new PriceTable();

describe('maxImageTokens: the most one image can cost, per model family', () => {
  it('follows each family\'s published rule, the more specific names first', () => {
    const cases: Array<[string, number]> = [
      ['gpt-4o-mini', 2_833 + 8 * 5_667], // 8 tiles at most (768 × 2048), 2,833 + 5,667 a tile
      ['gpt-4o-mini-2024-07-18', 48_169],
      ['gpt-4o', 85 + 8 * 170],
      ['gpt-4.1', 1_445],
      ['gpt-4.1-mini', 2_489], // 1,536 patches × 1.62, rounded up
      ['gpt-4.1-nano', 3_779], // 1,536 × 2.46
      ['o4-mini', 2_642], // 1,536 × 1.72
      ['o3', 75 + 8 * 150],
      ['gpt-5', 70 + 8 * 140],
      ['claude-sonnet-4-5', 3_279], // 1,568 × 1,568 / 750, rounded up
      ['us.anthropic.claude-3-5-haiku-20241022-v1:0', 3_279],
    ];
    for (const [model, tokens] of cases) assert.equal(maxImageTokens(model), tokens, model);
  });

  it('an unknown family is counted at the dearest rule known', () => {
    assert.equal(maxImageTokens('meta.llama3-2-90b-instruct-v1:0'), 48_169);
    assert.equal(maxImageTokens('my-azure-deployment'), 48_169);
  });
});

describe('worstCaseEstimate: an upper bound of what the upstream can bill', () => {
  // 215 bytes as JSON once the image part is left out (it becomes `null`):
  // {"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},null]}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],"max_tokens":100}
  const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
  const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(50_000)}`, detail: 'high' } };
  const withImage = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] }],
    tools,
    max_tokens: 100,
  };

  it('input: the JSON bytes, every image at its family\'s maximum (never its base64 bytes), the tool-use prompt, and overheads', () => {
    const bound = worstCaseEstimate(withImage, ['gpt-4o-mini'], prices);
    // 16 per request + 8 per message + 1,000 tool-use prompt + 48,169 image + 215 bytes.
    assert.equal(bound.inputTokens, 16 + 8 + 1_000 + 48_169 + 215);
    // $0.15 per million input (cache writes cost the same), $0.60 output: 49,408 × 0.15 + 100 × 0.6 µ$.
    assert.equal(bound.picoUsd, 49_408 * 150_000 + 100 * 600_000);
    assert.equal(bound.usd, 0.0074712);
    assert.equal(bound.tokens, 49_408 + 100);
  });

  it('over a route\'s candidates the dearest sets the price and each its own image bound', () => {
    const bound = worstCaseEstimate(withImage, ['gpt-4o-mini', 'gpt-4o'], prices);
    // gpt-4o: (16 + 8 + 1,000 + 1,445 + 215) × $2.50 + 100 × $10 per million = 6,710 + 1,000 µ$.
    assert.equal(bound.model, 'gpt-4o');
    assert.equal(bound.usd, 0.00771);
    assert.deepEqual(
      bound.candidates.map(({ model, inputTokens, outputTokens }) => [model, inputTokens, outputTokens]),
      [
        ['gpt-4o-mini', 49_408, 100],
        ['gpt-4o', 2_684, 100],
      ],
    );
    assert.equal(bound.tokens, 49_508, 'the most tokens of any candidate');
  });

  it('output: the smallest of the client\'s limit, the target\'s override_params, and the model\'s ceiling', () => {
    // {"model":"m","messages":[{"role":"user","content":"héllo"}]}: 61 bytes (é is two).
    const body = { model: 'm', messages: [{ role: 'user', content: 'héllo' }] };
    const candidates = [
      // {"model":"claude-haiku-4-5","max_tokens":50}: 44 more bytes sent to this target.
      { model: 'claude-haiku-4-5', overrideParams: { model: 'claude-haiku-4-5', max_tokens: 50 } },
      { model: 'claude-sonnet-4-5', defaultOutputTokens: 4_096 },
      'gpt-4o',
    ];
    const rows = (b: Record<string, unknown>) =>
      worstCaseEstimate(b, candidates, prices).candidates.map(({ model, inputTokens, outputTokens }) => [model, inputTokens, outputTokens]);

    assert.deepEqual(rows(body), [
      ['claude-haiku-4-5', 16 + 8 + 61 + 44, 50],
      ['claude-sonnet-4-5', 16 + 8 + 61, 4_096], // nothing named a limit: the provider's default
      ['gpt-4o', 85, 16_384], // nothing named a limit: the model's ceiling
    ]);
    // + ,"max_tokens":100 = 78 bytes.
    assert.deepEqual(rows({ ...body, max_tokens: 100 }), [
      ['claude-haiku-4-5', 16 + 8 + 78 + 44, 50],
      ['claude-sonnet-4-5', 102, 100],
      ['gpt-4o', 102, 100],
    ]);
    // Both fields named: the smaller holds (the gateway sends it in both).
    const both = worstCaseEstimate({ ...body, max_tokens: 100, max_completion_tokens: 80 }, ['gpt-4o'], prices);
    assert.equal(both.candidates[0]!.outputTokens, 80);
    // An unknown model has a conservative ceiling of 4,096.
    assert.equal(worstCaseEstimate(body, ['who-knows'], prices).candidates[0]!.outputTokens, 4_096);
  });

  it('n choices multiply the output, not the input', () => {
    // {"model":"m","messages":[{"role":"user","content":"héllo"}],"max_tokens":100,"n":3}: 84 bytes.
    const bound = worstCaseEstimate({ model: 'm', messages: [{ role: 'user', content: 'héllo' }], max_tokens: 100, n: 3 }, ['gpt-4o'], prices);
    assert.equal(bound.tokens, 16 + 8 + 84 + 3 * 100);
    assert.equal(bound.picoUsd, 108 * 2_500_000 + 300 * 10_000_000);
  });

  it('a Messages-door body is bounded by the dearer of its two forms, not their sum', () => {
    const native = { body: { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }], max_tokens: 10 } };
    const body = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], [ANTHROPIC_NATIVE_FIELD]: native };
    // Chat form: 16 + 8 + 73 bytes = 97. Native form: 16 + 8 + 3,279 (one image) + 63 bytes = 3,366.
    assert.equal(worstCaseEstimate(body, ['claude-sonnet-4-5'], prices).inputTokens, 3_366);
  });

  it('embeddings: the bytes of the input, and no output', () => {
    // {"model":"text-embedding-3-small","input":["abcd","efgh"]}: 58 bytes, + 16 per request.
    const bound = worstCaseEstimate({ model: 'text-embedding-3-small', input: ['abcd', 'efgh'] }, [], prices);
    assert.equal(bound.inputTokens, 74);
    assert.equal(bound.tokens, 74);
    assert.equal(bound.picoUsd, 74 * 20_000);
  });
});

describe('fitToBudget: the output cut to the room a budget has left', () => {
  // Input free, output $10 per million: 10,000,000 picodollars a token.
  const table = new PriceTable({ overrides: pricesSchema.parse({ 'out-only': { input: 0, output: 10, cache_read: 0, cache_write: 0 } }) });
  const ask = (maxTokens: number) => worstCaseEstimate({ messages: [{ role: 'user', content: 'x' }], max_tokens: maxTokens }, ['out-only'], table);

  it('cuts the output to what the room pays for', () => {
    const fitted = fitToBudget(ask(3_000), 10_000_000_000); // $0.01
    assert.equal(fitted?.candidates[0]?.outputTokens, 1_000);
    assert.equal(fitted?.picoUsd, 10_000_000_000);
  });

  it('leaves a bound that fits as it is', () => {
    assert.equal(fitToBudget(ask(100), 10_000_000_000)?.candidates[0]?.outputTokens, 100);
  });

  it('refuses to cut below 256 tokens, or below the client\'s own smaller limit', () => {
    assert.equal(fitToBudget(ask(3_000), 2_550_000_000), undefined, '255 tokens');
    assert.equal(fitToBudget(ask(3_000), 2_560_000_000)?.candidates[0]?.outputTokens, 256);
    assert.equal(fitToBudget(ask(100), 990_000_000), undefined, '99 of the 100 asked for');
  });

  it('refuses when the room does not even pay for the input', () => {
    const dear = new PriceTable({ overrides: pricesSchema.parse({ dear: { input: 1_000, output: 0, cache_read: 1_000, cache_write: 1_000 } }) });
    // {"messages":[{"role":"user","content":"x"}],"max_tokens":10}: 60 bytes → 84 tokens at $0.001.
    const bound = worstCaseEstimate({ messages: [{ role: 'user', content: 'x' }], max_tokens: 10 }, ['dear'], dear);
    assert.equal(bound.inputTokens, 84);
    assert.equal(fitToBudget(bound, 83_000_000_000), undefined);
    assert.equal(fitToBudget(bound, 84_000_000_000)?.candidates[0]?.outputTokens, 10);
  });
});
