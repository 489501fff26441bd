import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { cacheKey, canonicalJson } from '../../../shared/cache';

const body = {
  model: 'gpt-4o-mini',
  temperature: 0,
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is 2+2?' },
  ],
};
const base = { tenant: 'acme', route: 'default', operation: 'chat', body };

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    assert.equal(canonicalJson([2, 1]), '[2,1]');
    assert.equal(canonicalJson('x'), '"x"');
  });
});

describe('cacheKey', () => {
  it('is cache#<tenant>#<route>#<sha256 of the canonical request>', () => {
    const expected = createHash('sha256')
      .update(canonicalJson({ operation: 'chat', body }))
      .digest('hex');
    assert.equal(cacheKey(base), `cache#acme#default#${expected}`);
    assert.match(cacheKey(base), /^cache#acme#default#[0-9a-f]{64}$/);
  });

  it('does not depend on key order, at any depth', () => {
    const reordered = {
      messages: [
        { content: 'Be brief.', role: 'system' },
        { content: 'What is 2+2?', role: 'user' },
      ],
      temperature: 0,
      model: 'gpt-4o-mini',
    };
    assert.equal(cacheKey({ ...base, body: reordered }), cacheKey(base));
  });

  it('ignores user, stream, metadata and the other fields that never change the answer', () => {
    const noisy = {
      ...body,
      user: 'end-user-42',
      safety_identifier: 'h',
      stream: false,
      stream_options: { include_usage: true },
      metadata: { trace: 'x' },
      store: true,
      prompt_cache_key: 'p',
      request_id: 'req-1',
      idempotency_key: 'k',
      timestamp: 1_700_000_000,
      created: 1_700_000_000,
    };
    assert.equal(cacheKey({ ...base, body: noisy }), cacheKey(base));
  });

  it('differs for a different message, parameter, or message order', () => {
    const key = cacheKey(base);
    const otherMessage = { ...body, messages: [body.messages[0], { role: 'user', content: 'What is 3+3?' }] };
    assert.notEqual(cacheKey({ ...base, body: otherMessage }), key);
    assert.notEqual(cacheKey({ ...base, body: { ...body, temperature: 1 } }), key);
    assert.notEqual(cacheKey({ ...base, body: { ...body, messages: [...body.messages].reverse() } }), key);
    // `user` is only ignored at the top level: a message's `name` changes the answer.
    const named = { ...body, messages: [body.messages[0], { role: 'user', content: 'What is 2+2?', name: 'bob' }] };
    assert.notEqual(cacheKey({ ...base, body: named }), key);
  });

  it('is scoped by tenant, route and operation', () => {
    const key = cacheKey(base);
    assert.notEqual(cacheKey({ ...base, tenant: 'globex' }), key);
    assert.notEqual(cacheKey({ ...base, route: 'cheap' }), key);
    assert.notEqual(cacheKey({ ...base, operation: 'embeddings' }), key);
  });

  it('cannot be made to collide by a # in a tenant or route name', () => {
    const a = cacheKey({ ...base, tenant: 'a#b', route: 'c' });
    const b = cacheKey({ ...base, tenant: 'a', route: 'b#c' });
    assert.notEqual(a, b);
    assert.ok(a.startsWith('cache#a%23b#c#'), a);
    assert.ok(b.startsWith('cache#a#b%23c#'), b);
  });
});
