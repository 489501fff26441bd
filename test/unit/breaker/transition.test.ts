import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  admit,
  afterOutcome,
  BreakerState,
  CLOSED_RECORD,
  cooldownFor,
  EMPTY_WINDOW,
  guardFor,
  guardHolds,
  recordOutcome,
  TransitionReason,
  windowTotals,
  type BreakerOutcome,
  type BreakerRecord,
  type HalfOpenRecord,
  type OpenRecord,
  type OutcomeWindow,
  type ResolvedBreakerConfig,
  type Transition,
} from '../../../shared/breaker';

const config: ResolvedBreakerConfig = {
  failureThreshold: 3,
  failureRatePercent: 50,
  minimumRequests: 4,
  windowMs: 10_000,
  cooldownMs: 1_000,
  maxCooldownMs: 5_000,
};
/** Only the rate rule: consecutive failures never reach this threshold. */
const rateOnly: ResolvedBreakerConfig = { ...config, failureThreshold: 100 };
/** Only the consecutive rule. */
const consecutiveOnly: ResolvedBreakerConfig = { ...config, minimumRequests: 1_000 };

const T0 = 1_700_000_000_000; // a multiple of the 1 s bucket width
const S: BreakerOutcome = { kind: 'success' };
const F: BreakerOutcome = { kind: 'failure' };
const I: BreakerOutcome = { kind: 'ignored' };

/** Feeds outcomes to a closed breaker (non-probe calls) one ms apart; stops at the first transition. */
function feed(
  outcomes: BreakerOutcome[],
  cfg = config,
  start = T0,
  window: OutcomeWindow = EMPTY_WINDOW,
): { transition?: Transition; index: number; window: OutcomeWindow } {
  let current = window;
  for (const [index, outcome] of outcomes.entries()) {
    const result = afterOutcome({ record: CLOSED_RECORD, window: current, outcome, probe: false, now: start + index, config: cfg });
    current = result.window;
    if (result.transition) return { transition: result.transition, index, window: current };
  }
  return { index: -1, window: current };
}

const open = (overrides: Partial<OpenRecord> = {}): OpenRecord => ({
  state: BreakerState.OPEN,
  version: 4,
  trips: 1,
  openedAt: T0,
  openUntil: T0 + 1_000,
  reason: TransitionReason.CONSECUTIVE_FAILURES,
  ...overrides,
});
const halfOpen = (overrides: Partial<HalfOpenRecord> = {}): HalfOpenRecord => ({
  state: BreakerState.HALF_OPEN,
  version: 5,
  trips: 1,
  openedAt: T0,
  openUntil: T0 + 1_000,
  probeUntil: T0 + 31_000,
  reason: TransitionReason.COOLDOWN_ELAPSED,
  ...overrides,
});
const probeOutcome = (record: HalfOpenRecord, outcome: BreakerOutcome, now: number) =>
  afterOutcome({ record, window: EMPTY_WINDOW, outcome, probe: true, now, config });

