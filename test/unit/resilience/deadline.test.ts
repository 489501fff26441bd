import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deadline, requestBudgetMs } from '../../../shared/resilience';
import { fakeClock } from '../../support/fakeClock';

describe('requestBudgetMs', () => {
  it('keeps a margin back from Lambda’s remaining time', () => {
    assert.equal(requestBudgetMs({ lambdaRemainingMs: 10_000, marginMs: 1_000, maxRequestMs: 27_000 }), 9_000);
  });
  it('never exceeds the configured maximum', () => {
    assert.equal(requestBudgetMs({ lambdaRemainingMs: 900_000, marginMs: 1_000, maxRequestMs: 27_000 }), 27_000);
  });
  it('uses the maximum outside Lambda and never goes negative', () => {
    assert.equal(requestBudgetMs({ marginMs: 1_000, maxRequestMs: 5_000 }), 5_000);
    assert.equal(requestBudgetMs({ lambdaRemainingMs: 500, marginMs: 1_000, maxRequestMs: 5_000 }), 0);
  });
});

describe('Deadline', () => {
  it('counts down with the clock and expires', () => {
    const clock = fakeClock();
    const deadline = Deadline.after(clock, 1_000);
    clock.advance(400);
    assert.equal(deadline.remainingMs(), 600);
    assert.equal(deadline.expired, false);
    clock.advance(600);
    assert.equal(deadline.expired, true);
    clock.advance(5);
    assert.equal(deadline.remainingMs(), 0);
  });
});
