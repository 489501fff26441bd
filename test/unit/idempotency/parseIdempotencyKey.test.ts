import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../../../shared/errors';
import { parseIdempotencyKey } from '../../../shared/idempotency';

function invalid(value: string): void {
  assert.throws(
    () => parseIdempotencyKey(value),
    (error: unknown) => {
      assert.ok(isGatewayError(error));
      assert.equal(error.code, 'invalid_request');
      assert.equal(error.status, 400);
      assert.deepEqual(error.details, { param: 'Idempotency-Key' });
      assert.match(error.message, /Idempotency-Key/);
      return true;
    },
    JSON.stringify(value),
  );
}

describe('parseIdempotencyKey', () => {
  it('is undefined when the header is absent', () => {
    assert.equal(parseIdempotencyKey(undefined), undefined);
  });

  it('accepts a bare key, trimmed', () => {
    assert.equal(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
    assert.equal(parseIdempotencyKey('  abc '), 'abc');
  });

  it("accepts the IETF draft's quoted sf-string form as the same key", () => {
    assert.equal(parseIdempotencyKey('"8e03978e-40d5"'), '8e03978e-40d5');
    assert.equal(parseIdempotencyKey('"a\\"b\\\\c"'), 'a"b\\c');
  });

  it('accepts 1 and 255 characters, refuses 0 and 256', () => {
    assert.equal(parseIdempotencyKey('k'), 'k');
    assert.equal(parseIdempotencyKey('x'.repeat(255)), 'x'.repeat(255));
    invalid('x'.repeat(256));
    invalid('');
    invalid('   ');
    invalid('""');
  });

  it('refuses anything but printable ASCII', () => {
    invalid('clé');
    invalid('a\tb');
    invalid('a\u0000b');
    invalid('emoji-🙂');
  });
});
