import type { ResolvedBreakerConfig } from './config';
import { EMPTY_WINDOW, recordOutcome, windowTotals, type OutcomeWindow } from './outcomeWindow';
import {
  BreakerState,
  TransitionReason,
  type BreakerOutcome,
  type BreakerRecord,
  type HalfOpenRecord,
  type OpenRecord,
  type Transition,
} from './state';

/**
 * The breaker's decisions, as pure functions of (record, local window, event, time, config):
 * no I/O and no clock, so every transition is tested on its own. The I/O around them lives in
 * {@link CircuitBreakers} and the stores.
 */

/** How long the breaker stays open after its `trips`-th trip in a row: doubled each time, capped. */
export function cooldownFor(trips: number, config: ResolvedBreakerConfig): number {
  const doublings = Math.max(0, trips - 1);
  // Past 2^30 the cap has long been reached; stop before the number overflows.
  return Math.min(config.cooldownMs * 2 ** Math.min(doublings, 30), config.maxCooldownMs);
}

/** A Retry-After cooldown, capped so one upstream header cannot park a target for a day. */
export function throttleFor(retryAfterMs: number | undefined, config: ResolvedBreakerConfig): number {
  return Math.min(Math.max(0, retryAfterMs ?? config.cooldownMs), config.maxCooldownMs);
}

export type Admission =
  | { kind: 'allow' }
  | { kind: 'deny'; retryAt: number; state: typeof BreakerState.OPEN | typeof BreakerState.HALF_OPEN }
  /** Take the probe lease with this transition; only the caller whose write lands probes. */
  | { kind: 'probe'; transition: Transition };

/** Whether a caller may call the target now, given the breaker's record. */
export function admit(record: BreakerRecord, now: number, probeLeaseMs: number): Admission {
  switch (record.state) {
    case BreakerState.CLOSED:
      return { kind: 'allow' };
    case BreakerState.OPEN:
      if (now < record.openUntil) return { kind: 'deny', retryAt: record.openUntil, state: record.state };
      return { kind: 'probe', transition: takeLease(record, now, probeLeaseMs, TransitionReason.COOLDOWN_ELAPSED) };
    case BreakerState.HALF_OPEN:
      if (now < record.probeUntil) return { kind: 'deny', retryAt: record.probeUntil, state: record.state };
      // The probe's container died, or its report never landed: someone else probes.
      return { kind: 'probe', transition: takeLease(record, now, probeLeaseMs, TransitionReason.PROBE_LEASE_EXPIRED) };
  }
}

function takeLease(
  from: OpenRecord | HalfOpenRecord,
  now: number,
  probeLeaseMs: number,
  reason: TransitionReason,
): Transition {
  const to: HalfOpenRecord = {
    state: BreakerState.HALF_OPEN,
    version: from.version + 1,
    trips: from.trips,
    openedAt: from.openedAt,
    openUntil: from.openUntil,
    probeUntil: now + probeLeaseMs,
    reason,
  };
  return { from, to, reason, at: now };
}

function open(from: BreakerRecord, now: number, durationMs: number, trips: number, reason: TransitionReason): Transition {
  const to: OpenRecord = {
    state: BreakerState.OPEN,
    version: from.version + 1,
    trips,
    openedAt: now,
    openUntil: now + durationMs,
    reason,
  };
  return { from, to, reason, at: now };
}

function trip(from: BreakerRecord, now: number, config: ResolvedBreakerConfig, reason: TransitionReason): Transition {
  const trips = from.trips + 1;
  return open(from, now, cooldownFor(trips, config), trips, reason);
}

/** Whether the window, just after a failure, calls for a trip, and why. */
export function tripReason(window: OutcomeWindow, now: number, config: ResolvedBreakerConfig): TransitionReason | undefined {
  if (window.consecutiveFailures >= config.failureThreshold) return TransitionReason.CONSECUTIVE_FAILURES;
  const { calls, failures } = windowTotals(window, now, config.windowMs);
  if (calls >= config.minimumRequests && failures * 100 >= config.failureRatePercent * calls) {
    return TransitionReason.FAILURE_RATE;
  }
  return undefined;
}

export interface OutcomeInput {
  /** For a probe: the half-open record its lease wrote. Otherwise: the container's current view. */
  record: BreakerRecord;
  window: OutcomeWindow;
  outcome: BreakerOutcome;
  probe: boolean;
  now: number;
  config: ResolvedBreakerConfig;
}

