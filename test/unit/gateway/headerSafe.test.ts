import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerSafe } from '../../../shared/gateway/headerSafe';

describe('headerSafe', () => {
  it('leaves visible ASCII (but %) as it is', () => {
    assert.equal(headerSafe('openai/gpt-4o-mini'), 'openai/gpt-4o-mini');
    assert.equal(headerSafe('bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0'), 'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0');
  });

  it('percent-encodes everything else as UTF-8, reversibly, and writes as a valid header value', () => {
    for (const value of ['モデル', 'é', '😀', 'a b', '50%', 'line\nbreak', 'nul\u0000', 'del\u007f', 'zero\u200bwidth']) {
      const safe = headerSafe(value);
      assert.match(safe, /^[\x21-\x7e]+$/, `${JSON.stringify(value)} -> ${safe}`);
      assert.equal(decodeURIComponent(safe), value);
      assert.doesNotThrow(() => new Headers({ 'x-test': safe }));
    }
  });

  it('a lone surrogate becomes U+FFFD instead of throwing', () => {
    assert.equal(headerSafe('a\ud800b'), 'a%EF%BF%BDb');
  });
});
