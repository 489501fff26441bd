import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget, RetryBudgets } from '../../../shared/resilience';
import { fakeClock } from '../../support/fakeClock';

const options = { ratio: 0.1, minRetriesPerWindow: 2, windowMs: 10_000 };

function drain(budget: RetryBudget): number {
  let granted = 0;
  while (budget.tryAcquireRetry()) granted += 1;
  return granted;
}

describe('RetryBudget', () => {
  it('allows the floor of retries with no traffic at all', () => {
    const budget = new RetryBudget(fakeClock(), options);
    assert.equal(drain(budget), 2);
  });

  it('allows about 10% of calls on top of the floor, so a dying upstream sees no retry storm', () => {
    const budget = new RetryBudget(fakeClock(), options);
    for (let i = 0; i < 100; i++) budget.recordCall();
    assert.equal(drain(budget), 12);
  });

  it('refills as the window slides past old retries', () => {
    const clock = fakeClock();
    const budget = new RetryBudget(clock, options);
    assert.equal(drain(budget), 2);
    clock.advance(5_000);
    assert.equal(budget.tryAcquireRetry(), false, 'the old retries are still inside the window');
    clock.advance(5_001);
    assert.equal(drain(budget), 2);
  });

  it('keeps separate budgets per target', () => {
    const budgets = new RetryBudgets(fakeClock(), options);
    assert.equal(drain(budgets.for('a')), 2);
    assert.equal(budgets.for('b').tryAcquireRetry(), true);
    assert.equal(budgets.for('a'), budgets.for('a'));
  });
});
