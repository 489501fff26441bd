import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../../../shared/errors';
import { idempotencyError, isReplayableResponse } from '../../../shared/idempotency';

describe('idempotencyError', () => {
  it('carries the status of each new code and names the header', () => {
    const cases = [
      ['idempotency_key_reused', 422],
      ['idempotency_in_progress', 409],
      ['idempotency_unavailable', 503],
    ] as const;
    for (const [code, status] of cases) {
      const error = idempotencyError(code, 'm', { headers: { 'retry-after': '1' } });
      assert.ok(isGatewayError(error));
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.deepEqual(error.details, { param: 'Idempotency-Key' });
      assert.deepEqual(error.headers, { 'retry-after': '1' });
    }
  });
});

describe('isReplayableResponse', () => {
  it('stores anything but a server error', () => {
    assert.equal(isReplayableResponse({ statusCode: 200, body: '{}' }), true);
    assert.equal(isReplayableResponse({ statusCode: 429 }), true);
    assert.equal(isReplayableResponse({ status: 404 }), true);
    assert.equal(isReplayableResponse({ body: 'no status' }), true);
    assert.equal(isReplayableResponse('text'), true);
    assert.equal(isReplayableResponse(null), true);
    assert.equal(isReplayableResponse({ statusCode: 500 }), false);
    assert.equal(isReplayableResponse({ statusCode: 504 }), false);
    assert.equal(isReplayableResponse({ status: 503 }), false);
  });
});
