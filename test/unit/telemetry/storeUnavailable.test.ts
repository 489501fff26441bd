import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetPolicySchema, PriceTable, pricesSchema, SpendGuard } from '../../../shared/budget';
import { fakeClock } from '../../support/fakeClock';
import { MemoryLedger, recordingLogger } from '../budget/memoryLedger';
import { captureEmf, dimensionSetsOf, enabledMetrics, metricNamesOf } from './emfCapture';

describe('StoreUnavailable where no error tells the request metrics', () => {
  it('a spend store down under budget_fail_open: the request is served, and the outage counted with store=spend', async () => {
    const saved = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const emf = captureEmf();
    try {
      const ledger = new MemoryLedger();
      ledger.down = new Error('unreachable');
      const prices = new PriceTable({ overrides: pricesSchema.parse({ 'test-model': { input: 0, output: 10, cache_read: 0, cache_write: 0 } }) });
      const guard = new SpendGuard({ ledger, prices, clock: fakeClock(Date.UTC(2025, 2, 14)), logger: recordingLogger(), metrics: enabledMetrics() });
      const body = { model: 'test-model', messages: [{ role: 'user', content: 'hello' }], max_tokens: 100 };

      const reservation = await guard.reserve({ tenant: 'acme', policy: budgetPolicySchema.parse({ daily_budget_usd: 1, budget_fail_open: true }), candidateModels: ['test-model'], body });

      assert.ok(reservation, 'served uncapped');
    } finally {
      emf.restore();
      if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
      else process.env.POWERTOOLS_METRICS_DISABLED = saved;
    }
    const lines = emf.lines.filter((line) => metricNamesOf(line).includes('StoreUnavailable'));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.store, 'spend');
    assert.deepEqual(dimensionSetsOf(lines[0]!), ['service', 'service,store']);
  });
});
