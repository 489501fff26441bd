import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backoffVisibilitySeconds,
  clampVisibilitySeconds,
  delayVisibilitySeconds,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
} from '../../../shared/queue';
import { scriptedRandom } from '../../support/fakeClock';

const options = { baseSeconds: 5, capSeconds: 900 };

describe('backoffVisibilitySeconds', () => {
  it('draws from [0, min(cap, base * 2^(receiveCount - 1))) for every receive count', () => {
    for (let receiveCount = 1; receiveCount <= 12; receiveCount++) {
      const ceiling = Math.min(900, 5 * 2 ** (receiveCount - 1));
      assert.equal(backoffVisibilitySeconds(receiveCount, options, () => 0), 0, `receive ${receiveCount}, draw 0`);
      assert.equal(backoffVisibilitySeconds(receiveCount, options, () => 0.5), Math.floor(ceiling / 2), `receive ${receiveCount}, draw 0.5`);
      assert.equal(backoffVisibilitySeconds(receiveCount, options, () => 0.999_999), ceiling - 1, `receive ${receiveCount}, top draw`);
    }
  });

  it('spreads one receive count over its whole range with the injected draws', () => {
    const random = scriptedRandom(0.1, 0.3, 0.6, 0.9);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => backoffVisibilitySeconds(4, options, random)),
      [4, 12, 24, 36], // ceiling 40 s on the fourth receive
    );
  });

  it('never exceeds the cap, nor SQS 12 h, even for absurd settings and receive counts', () => {
    assert.equal(backoffVisibilitySeconds(10_000, options, () => 0.999_999), 899);
    assert.equal(backoffVisibilitySeconds(60, { baseSeconds: 10, capSeconds: 10 ** 9 }, () => 0.999_999), MAX_VISIBILITY_TIMEOUT_SECONDS);
  });

  it('leaves room for the time the message was already held since its receive', () => {
    assert.equal(backoffVisibilitySeconds(60, { baseSeconds: 10, capSeconds: 10 ** 9 }, () => 0.999_999, 600), 43_200 - 600);
  });

  it('treats a missing or zero receive count as the first receive', () => {
    assert.equal(backoffVisibilitySeconds(0, options, () => 0.999_999), 4);
  });
});

describe('delayVisibilitySeconds', () => {
  it('rounds a delay up to whole seconds within SQS bounds', () => {
    assert.equal(delayVisibilitySeconds(0), 0);
    assert.equal(delayVisibilitySeconds(1), 1);
    assert.equal(delayVisibilitySeconds(29_001), 30);
    assert.equal(delayVisibilitySeconds(-5), 0);
    assert.equal(delayVisibilitySeconds(13 * 3_600_000), 43_200);
    assert.equal(clampVisibilitySeconds(100, 43_199.5), 0);
  });
});