export interface OutcomeResult {
  window: OutcomeWindow;
  transition?: Transition;
}

/** Counts one outcome into the container's window and says whether the breaker moves. */
export function afterOutcome({ record, window, outcome, probe, now, config }: OutcomeInput): OutcomeResult {
  if (probe) {
    // Defensive: a probe always holds a half-open record.
    if (record.state !== BreakerState.HALF_OPEN) return { window };
    return { window: EMPTY_WINDOW, transition: afterProbe(record, outcome, now, config) };
  }
  // Open or half-open in this container's view: the breaker already moved while this call ran,
  // so the outcome says nothing new.
  if (record.state !== BreakerState.CLOSED) return { window };
  // An operator forced it closed (a flaky upstream that is still the best there is): no trip until then.
  if (record.forcedUntil !== undefined && now < record.forcedUntil) return { window };

  switch (outcome.kind) {
    case 'ignored':
      return { window };
    case 'success':
      return { window: recordOutcome(window, false, now, config.windowMs) };
    case 'throttled':
      // A fleet-wide pause for as long as the upstream asked: not a failure, not a trip.
      return {
        window: EMPTY_WINDOW,
        transition: open(record, now, throttleFor(outcome.retryAfterMs, config), record.trips, TransitionReason.THROTTLED),
      };
    case 'failure': {
      const next = recordOutcome(window, true, now, config.windowMs);
      const reason = tripReason(next, now, config);
      if (reason === undefined) return { window: next };
      return { window: EMPTY_WINDOW, transition: trip(record, now, config, reason) };
    }
  }
}

function afterProbe(record: HalfOpenRecord, outcome: BreakerOutcome, now: number, config: ResolvedBreakerConfig): Transition {
  switch (outcome.kind) {
    case 'success':
      return {
        from: record,
        to: { state: BreakerState.CLOSED, version: record.version + 1, trips: 0, reason: TransitionReason.PROBE_SUCCEEDED },
        reason: TransitionReason.PROBE_SUCCEEDED,
        at: now,
      };
    case 'failure':
      return trip(record, now, config, TransitionReason.PROBE_FAILED);
    case 'throttled':
      return open(record, now, throttleFor(outcome.retryAfterMs, config), record.trips, TransitionReason.THROTTLED);
    case 'ignored':
      // Says nothing about health: give the lease back so the next caller probes at once,
      // instead of leaving the target dark until the lease runs out.
      return {
        from: record,
        to: { ...record, version: record.version + 1, probeUntil: now, reason: TransitionReason.PROBE_INCONCLUSIVE },
        reason: TransitionReason.PROBE_INCONCLUSIVE,
        at: now,
      };
  }
}

/**
 * What must still hold in the store for a transition to be written. Every write compares the
 * version it was decided from; taking a probe lease also re-checks the time condition, so
 * the condition reads as the rule it enforces.
 */
export type TransitionGuard =
  /** Nobody has written this breaker yet. */
  | { kind: 'absent' }
  | { kind: 'version'; version: number }
  /** Open, same version, and its cooldown is over at `now`. */
  | { kind: 'cooldown_elapsed'; version: number; now: number }
  /** Half-open, same version, and the current probe's lease has run out at `now`. */
  | { kind: 'lease_expired'; version: number; now: number };

export function guardFor(transition: Transition): TransitionGuard {
  const { from, reason, at } = transition;
  if (reason === TransitionReason.COOLDOWN_ELAPSED) return { kind: 'cooldown_elapsed', version: from.version, now: at };
  if (reason === TransitionReason.PROBE_LEASE_EXPIRED) return { kind: 'lease_expired', version: from.version, now: at };
  if (from.version === 0) return { kind: 'absent' };
  return { kind: 'version', version: from.version };
}

/** The guard evaluated against a record in memory (the DynamoDB store says the same in a ConditionExpression). */
export function guardHolds(current: BreakerRecord, guard: TransitionGuard): boolean {
  switch (guard.kind) {
    case 'absent':
      return current.version === 0;
    case 'version':
      return current.version === guard.version;
    case 'cooldown_elapsed':
      return current.version === guard.version && current.state === BreakerState.OPEN && current.openUntil <= guard.now;
    case 'lease_expired':
      return (
        current.version === guard.version && current.state === BreakerState.HALF_OPEN && current.probeUntil <= guard.now
      );
  }
}
