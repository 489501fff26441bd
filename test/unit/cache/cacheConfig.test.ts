import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheConfigSchema } from '../../../shared/cache';

describe('cacheConfigSchema', () => {
  it("reads Portkey's simple cache object", () => {
    assert.deepEqual(cacheConfigSchema.parse({ mode: 'simple', max_age: 3600 }), { mode: 'simple', max_age: 3600 });
    assert.deepEqual(cacheConfigSchema.parse({ mode: 'simple', max_age: 60 }), { mode: 'simple', max_age: 60 });
  });

  it('defaults max_age to an hour', () => {
    assert.deepEqual(cacheConfigSchema.parse({ mode: 'simple' }), { mode: 'simple', max_age: 3600 });
  });

  it('refuses semantic mode with a message that says so', () => {
    const result = cacheConfigSchema.safeParse({ mode: 'semantic', max_age: 60 });
    assert.equal(result.success, false);
    assert.match(result.error?.issues[0]?.message ?? '', /semantic caching is not supported/);
  });

  it('refuses a non-positive or fractional max_age and unknown fields', () => {
    for (const bad of [
      { mode: 'simple', max_age: 0 },
      { mode: 'simple', max_age: -1 },
      { mode: 'simple', max_age: 1.5 },
      { mode: 'simple', max_age: '3600' },
      { mode: 'simple', max_age: 60, ttl: 5 },
      {},
    ]) {
      assert.equal(cacheConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
