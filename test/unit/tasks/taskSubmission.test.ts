import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../../../shared/errors';
import { MAX_SUBMISSION_BYTES, parseTaskSubmission } from '../../../shared/tasks';

const request = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] };

function rejects(body: unknown, code: string, status: number, param?: string | null): void {
  assert.throws(
    () => parseTaskSubmission(body),
    (error: unknown) => {
      assert.ok(isGatewayError(error), String(error));
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      if (param !== undefined) assert.equal(error.details?.param, param);
      return true;
    },
    JSON.stringify(body)?.slice(0, 200),
  );
}

describe('parseTaskSubmission', () => {
  it('accepts a bare request and defaults the priority to normal', () => {
    assert.deepEqual(parseTaskSubmission({ request }), { request, priority: 'normal' });
  });

  it('keeps priority, callback_url and metadata', () => {
    const body = { request, priority: 'high', callback_url: 'https://hooks.example.com/done', metadata: { job: 'nightly', n: 3 } };
    assert.deepEqual(parseTaskSubmission(body), body);
  });

  it('refuses stream: true, since nobody is connected to stream to', () => {
    rejects({ request: { ...request, stream: true } }, 'streaming_unsupported', 400, 'request.stream');
  });

  it('validates the inner chat request with the chat completion schema', () => {
    rejects({ request: { ...request, messages: [] } }, 'invalid_request', 400, 'request.messages');
    rejects({ request: { ...request, temperature: 3 } }, 'invalid_request', 400, 'request.temperature');
    rejects({ priority: 'high' }, 'invalid_request', 400, 'request');
  });

  it('refuses an unknown priority and unknown top-level fields', () => {
    rejects({ request, priority: 'urgent' }, 'invalid_request', 400, 'priority');
    rejects({ request, priorty: 'high' }, 'invalid_request', 400, null);
  });

  it('refuses a callback URL that is not http(s)', () => {
    rejects({ request, callback_url: 'ftp://files.example.com/x' }, 'invalid_request', 400, 'callback_url');
    rejects({ request, callback_url: 'not a url' }, 'invalid_request', 400, 'callback_url');
  });

  it('refuses more than 16 metadata keys', () => {
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, 'v']));
    rejects({ request, metadata }, 'invalid_request', 400, 'metadata');
  });

  it('refuses a body that is not an object', () => {
    rejects([request], 'invalid_request', 400);
    rejects('{"request":{}}', 'invalid_request', 400);
  });

  it('refuses a submission too large for one task item', () => {
    const big = { request: { ...request, messages: [{ role: 'user', content: 'x'.repeat(MAX_SUBMISSION_BYTES) }] } };
    rejects(big, 'payload_too_large', 413);
  });
});
