import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../../shared/errors';
import { classifyTaskFailure, planFailure, type FailureContext } from '../../../shared/tasks';

const NOW = 1_700_000_000_000;
const first: FailureContext = { receiveCount: 1, maxReceiveCount: 5, deferrals: 0, maxDeferrals: 24, now: NOW };

describe('classifyTaskFailure', () => {
  const cases: Array<[string, unknown, 'permanent' | 'transient']> = [
    ['a validation error', new GatewayError('invalid_request', 'bad'), 'permanent'],
    ['an invalid key', new GatewayError('invalid_api_key', 'bad key'), 'permanent'],
    ['a forbidden model', new GatewayError('model_not_allowed', 'no'), 'permanent'],
    ["the upstream's own 4xx", new GatewayError('upstream_rejected', 'no', { status: 422 }), 'permanent'],
    ['a spent budget (a 429 no wait fixes)', new GatewayError('budget_exceeded', 'spent', { headers: { 'retry-after': '3600' } }), 'permanent'],
    ['a request over its cost limit', new GatewayError('request_cost_exceeds_limit', 'too dear'), 'permanent'],
    ['a rate limit', new GatewayError('rate_limited', 'slow down'), 'transient'],
    ['every target failing', new GatewayError('all_targets_failed', '5xx'), 'transient'],
    ['an open circuit', new GatewayError('all_targets_unavailable', 'open'), 'transient'],
    ['a deadline', new GatewayError('deadline_exceeded', 'late'), 'transient'],
    ['a bug or a network error', new TypeError('x is undefined'), 'transient'],
  ];
  for (const [name, error, kind] of cases) {
    it(`${name} is ${kind}`, () => assert.equal(classifyTaskFailure(error), kind));
  }
});

describe('planFailure', () => {
  it('fails the task at once on a permanent error, whatever the receive count', () => {
    assert.deepEqual(planFailure(new GatewayError('invalid_api_key', 'bad key'), first), {
      kind: 'fail',
      error: { code: 'invalid_api_key', message: 'bad key' },
    });
  });

  it('backs off on a transient error before the last receive', () => {
    assert.deepEqual(planFailure(new GatewayError('all_targets_failed', 'all 5xx'), { ...first, receiveCount: 4 }), {
      kind: 'retry',
      error: { code: 'all_targets_failed', message: 'all 5xx' },
      redelivery: { kind: 'backoff' },
    });
  });

  it('dead-letters a transient error on the last receive', () => {
    assert.deepEqual(planFailure(new GatewayError('all_targets_failed', 'all 5xx'), { ...first, receiveCount: 5 }), {
      kind: 'dead_letter',
      error: { code: 'all_targets_failed', message: 'all 5xx' },
    });
  });

  it("defers an open circuit until its half-open time without using up a receive, even on the last one", () => {
    const open = new GatewayError('all_targets_unavailable', 'open', { headers: { 'retry-after': '30' } });
    assert.deepEqual(planFailure(open, { ...first, receiveCount: 5 }), {
      kind: 'retry',
      error: { code: 'all_targets_unavailable', message: 'open' },
      redelivery: { kind: 'defer', delayMs: 30_000 },
    });
  });

  it('holds the delivery back instead when the wait is longer than one SQS message delay', () => {
    const open = new GatewayError('all_targets_unavailable', 'open', { headers: { 'retry-after': '901' } });
    assert.deepEqual(planFailure(open, first), {
      kind: 'retry',
      error: { code: 'all_targets_unavailable', message: 'open' },
      redelivery: { kind: 'delay', delayMs: 901_000 },
    });
  });

  it('stops deferring once the deferrals are used up, and then dead-letters on the last receive', () => {
    const open = new GatewayError('all_targets_unavailable', 'open', { headers: { 'retry-after': '30' } });
    assert.deepEqual(planFailure(open, { ...first, deferrals: 24 }), {
      kind: 'retry',
      error: { code: 'all_targets_unavailable', message: 'open' },
      redelivery: { kind: 'delay', delayMs: 30_000 },
    });
    assert.equal(planFailure(open, { ...first, deferrals: 24, receiveCount: 5 }).kind, 'dead_letter');
  });

  it("records an unexpected error without its message, which could carry anything", () => {
    assert.deepEqual(planFailure(new TypeError('secret sk-test-canary-123 in a stack'), first), {
      kind: 'retry',
      error: { code: 'internal_error', message: 'the worker failed unexpectedly (TypeError)' },
      redelivery: { kind: 'backoff' },
    });
  });
});
