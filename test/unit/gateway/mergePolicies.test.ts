import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergePolicies } from '../../../shared/gateway';

describe('mergePolicies', () => {
  it('a key narrows every limit and never raises one; spend caps stay the tenant’s (the key’s have their own ledger)', () => {
    const merged = mergePolicies(
      { rpm_limit: 10, daily_budget_usd: 5, max_request_cost_usd: 1 },
      { rpm_limit: 100, daily_budget_usd: 2, tpm_limit: 1_000 },
    );
    assert.deepEqual(merged, { rpm_limit: 10, daily_budget_usd: 5, max_request_cost_usd: 1, tpm_limit: 1_000, input_screening: 'off', budget_fail_open: false, callback_allow_private: false });
  });

  it('allow-lists intersect; a list on one side only is kept', () => {
    const merged = mergePolicies({ allowed_models: ['a', 'b'] }, { allowed_models: ['b', 'c'], allowed_routes: ['r'] });
    assert.deepEqual(merged.allowed_models, ['b']);
    assert.deepEqual(merged.allowed_routes, ['r']);
  });

  it('screening takes the stricter; permissive switches need both sides', () => {
    assert.equal(mergePolicies({ input_screening: 'block' }, { input_screening: 'off' }).input_screening, 'block');
    assert.equal(mergePolicies({ input_screening: 'off' }, { input_screening: 'flag' }).input_screening, 'flag');
    assert.equal(mergePolicies({}, { budget_fail_open: true }).budget_fail_open, false);
    assert.equal(mergePolicies({ budget_fail_open: true }, {}).budget_fail_open, true);
    assert.equal(mergePolicies({ callback_allow_private: true }, { callback_allow_private: false }).callback_allow_private, false);
  });

  it("a key's own credential overrides win (bring your own key)", () => {
    const merged = mergePolicies({ credential_overrides: { openai: 'tenant/openai' } }, { credential_overrides: { openai: 'key/openai' } });
    assert.deepEqual(merged.credential_overrides, { openai: 'key/openai' });
  });
});
