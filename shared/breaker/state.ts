/** The three breaker states. `half_open` means one probe holds a lease; everyone else waits. */
export const BreakerState = {
  CLOSED: 'closed',
  OPEN: 'open',
  HALF_OPEN: 'half_open',
} as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

/** Why a breaker moved; logged with every transition and stored on the record. */
export const TransitionReason = {
  CONSECUTIVE_FAILURES: 'consecutive_failures',
  FAILURE_RATE: 'failure_rate',
  THROTTLED: 'throttled',
  COOLDOWN_ELAPSED: 'cooldown_elapsed',
  PROBE_LEASE_EXPIRED: 'probe_lease_expired',
  PROBE_SUCCEEDED: 'probe_succeeded',
  PROBE_FAILED: 'probe_failed',
  /** The probe got an answer that says nothing about health (a client 4xx): the lease is given back. */
  PROBE_INCONCLUSIVE: 'probe_inconclusive',
  /** An operator opened the breaker (admin API) until its `openUntil`; then it probes as usual. */
  FORCED_OPEN: 'forced_open',
  /** An operator closed the breaker (admin API); it does not trip until its `forcedUntil`. */
  FORCED_CLOSED: 'forced_closed',
} as const;
export type TransitionReason = (typeof TransitionReason)[keyof typeof TransitionReason];

interface RecordBase {
  /**
   * Bumped by every transition. Writes are conditional on it, so a container acting on a
   * stale view never overwrites a newer state. 0 means "never written".
   */
  version: number;
  /** Trips since the last successful probe; sets the cooldown (doubled per trip). */
  trips: number;
  reason?: TransitionReason;
  /** An operator's words on a forced transition (who and why); dropped by the next transition. */
  note?: string;
  /** Epoch ms: a breaker forced closed stays closed, whatever the outcomes, until then. */
  forcedUntil?: number;
}

export interface ClosedRecord extends RecordBase {
  state: typeof BreakerState.CLOSED;
}

export interface OpenRecord extends RecordBase {
  state: typeof BreakerState.OPEN;
  openedAt: number;
  /** Epoch ms from which one caller may take the probe lease. */
  openUntil: number;
}

export interface HalfOpenRecord extends RecordBase {
  state: typeof BreakerState.HALF_OPEN;
  openedAt: number;
  openUntil: number;
  /** Epoch ms when the probe's lease runs out and another caller may probe. */
  probeUntil: number;
}

/** A target's breaker as shared by the fleet (one item in the breakers table). */
export type BreakerRecord = ClosedRecord | OpenRecord | HalfOpenRecord;

/** What a breaker no one has written yet looks like. */
export const CLOSED_RECORD: ClosedRecord = { state: BreakerState.CLOSED, version: 0, trips: 0 };

/**
 * What the caller reports after an attempt. The caller classifies: timeouts, 5xx and network
 * errors are `failure`; client 4xx are `ignored`; a 429 is `throttled` with its Retry-After.
 */
export type BreakerOutcome =
  | { kind: 'success' }
  | { kind: 'failure' }
  | { kind: 'ignored' }
  /** Without `retryAfterMs` the route's `cooldown_interval` is used. */
  | { kind: 'throttled'; retryAfterMs?: number };

/** One change of a breaker's record, decided purely and then written conditionally. */
export interface Transition {
  from: BreakerRecord;
  to: BreakerRecord;
  reason: TransitionReason;
  /** Epoch ms of the decision; the store's time guards compare against it. */
  at: number;
}
