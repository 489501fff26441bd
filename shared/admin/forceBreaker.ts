import type { BreakerStore } from '../breaker/BreakerStore';
import { BreakerState, TransitionReason, type BreakerRecord, type Transition } from '../breaker/state';

export interface BreakerForce {
  state: 'open' | 'closed';
  /** Epoch ms: an open breaker probes from then on; a closed one may trip again from then on. */
  until: number;
  /** Who and why, kept on the record until the breaker next moves. */
  note: string;
}

/**
 * The transition an operator's force writes (pure). Open: the breaker refuses calls until
 * `until`, then probes as after any trip (its trips count is kept). Closed: the trips are reset
 * and the breaker does not trip until `until`; outcomes are not even counted meanwhile.
 */
export function forcedTransition(from: BreakerRecord, force: BreakerForce, now: number): Transition {
  const version = from.version + 1;
  if (force.state === 'open') {
    const reason = TransitionReason.FORCED_OPEN;
    return {
      from,
      to: { state: BreakerState.OPEN, version, trips: from.trips, openedAt: now, openUntil: force.until, reason, note: force.note },
      reason,
      at: now,
    };
  }
  const reason = TransitionReason.FORCED_CLOSED;
  return { from, to: { state: BreakerState.CLOSED, version, trips: 0, reason, note: force.note, forcedUntil: force.until }, reason, at: now };
}

/** Writes the force with the store's conditional write; a breaker moving meanwhile is read again (up to 3 times). */
export async function forceBreaker(store: BreakerStore, targetKey: string, force: BreakerForce, now: () => number): Promise<BreakerRecord> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const transition = forcedTransition(await store.get(targetKey), force, now());
    if (await store.transition(targetKey, transition)) return transition.to;
  }
  throw new Error(`breaker ${targetKey} kept moving while it was being forced; try again`);
}
