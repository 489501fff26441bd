import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetWindows } from '../../../shared/budget';

describe('budgetWindows', () => {
  it('names the UTC month, day and hour, and resets at the next boundary', () => {
    const now = Date.UTC(2025, 0, 31, 23, 59, 30);
    assert.deepEqual(budgetWindows(now), {
      month: '2025-01',
      day: '31',
      hour: '2025-01-31T23',
      resetsInSeconds: { hour: 30, day: 30, month: 30 },
      spendExpiresAt: Date.UTC(2025, 1, 1) / 1000 + 35 * 86_400,
      tokensExpiresAt: Date.UTC(2025, 1, 3) / 1000,
    });
  });

  it('rounds partial seconds up and knows leap days', () => {
    const windows = budgetWindows(Date.UTC(2024, 1, 29, 12, 0, 0, 500));
    assert.equal(windows.day, '29');
    assert.deepEqual(windows.resetsInSeconds, { hour: 3_600, day: 43_200, month: 43_200 });
  });

  it('never says retry in 0 s', () => {
    assert.deepEqual(budgetWindows(Date.UTC(2025, 5, 1, 0, 0, 0) - 1).resetsInSeconds, { hour: 1, day: 1, month: 1 });
  });
});
