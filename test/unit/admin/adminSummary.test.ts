import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forcedTransition } from '../../../shared/admin/forceBreaker';
import { RecentRequests } from '../../../shared/admin/RecentRequests';
import { isOperatorPath, requestSample } from '../../../shared/admin/requestSample';
import { admit, afterOutcome, CLOSED_RECORD, DEFAULT_BREAKER_CONFIG, EMPTY_WINDOW, guardFor, transitionUpdate } from '../../../shared/breaker';
import { GatewayError } from '../../../shared/errors';
import { fakeClock } from '../../support/fakeClock';

const HOUR = 3_600_000;

describe('admin: the in-container request summary', () => {
  it('counts the last hour: requests, error classes, p50/p95 latency, fallbacks by level, cost', () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1, 12));
    const recent = new RecentRequests({ clock });
    for (let i = 1; i <= 100; i++) recent.record({ status: 200, latencyMs: i, fallbackIndex: i % 10 === 0 ? 1 : 0, costUsd: 0.01 });
    recent.record({ status: 429, errorCode: 'budget_exceeded', latencyMs: 3 });
    recent.record({ status: 503, latencyMs: 900 });
    const summary = recent.summary();
    assert.equal(summary.scope, 'container');
    assert.equal(summary.requests, 102);
    assert.equal(summary.errors, 2);
    assert.deepEqual(summary.errorClasses, { budget_exceeded: 1, '5xx': 1 });
    assert.deepEqual(summary.fallbacksByLevel, { '0': 90, '1': 10 });
    // 102 latencies, 1..100 plus 3 and 900: nearest rank 51 and 97.
    assert.equal(summary.latencyMs.p50, 50);
    assert.equal(summary.latencyMs.p95, 96);
    assert.equal(summary.costUsd, 1);
    assert.equal(summary.hourly.length, 24);
    assert.deepEqual(summary.hourly.at(-1), { hourStart: Date.UTC(2026, 0, 1, 12), requests: 102, errors: 2, costUsd: 1 });
  });

  it('forgets what is older than an hour, keeps 24 hourly buckets for the chart, and an empty summary has no percentiles', () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1, 12));
    const recent = new RecentRequests({ clock });
    recent.record({ status: 200, latencyMs: 10, costUsd: 0.5 });
    clock.advance(HOUR + 60_000);
    const later = recent.summary();
    assert.equal(later.requests, 0);
    assert.deepEqual(later.latencyMs, { p50: null, p95: null });
    assert.equal(later.hourly.at(-2)!.costUsd, 0.5, 'the previous hour is still on the chart');
    clock.advance(24 * HOUR);
    assert.ok(recent.summary().hourly.every((hour) => hour.requests === 0));
  });

  it('keeps its memory flat under load: latencies past the per-minute reservoir replace kept ones', () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1, 12));
    const recent = new RecentRequests({ clock, latencySamplesPerMinute: 10, random: () => 0 });
    for (let i = 0; i < 1_000; i++) recent.record({ status: 200, latencyMs: 5 });
    const summary = recent.summary();
    assert.equal(summary.requests, 1_000);
    assert.equal(summary.latencyMs.p95, 5);
  });

  it('reads a sample from an answer or an error, and leaves the operator paths out', () => {
    assert.deepEqual(requestSample({ response: { statusCode: 200, headers: { 'x-breakwater-fallback-index': '2', 'x-breakwater-cost-usd': '0.0085' } } }, 12), {
      status: 200,
      latencyMs: 12,
      fallbackIndex: 2,
      costUsd: 0.0085,
    });
    assert.deepEqual(requestSample({ error: new GatewayError('all_targets_failed', 'x') }, 5), { status: 503, errorCode: 'all_targets_failed', latencyMs: 5 });
    assert.deepEqual(requestSample({ error: new Error('bug') }, 5), { status: 500, errorCode: 'internal_error', latencyMs: 5 });
    assert.ok(isOperatorPath('/v1/admin/overview') && isOperatorPath('/console') && isOperatorPath('/health'));
    assert.ok(!isOperatorPath('/v1/chat/completions') && !isOperatorPath('/v1/administer'));
  });
});

describe('admin: forcing a breaker', () => {
  const now = 1_000_000;
  it('open: refuses until the expiry, keeps the trips, and is written under the version guard', () => {
    const from = { ...CLOSED_RECORD, version: 4, trips: 2 };
    const transition = forcedTransition(from, { state: 'open', until: now + 60_000, note: 'incident (key:bw_x)' }, now);
    assert.deepEqual(transition.to, { state: 'open', version: 5, trips: 2, openedAt: now, openUntil: now + 60_000, reason: 'forced_open', note: 'incident (key:bw_x)' });
    assert.deepEqual(guardFor(transition), { kind: 'version', version: 4 });
 
    assert.match(transitionUpdate('t', 'k', transition).UpdateExpression!, /#note = :note/);
    // The probe after the expiry takes its lease like after any trip, and the operator's note goes with it.
    const probe = admit(transition.to, now + 60_000, 30_000);
    assert.equal(probe.kind, 'probe');
    const lease = (probe as { transition: Parameters<typeof transitionUpdate>[2] }).transition;
    assert.equal(lease.to.note, undefined);
    assert.match(transitionUpdate('t', 'k', lease).UpdateExpression!, /REMOVE .*#note/);
  });

  it('closed: no failure trips it until the expiry; after it the usual rules apply', () => {
    const transition = forcedTransition({ state: 'open', version: 1, trips: 3, openedAt: 0, openUntil: now * 2 }, { state: 'closed', until: now + 1_000, note: 'n' }, now);
    assert.equal(transition.to.state, 'closed');
    assert.equal(transition.to.trips, 0);
    let window = EMPTY_WINDOW;
    for (let i = 0; i < 20; i++) {
      const result = afterOutcome({ record: transition.to, window, outcome: { kind: 'failure' }, probe: false, now: now + 10, config: DEFAULT_BREAKER_CONFIG });
      assert.equal(result.transition, undefined, 'held closed');
      window = result.window;
    }
    let tripped = false;
    for (let i = 0; i < DEFAULT_BREAKER_CONFIG.failureThreshold; i++) {
      const result = afterOutcome({ record: transition.to, window, outcome: { kind: 'failure' }, probe: false, now: now + 2_000, config: DEFAULT_BREAKER_CONFIG });
      window = result.window;
      tripped ||= result.transition?.to.state === 'open';
    }
    assert.ok(tripped, 'past the expiry, failures trip it again');
  });
});
