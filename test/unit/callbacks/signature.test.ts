import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parseSignatureHeader, signPayload, verifySignature } from '../../../shared/callbacks';
import { fakeClock } from '../../support/fakeClock';

const secret = 'whsec_test_0123456789abcdef';
const body = JSON.stringify({ id: 'task_1', status: 'succeeded', result: { text: 'hé' } });
const t = 1_700_000_000;

describe('callback signatures', () => {
  it('signs "<t>.<body>" with HMAC-SHA256 in the documented header format', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    assert.equal(signPayload(body, secret, t), `t=${t},v1=${expected}`);
  });

  it('floors a fractional timestamp (a clock in ms / 1000)', () => {
    assert.equal(signPayload(body, secret, t + 0.999), signPayload(body, secret, t));
  });

  it('round-trips: the receiver verifies what the sender signed', () => {
    const header = signPayload(body, secret, t);
    assert.equal(verifySignature(header, body, secret, { clock: fakeClock(t * 1000 + 5_000) }), true);
    assert.equal(verifySignature(header, Buffer.from(body), secret, { clock: fakeClock(t * 1000) }), true);
  });

  it('detects a tampered body, timestamp, signature or secret', () => {
    const clock = fakeClock(t * 1000);
    const header = signPayload(body, secret, t);
    assert.equal(verifySignature(header, body.replace('succeeded', 'failed'), secret, { clock }), false);
    assert.equal(verifySignature(header.replace(`t=${t}`, `t=${t + 1}`), body, secret, { clock }), false);
    const flipped = header.slice(0, -1) + (header.endsWith('0') ? '1' : '0');
    assert.equal(verifySignature(flipped, body, secret, { clock }), false);
    assert.equal(verifySignature(header, body, `${secret}x`, { clock }), false);
  });

  it('rejects timestamps outside the tolerance either way (replay window)', () => {
    const header = signPayload(body, secret, t);
    assert.equal(verifySignature(header, body, secret, { clock: fakeClock((t + 300) * 1000) }), true);
    assert.equal(verifySignature(header, body, secret, { clock: fakeClock((t + 301) * 1000) }), false);
    assert.equal(verifySignature(header, body, secret, { clock: fakeClock((t - 301) * 1000) }), false);
    assert.equal(verifySignature(header, body, secret, { clock: fakeClock((t + 30) * 1000), toleranceSeconds: 10 }), false);
  });

  it('rejects missing and malformed headers', () => {
    const clock = fakeClock(t * 1000);
    for (const header of [undefined, '', 'v1=abc', `t=${t}`, `t=abc,v1=00`, 'garbage', `t=${t},v1`]) {
      assert.equal(verifySignature(header, body, secret, { clock }), false, String(header));
    }
  });

  it('accepts any one of several v1 values (sender rotating its secret) and ignores unknown schemes', () => {
    const clock = fakeClock(t * 1000);
    const good = signPayload(body, secret, t).split(',')[1]!;
    const header = `t=${t},v1=${'0'.repeat(64)},${good},v0=legacy`;
    assert.equal(verifySignature(header, body, secret, { clock }), true);
    assert.deepEqual(parseSignatureHeader(header), {
      timestamp: t,
      signatures: ['0'.repeat(64), good.slice(3)],
    });
  });
});
