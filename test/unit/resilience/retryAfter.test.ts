import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration, parseRetryAfter } from '../../../shared/resilience';

const NOW = Date.parse('2026-11-23T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter({ 'retry-after': '7' }, NOW), 7_000);
    assert.equal(parseRetryAfter({ 'retry-after': ' 0 ' }, NOW), 0);
    assert.equal(parseRetryAfter({ 'retry-after': '1.5' }, NOW), 1_500);
  });

  it('reads an HTTP-date relative to the injected now', () => {
    assert.equal(parseRetryAfter({ 'retry-after': 'Mon, 23 Nov 2026 12:00:30 GMT' }, NOW), 30_000);
  });

  it('treats a date in the past as no wait', () => {
    assert.equal(parseRetryAfter({ 'retry-after': 'Mon, 23 Nov 2026 11:00:00 GMT' }, NOW), 0);
  });

  it('prefers retry-after-ms', () => {
    assert.equal(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '10' }, NOW), 250);
  });

  it('ignores garbage instead of guessing', () => {
    for (const value of ['soon', '-5', '5 apples', '', 'NaN', '1e3', '12:00']) {
      assert.equal(parseRetryAfter({ 'retry-after': value }, NOW), undefined, `"${value}"`);
    }
    assert.equal(parseRetryAfter({ 'retry-after-ms': 'later' }, NOW), undefined);
  });

  it('says nothing when no header is there', () => {
    assert.equal(parseRetryAfter({}, NOW), undefined);
  });

  it("uses OpenAI's reset header of the exhausted limit", () => {
    const headers = {
      'x-ratelimit-remaining-requests': '10',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '6m0s',
    };
    assert.equal(parseRetryAfter(headers, NOW), 360_000);
  });

  it("uses Anthropic's RFC 3339 reset timestamps", () => {
    const headers = {
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': '2026-11-23T12:00:04Z',
    };
    assert.equal(parseRetryAfter(headers, NOW), 4_000);
  });

  it('a garbage retry-after falls through to the reset headers', () => {
    const headers = { 'retry-after': 'soon', 'x-ratelimit-reset-requests': '20ms' };
    assert.equal(parseRetryAfter(headers, NOW), 20);
  });
});

describe('parseGoDuration', () => {
  it('parses compound durations', () => {
    assert.equal(parseGoDuration('1h2m3.5s'), 3_723_500);
    assert.equal(parseGoDuration('20ms'), 20);
    assert.equal(parseGoDuration('6m0s'), 360_000);
  });
  it('rejects what is not a duration', () => {
    assert.equal(parseGoDuration('6 minutes'), undefined);
    assert.equal(parseGoDuration('2026-11-23T12:00:04Z'), undefined);
  });
});
