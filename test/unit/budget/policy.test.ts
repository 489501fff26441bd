import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { budgetPolicySchema, endUserOf, needsLedger } from '../../../shared/budget';

describe('budgetPolicySchema', () => {
  it('defaults to failing closed and leaves every cap unset', () => {
    assert.deepEqual(budgetPolicySchema.parse({}), { budget_fail_open: false });
  });

  it('merges into a tenant schema as a fragment', () => {
    const tenant = z.strictObject({ route: z.string() }).extend(budgetPolicySchema.shape);
    assert.deepEqual(tenant.parse({ route: 'default', daily_budget_usd: 5, user_hourly_token_limit: 1000 }), {
      route: 'default',
      daily_budget_usd: 5,
      user_hourly_token_limit: 1000,
      budget_fail_open: false,
    });
  });

  it('rejects caps that are not positive, and fractional token limits', () => {
    for (const fields of [{ daily_budget_usd: 0 }, { monthly_budget_usd: -1 }, { user_hourly_token_limit: 1.5 }, { budget: 1 }]) {
      assert.equal(budgetPolicySchema.safeParse(fields).success, false, JSON.stringify(fields));
    }
  });

  it('needs the ledger only for daily, monthly, or (with an end user) token caps', () => {
    assert.equal(needsLedger({ max_request_cost_usd: 1 }, 'u'), false);
    assert.equal(needsLedger({ user_hourly_token_limit: 10 }, undefined), false);
    assert.equal(needsLedger({ user_hourly_token_limit: 10 }, 'u'), true);
    assert.equal(needsLedger({ monthly_budget_usd: 10 }, undefined), true);
  });
});

describe('endUserOf', () => {
  it('prefers the x-breakwater-user header, then the body\'s user field', () => {
    assert.equal(endUserOf({ user: 'from-body' }, { 'x-breakwater-user': ' from-header ' }), 'from-header');
    assert.equal(endUserOf({ user: 'from-body' }, {}), 'from-body');
    assert.equal(endUserOf({ user: '  ' }, { 'x-breakwater-user': '' }), undefined);
    assert.equal(endUserOf({ user: 42 }, {}), undefined);
  });
});
