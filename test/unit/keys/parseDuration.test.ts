import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../../../bin/cli/parseDuration';

describe('parseDuration', () => {
  it('reads weeks, days, hours, minutes and seconds, alone or combined', () => {
    assert.equal(parseDuration('90s'), 90);
    assert.equal(parseDuration('15m'), 900);
    assert.equal(parseDuration('1h'), 3_600);
    assert.equal(parseDuration('30d'), 2_592_000);
    assert.equal(parseDuration('2w'), 1_209_600);
    assert.equal(parseDuration('1h30m'), 5_400);
    assert.equal(parseDuration('0'), 0);
  });

  it('refuses bare numbers, unknown units and junk', () => {
    for (const text of ['30', '00', '1y', 'h', '1.5h', '-1h', '', '1h-30m', '1h 30m']) {
      assert.equal(parseDuration(text), undefined, text);
    }
  });
});
