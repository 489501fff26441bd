import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyNetworkError, classifyStatus } from '../../../shared/resilience';

describe('classifyStatus', () => {
  it('retries throttling, timeouts and transient server errors', () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504, 529]) assert.equal(classifyStatus(status), 'retry', String(status));
  });

  it('never retries the client’s own mistakes', () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422]) assert.equal(classifyStatus(status), 'fatal', String(status));
  });

  it('fails over without retrying other server errors', () => {
    for (const status of [501, 505, 511]) assert.equal(classifyStatus(status), 'failover', String(status));
  });

  it('follows a route’s own retry list', () => {
    assert.equal(classifyStatus(429, new Set([503])), 'fatal');
    assert.equal(classifyStatus(503, new Set([503])), 'retry');
  });
});

describe('classifyNetworkError', () => {
  it('retries resets, refusals and socket timeouts', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']) assert.equal(classifyNetworkError(code), 'retry', code);
  });

  it('fails over at once from a host that cannot be resolved or reached', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']) {
      assert.equal(classifyNetworkError(code), 'failover', code);
    }
  });
});
