import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, type BackoffOptions } from '../../../shared/resilience';

const options = (mode: BackoffOptions['mode']): BackoffOptions => ({ mode, baseMs: 100, capMs: 1_000 });

describe('backoffDelay', () => {
  it('full jitter spans [0, base * 2^retry) and reaches neither bound outside it', () => {
    assert.equal(backoffDelay(0, options('full'), () => 0), 0);
    assert.equal(backoffDelay(0, options('full'), () => 0.5), 50);
    assert.equal(backoffDelay(2, options('full'), () => 0.5), 200); // ceiling 400
    assert.equal(backoffDelay(2, options('full'), () => 0.999), 399.6);
  });

  it('never exceeds the cap however many retries', () => {
    for (const mode of ['full', 'equal', 'decorrelated'] as const) {
      for (const retry of [5, 10, 50, 1_000]) {
        assert.ok(backoffDelay(retry, options(mode), () => 0.9999, 10_000) <= 1_000, `${mode} retry ${retry}`);
      }
    }
    assert.equal(backoffDelay(1_000, options('full'), () => 0.5), 500);
  });

  it('equal jitter keeps half the ceiling as a floor', () => {
    assert.equal(backoffDelay(1, options('equal'), () => 0), 100); // ceiling 200
    assert.equal(backoffDelay(1, options('equal'), () => 0.5), 150);
    assert.equal(backoffDelay(1, options('equal'), () => 0.9999), 199.99);
  });

  it('decorrelated jitter draws between base and three times the previous delay', () => {
    assert.equal(backoffDelay(0, options('decorrelated'), () => 0), 100);
    assert.equal(backoffDelay(0, options('decorrelated'), () => 0.5), 200); // between 100 and 300
    assert.equal(backoffDelay(3, options('decorrelated'), () => 0.5, 200), 350); // between 100 and 600
    assert.equal(backoffDelay(3, options('decorrelated'), () => 1, 900), 1_000); // 2700 capped
  });

  it('spreads a fleet: 1,000 clients retrying at once do not retry in lockstep', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 1_000 }, () => backoffDelay(3, options('full'), random));
    const buckets = new Array(8).fill(0);
    for (const delay of delays) buckets[Math.floor(delay / 100)] += 1;
    // Ceiling 800 ms split into 100 ms buckets: each should hold ~125; none over 200.
    assert.ok(buckets.every((count) => count > 60 && count < 200), `uneven spread: ${buckets}`);
  });
});
