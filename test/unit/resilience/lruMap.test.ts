import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientRetryAfterSeconds, LruMap, RetryBudgets, systemClock } from '../../../shared/resilience';

describe('LruMap', () => {
  it('keeps at most maxEntries, dropping the least recently used', () => {
    const map = new LruMap<string, number>(3);
    map.set('a', 1).set('b', 2).set('c', 3);
    assert.equal(map.get('a'), 1, 'a is now the most recently used');
    map.set('d', 4);
    assert.equal(map.size, 3);
    assert.equal(map.has('b'), false, 'b was the least recently used');
    assert.deepEqual(['a', 'c', 'd'].map((key) => map.peek(key)), [1, 3, 4]);
  });

  it('peek does not refresh; getOrCreate creates once', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    map.peek('a');
    map.set('c', 3);
    assert.equal(map.has('a'), false);
    let created = 0;
    assert.equal(map.getOrCreate('x', () => ++created), 1);
    assert.equal(map.getOrCreate('x', () => ++created), 1);
    assert.equal(created, 1);
  });

  it('refuses a cap that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new LruMap(bad), RangeError);
  });
});

describe('RetryBudgets', () => {
  it('holds at most maxTargets budgets; a dropped one starts afresh', () => {
    const budgets = new RetryBudgets(systemClock, undefined, 10);
    for (let i = 0; i < 1_000; i++) budgets.for(`target-${i}`).recordCall();
    assert.equal(budgets.size, 10);
  });
});

describe('clientRetryAfterSeconds', () => {
  it('whole seconds, at least 1, at most the cap; a non-finite wait is the cap', () => {
    assert.equal(clientRetryAfterSeconds(7_000, 300_000), 7);
    assert.equal(clientRetryAfterSeconds(1, 300_000), 1);
    assert.equal(clientRetryAfterSeconds(0, 300_000), 1);
    assert.equal(clientRetryAfterSeconds(1_500, 300_000), 2);
    assert.equal(clientRetryAfterSeconds(99_999_000, 300_000), 300);
    assert.equal(clientRetryAfterSeconds(Number.POSITIVE_INFINITY, 60_000), 60);
    assert.equal(clientRetryAfterSeconds(Number.NaN, 60_000), 60);
  });
});
