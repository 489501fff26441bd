import type { BreakerRecord, Transition } from './state';

/**
 * Where breaker state lives. Reads are plain; writes are transitions, each conditional on
 * {@link guardFor}'s guard (single conditional writes only: no transactions).
 */
export interface BreakerStore {
  /** The target's record; {@link CLOSED_RECORD} when none was ever written. Throws when unreachable. */
  get(targetKey: string): Promise<BreakerRecord>;
  /**
   * Writes `transition.to` if the guard still holds. Resolves false when it does not (someone
   * else moved the breaker first); throws only when the store is unreachable.
   */
  transition(targetKey: string, transition: Transition): Promise<boolean>;
}
