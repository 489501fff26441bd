import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toolCallFromEvent } from '../../../shared/api/tools/toolCallFromEvent';
import { isGatewayError } from '../../../shared/errors';
import { proxyEvent } from '../../support/proxyEvent';

describe('toolCallFromEvent', () => {
  it('reads method, raw path tail, query, safe headers, user, key and priority', () => {
    const event = proxyEvent({
      method: 'post',
      path: '/v1/tools/stripe/v1/refunds/?expand=a%20b&breakwater_user=u-1&breakwater_debug=1&token=bw_live_abcdefgh12345678',
      headers: { authorization: 'Bearer bw_live_x', 'Idempotency-Key': 'k-1', 'X-Breakwater-Priority': 'Background', 'content-type': 'application/json' },
      body: '{"amount":1}',
    });
    const call = toolCallFromEvent({ ...event, path: '/v1/tools/stripe/v1/refunds/' }, 'stripe');
    assert.equal(call.method, 'POST');
    assert.equal(call.path, '/v1/refunds/');
    assert.equal(call.query, 'expand=a%20b');
    assert.equal(call.endUser, 'u-1');
    assert.equal(call.idempotencyKey, 'k-1');
    assert.equal(call.priority, 'background');
    assert.deepEqual(call.headers, { 'content-type': 'application/json' });
    assert.equal(call.body?.toString(), '{"amount":1}');
  });

  it('decodes a base64 body byte for byte, and the header names the user over the query', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const event = {
      ...proxyEvent({ method: 'PUT', path: '/v1/tools/files/upload?breakwater_user=from-query', headers: { 'x-breakwater-user': 'from-header' } }),
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    };
    const call = toolCallFromEvent(event, 'files');
    assert.ok(call.body?.equals(bytes));
    assert.equal(call.endUser, 'from-header');
    assert.equal(call.priority, 'interactive');
    assert.equal(call.path, '/upload');
  });

  it('the service root has an empty path; no body is undefined', () => {
    const call = toolCallFromEvent(proxyEvent({ method: 'GET', path: '/v1/tools/weather' }), 'weather');
    assert.equal(call.path, '');
    assert.equal(call.query, '');
    assert.equal(call.body, undefined);
  });

  it('refuses methods the proxy does not relay, and bad gateway headers, with 4xx codes', () => {
    const bad = (overrides: { method?: string; headers?: Record<string, string> }) =>
      assert.throws(
        () => toolCallFromEvent(proxyEvent({ method: overrides.method ?? 'GET', path: '/v1/tools/s/x', headers: overrides.headers }), 's'),
        (error) => isGatewayError(error) && error.status >= 400 && error.status < 500,
      );
    bad({ method: 'TRACE' });
    bad({ method: 'CONNECT' });
    bad({ headers: { 'x-breakwater-priority': 'now' } });
    bad({ headers: { 'x-breakwater-user': 'x'.repeat(300) } });
    bad({ headers: { 'idempotency-key': 'x'.repeat(300) } });
  });
});