describe('breaker transitions (pure)', () => {
  it('closed → open on the Nth consecutive failure, not before', () => {
    const { transition, index, window } = feed([F, F, F], consecutiveOnly);
    assert.equal(index, 2);
    assert.deepEqual(transition, {
      from: CLOSED_RECORD,
      to: {
        state: 'open',
        version: 1,
        trips: 1,
        openedAt: T0 + 2,
        openUntil: T0 + 2 + 1_000,
        reason: 'consecutive_failures',
      },
      reason: 'consecutive_failures',
      at: T0 + 2,
    });
    assert.deepEqual(window, EMPTY_WINDOW, 'a trip starts counting afresh');
  });

  it('a success resets the consecutive count', () => {
    const { transition, window } = feed([F, F, S, F, F], consecutiveOnly);
    assert.equal(transition, undefined);
    assert.equal(window.consecutiveFailures, 2);
  });

  it('opens on the failure rate only once minimum_requests calls are in the window', () => {
    const early = feed([S, F, F], rateOnly);
    assert.equal(early.transition, undefined, '2 of 3 failed, but 3 calls are below minimum_requests (4)');
    const { transition, index } = feed([S, F, F, F], rateOnly);
    assert.equal(index, 3);
    assert.equal(transition?.reason, TransitionReason.FAILURE_RATE);
    assert.equal(transition?.to.state, BreakerState.OPEN);
  });

  it('does not open below the failure percentage', () => {
    const { transition, window } = feed([S, S, S, F, S, S, F], rateOnly);
    assert.equal(transition, undefined);
    assert.deepEqual(windowTotals(window, T0 + 6, rateOnly.windowMs), { calls: 7, failures: 2 });
    const exactlyHalf = feed([S, S, F, F], rateOnly);
    assert.equal(exactlyHalf.transition?.reason, TransitionReason.FAILURE_RATE, '50% of 4 calls is >= 50%');
  });

  it('ignored outcomes neither count as calls nor reset the consecutive count', () => {
    assert.equal(feed([F, F, I, I], rateOnly).transition, undefined, 'counted as calls, 2 of 4 would trip');
    assert.equal(feed([F, F, I, F], consecutiveOnly).transition?.reason, TransitionReason.CONSECUTIVE_FAILURES);
  });

  it('the window rolls off outcomes older than window_ms', () => {
    const old = feed([F, F, F], rateOnly, T0).window;
    assert.deepEqual(windowTotals(old, T0 + 9_999, rateOnly.windowMs), { calls: 3, failures: 3 });
    assert.deepEqual(windowTotals(old, T0 + 10_000, rateOnly.windowMs), { calls: 0, failures: 0 });

    const inside = feed([F], rateOnly, T0 + 9_999, old);
    assert.equal(inside.transition?.reason, TransitionReason.FAILURE_RATE, '4 failures within the window');
    const after = feed([F], rateOnly, T0 + 10_000, old);
    assert.equal(after.transition, undefined, 'the three old failures have left the window');
    assert.deepEqual(windowTotals(after.window, T0 + 10_000, rateOnly.windowMs), { calls: 1, failures: 1 });
  });

  it('keeps at most one bucket per tenth of the window however many outcomes', () => {
    let window = EMPTY_WINDOW;
    for (let i = 0; i < 5_000; i++) window = recordOutcome(window, i % 2 === 0, T0 + i * 7, 10_000);
    assert.equal(window.buckets.length, 10);
  });

  it('open → half-open only once the cooldown is over, with a probe lease', () => {
    const record = open();
    assert.deepEqual(admit(record, T0 + 999, 30_000), { kind: 'deny', retryAt: T0 + 1_000, state: 'open' });
    const admission = admit(record, T0 + 1_000, 30_000);
    assert.deepEqual(admission, {
      kind: 'probe',
      transition: {
        from: record,
        to: {
          state: 'half_open',
          version: 5,
          trips: 1,
          openedAt: T0,
          openUntil: T0 + 1_000,
          probeUntil: T0 + 31_000,
          reason: 'cooldown_elapsed',
        },
        reason: 'cooldown_elapsed',
        at: T0 + 1_000,
      },
    });
  });

  it('half-open denies everyone else until the lease runs out, then lets one caller take it over', () => {
    const record = halfOpen();
    assert.deepEqual(admit(record, T0 + 30_999, 30_000), { kind: 'deny', retryAt: T0 + 31_000, state: 'half_open' });
    const admission = admit(record, T0 + 31_000, 30_000);
    assert.equal(admission.kind, 'probe');
    assert.ok(admission.kind === 'probe');
    assert.equal(admission.transition.reason, TransitionReason.PROBE_LEASE_EXPIRED);
    assert.deepEqual(admission.transition.to, { ...record, version: 6, probeUntil: T0 + 61_000, reason: 'probe_lease_expired' });
  });

  it('closed always allows', () => {
    assert.deepEqual(admit(CLOSED_RECORD, T0, 30_000), { kind: 'allow' });
  });

  it('a successful probe closes the breaker and resets the trip count', () => {
    const { transition, window } = probeOutcome(halfOpen({ trips: 3 }), S, T0 + 2_000);
    assert.deepEqual(transition?.to, { state: 'closed', version: 6, trips: 0, reason: 'probe_succeeded' });
    assert.deepEqual(window, EMPTY_WINDOW);
  });

  it('a failed probe re-opens with the cooldown doubled per trip, up to the cap', () => {
    const now = T0 + 2_000;
    const expected = [
      [1, 2, 2_000],
      [2, 3, 4_000],
      [3, 4, 5_000],
      [9, 10, 5_000],
    ] as const;
    for (const [tripsBefore, tripsAfter, cooldown] of expected) {
      const { transition } = probeOutcome(halfOpen({ trips: tripsBefore }), F, now);
      assert.deepEqual(
        transition?.to,
        { state: 'open', version: 6, trips: tripsAfter, openedAt: now, openUntil: now + cooldown, reason: 'probe_failed' },
        `after trip ${tripsAfter}`,
      );
    }
    assert.deepEqual([1, 2, 3, 4, 5, 60, 5_000].map((trips) => cooldownFor(trips, config)), [1_000, 2_000, 4_000, 5_000, 5_000, 5_000, 5_000]);
  });

  it('throttled opens until Retry-After without a trip and without counting a failure', () => {
    const { window: twoFailures } = feed([F, F], consecutiveOnly);
    const now = T0 + 100;
    const result = afterOutcome({
      record: CLOSED_RECORD,
      window: twoFailures,
      outcome: { kind: 'throttled', retryAfterMs: 2_500 },
      probe: false,
      now,
      config: consecutiveOnly,
    });
    assert.deepEqual(result.transition?.to, {
      state: 'open',
      version: 1,
      trips: 0,
      openedAt: now,
      openUntil: now + 2_500,
      reason: 'throttled',
    });
    assert.deepEqual(result.window, EMPTY_WINDOW, 'the breaker moved: earlier failures no longer count');

    const probe = probeOutcome(halfOpen({ trips: 2 }), { kind: 'throttled', retryAfterMs: 700 }, now);
    assert.deepEqual(probe.transition?.to, { state: 'open', version: 6, trips: 2, openedAt: now, openUntil: now + 700, reason: 'throttled' });

    const capped = probeOutcome(halfOpen(), { kind: 'throttled', retryAfterMs: 86_400_000 }, now);
    assert.equal(capped.transition?.to.state === 'open' && capped.transition.to.openUntil, now + 5_000, 'capped at max_cooldown_interval');
    const noHeader = probeOutcome(halfOpen(), { kind: 'throttled' }, now);
    assert.equal(noHeader.transition?.to.state === 'open' && noHeader.transition.to.openUntil, now + 1_000, 'cooldown_interval without Retry-After');
  });

  it('an inconclusive probe (client 4xx) gives the lease back so the next caller probes at once', () => {
    const now = T0 + 2_000;
    const { transition } = probeOutcome(halfOpen(), I, now);
    assert.deepEqual(transition?.to, { ...halfOpen(), version: 6, probeUntil: now, reason: 'probe_inconclusive' });
    assert.equal(admit(transition!.to, now, 30_000).kind, 'probe');
  });

  it('ignores non-probe outcomes reported after the breaker already moved', () => {
    const window = feed([F], consecutiveOnly).window;
    for (const record of [open(), halfOpen()] as BreakerRecord[]) {
      const result = afterOutcome({ record, window, outcome: F, probe: false, now: T0 + 5, config: consecutiveOnly });
      assert.deepEqual(result, { window });
    }
  });

  it('guards each write on the version it was decided from, and a lease on its time condition', () => {
    const trip = feed([F, F, F], consecutiveOnly).transition!;
    assert.deepEqual(guardFor(trip), { kind: 'absent' });
    const lease = admit(open(), T0 + 1_000, 30_000);
    assert.ok(lease.kind === 'probe');
    assert.deepEqual(guardFor(lease.transition), { kind: 'cooldown_elapsed', version: 4, now: T0 + 1_000 });
    const takeover = admit(halfOpen(), T0 + 31_000, 30_000);
    assert.ok(takeover.kind === 'probe');
    assert.deepEqual(guardFor(takeover.transition), { kind: 'lease_expired', version: 5, now: T0 + 31_000 });
    assert.deepEqual(guardFor(probeOutcome(halfOpen(), S, T0).transition!), { kind: 'version', version: 5 });

    assert.equal(guardHolds(CLOSED_RECORD, { kind: 'absent' }), true);
    assert.equal(guardHolds(open(), { kind: 'absent' }), false);
    assert.equal(guardHolds(open(), { kind: 'version', version: 4 }), true);
    assert.equal(guardHolds(open(), { kind: 'version', version: 3 }), false, 'a stale view loses');
    assert.equal(guardHolds(open(), { kind: 'cooldown_elapsed', version: 4, now: T0 + 1_000 }), true);
    assert.equal(guardHolds(open(), { kind: 'cooldown_elapsed', version: 4, now: T0 + 999 }), false);
    assert.equal(guardHolds(halfOpen(), { kind: 'cooldown_elapsed', version: 5, now: T0 + 1_000 }), false, 'already leased');
    assert.equal(guardHolds(halfOpen(), { kind: 'lease_expired', version: 5, now: T0 + 30_999 }), false);
    assert.equal(guardHolds(halfOpen(), { kind: 'lease_expired', version: 5, now: T0 + 31_000 }), true);
  });
});
