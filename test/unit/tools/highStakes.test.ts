import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchHighStakes } from '../../../shared/tools/highStakes';
import { splitPath } from '../../../shared/tools/pathPattern';
import type { HighStakesRule } from '../../../shared/tools/serviceConfig';

const rules: HighStakesRule[] = [
  { method: 'POST', path: '/v1/refunds', amount_field: 'amount', threshold: 10_000 },
  { method: 'DELETE', path: '/v1/customers/*' },
];
const input = (method: string, path: string, body?: unknown, contentType = 'application/json') => ({
  method,
  segments: splitPath(path),
  body: body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  contentType,
});

describe('matchHighStakes', () => {
  it('holds a matching method and path with no amount rule', () => {
    assert.equal(matchHighStakes(rules, input('DELETE', '/v1/customers/cus_1'))?.path, '/v1/customers/*');
    assert.equal(matchHighStakes(rules, input('GET', '/v1/customers/cus_1')), undefined);
  });

  it('holds a refund at or over the threshold, lets a smaller one through', () => {
    assert.ok(matchHighStakes(rules, input('POST', '/v1/refunds', { amount: 10_000 })));
    assert.ok(matchHighStakes(rules, input('POST', '/v1/refunds', { amount: 250_000 })));
    assert.equal(matchHighStakes(rules, input('POST', '/v1/refunds', { amount: 9_999 })), undefined);
  });

  it('reads the amount from a form body (Stripe sends forms)', () => {
    assert.ok(matchHighStakes(rules, input('POST', '/v1/refunds', 'charge=ch_1&amount=20000', 'application/x-www-form-urlencoded')));
    assert.equal(matchHighStakes(rules, input('POST', '/v1/refunds', 'charge=ch_1&amount=500', 'application/x-www-form-urlencoded')), undefined);
  });

  it('reads a nested dot path', () => {
    const nested: HighStakesRule[] = [{ method: 'POST', path: '/pay', amount_field: 'payment.total', threshold: 100 }];
    assert.ok(matchHighStakes(nested, input('POST', '/pay', { payment: { total: 150 } })));
    assert.equal(matchHighStakes(nested, input('POST', '/pay', { payment: { total: 50 } })), undefined);
  });

  it('holds when the amount cannot be read: a malformed refund never slips past its approval', () => {
    assert.ok(matchHighStakes(rules, input('POST', '/v1/refunds')));
    assert.ok(matchHighStakes(rules, input('POST', '/v1/refunds', 'not json')));
    assert.ok(matchHighStakes(rules, input('POST', '/v1/refunds', { amount: 'lots' })));
    assert.ok(matchHighStakes(rules, input('POST', '/v1/refunds', { other: 1 })));
  });
});
