import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CircuitBreakers, MAX_TRACKED_TARGETS, MemoryBreakerStore } from '../../../shared/breaker';
import { PriceTable } from '../../../shared/budget';
import { compileConfig } from '../../../shared/config';
import { CompletionService } from '../../../shared/gateway/CompletionService';
import type { Principal } from '../../../shared/gateway/Principal';
import { chatCompletionRequestSchema, MAX_MODEL_NAME_LENGTH } from '../../../shared/gateway/requestSchemas';
import type { ProviderAdapter } from '../../../shared/providers';
import { Deadline, MAX_RETRY_BUDGETS, RetryBudgets, systemClock, systemRandom } from '../../../shared/resilience';

/*
 * "Memory does not follow client-chosen names": 100,000 requests, each with its own model
 * name of the longest length validation lets through, on a route that passes the client's
 * model to its target (so every name is a new target key for breakers and retry budgets).
 * The per-target maps stay at their caps, and the heap after a full GC is where it was.
 */

const NAMES = 100_000;
/** What 100k names would hold if kept: ≥ 25 MB of key strings alone, several times that with state. */
const MAX_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;

/** `global.gc` without `--expose-gc` on the command line (the test runner starts this file). */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const answer = (model: string) => ({
  kind: 'success' as const,
  status: 200,
  headers: {},
  body: {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 0,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  },
});

describe('bounded memory under client-chosen model names', () => {
  it(`guarantee: ${NAMES.toLocaleString('en')} distinct ${MAX_MODEL_NAME_LENGTH}-character model names leave breakers and retry budgets at their caps, and the heap where it was`, async () => {
    const gc = exposeGc();
    const config = compileConfig({
      providers: { upstream: { type: 'openai', base_url: 'http://127.0.0.1:9/v1', credential: 'upstream' } },
      // No override model: the client's model is the target's.
      routes: { passthrough: { strategy: { mode: 'single' }, retry: { attempts: 0 }, targets: [{ provider: 'upstream' }] } },
      tenants: { acme: { route: 'passthrough', keys: ['bw_test_bounded_memory_01_xxxxxx'] } },
    });
    const breakerStore = new MemoryBreakerStore();
    const breakers = new CircuitBreakers({ store: breakerStore, clock: systemClock, logger: silent });
    const retryBudgets = new RetryBudgets(systemClock);
    let calls = 0;
    const adapter: ProviderAdapter = {
      call: async (request) => (calls++, answer(String(request.body.model))),
      stream: async () => assert.fail('not streamed'),
    };
    const service = new CompletionService({
      config,
      services: { breakers },
      prices: new PriceTable(),
      clock: systemClock,
      random: systemRandom,
      logger: silent as never,
      retryBudgets,
      adapterFor: () => adapter,
    });
    const tenant = config.tenants.get('acme')!;
    const principal: Principal = { tenant, keyPrefix: 'bw_test_bou', keyId: 'k', policy: tenant.policy };
    const padding = 'x'.repeat(MAX_MODEL_NAME_LENGTH - 12);
    const complete = (i: number) => {
      const body = chatCompletionRequestSchema.parse({
        model: `${padding}${String(i).padStart(12, '0')}`,
        messages: [{ role: 'user', content: 'hi' }],
      });
      return service.complete({ principal, routeName: 'passthrough', operation: 'chat', body, deadline: Deadline.after(systemClock, 60_000) });
    };

    // Warm up to the caps first, so the baseline already holds full maps and compiled code.
    for (let i = 0; i < MAX_TRACKED_TARGETS + 100; i++) await complete(i);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = MAX_TRACKED_TARGETS + 100; i < NAMES; i++) await complete(i);
    gc();
    const after = process.memoryUsage().heapUsed;

    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    console.log(
      `100k model names: heap ${mb(before)} -> ${mb(after)} (${mb(after - before)}); breakers tracked ${breakers.trackedTargets}, retry budgets ${retryBudgets.size}, in-container breaker records ${breakerStore.size}`,
    );
    assert.equal(calls, NAMES, 'every request was served');
    assert.equal(breakers.trackedTargets, MAX_TRACKED_TARGETS);
    assert.equal(retryBudgets.size, MAX_RETRY_BUDGETS);
    assert.ok(after - before < MAX_HEAP_GROWTH_BYTES, `the heap grew by ${mb(after - before)} over ${NAMES} names`);
  });

  it(`refuses a model name over ${MAX_MODEL_NAME_LENGTH} characters, or with control or invisible characters`, () => {
    const parse = (model: string) => chatCompletionRequestSchema.safeParse({ model, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(parse('m'.repeat(MAX_MODEL_NAME_LENGTH)).success, true);
    assert.equal(parse('m'.repeat(MAX_MODEL_NAME_LENGTH + 1)).success, false);
    assert.equal(parse('m'.repeat(1_000_000)).success, false);
    for (const bad of ['gpt\n4o', 'gpt\r\n', 'gpt\u00004o', 'gpt\u007f', 'gpt\u0085', 'gpt\u200b4o', 'gpt\u202e', 'gpt\u2028', '\ufeffgpt', 'gpt\ud800']) {
      assert.equal(parse(bad).success, false, JSON.stringify(bad));
    }
    for (const good of ['gpt-4o-mini', 'anthropic.claude-3-5-sonnet-20240620-v1:0', 'accounts/fireworks/models/llama-v3p1-8b', 'llama3:8b', 'modèle-été', '模型-1', 'ünïcødé model']) {
      assert.equal(parse(good).success, true, good);
    }
  });
});
