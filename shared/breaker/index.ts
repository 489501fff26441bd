export type { BreakerStore } from './BreakerStore';
export {
  BreakerMetric,
  CircuitBreakers,
  MAX_TRACKED_TARGETS,
  type AcquireOptions,
  type BreakerLogger,
  type BreakerMetrics,
  type BreakerPermit,
  type CircuitBreakersOptions,
} from './CircuitBreakers';
export {
  circuitBreakerConfigSchema,
  DEFAULT_BREAKER_CONFIG,
  resolveBreakerConfig,
  type CircuitBreakerConfig,
  type ResolvedBreakerConfig,
} from './config';
export { breakerItemKey, DynamoBreakerStore, MAX_PLAIN_KEY_BYTES, recordFromItem, transitionUpdate } from './DynamoBreakerStore';
export { MemoryBreakerStore } from './MemoryBreakerStore';
export { EMPTY_WINDOW, recordOutcome, windowTotals, type OutcomeBucket, type OutcomeWindow } from './outcomeWindow';
export {
  BreakerState,
  CLOSED_RECORD,
  TransitionReason,
  type BreakerOutcome,
  type BreakerRecord,
  type ClosedRecord,
  type HalfOpenRecord,
  type OpenRecord,
  type Transition,
} from './state';
export {
  admit,
  afterOutcome,
  cooldownFor,
  guardFor,
  guardHolds,
  throttleFor,
  tripReason,
  type Admission,
  type OutcomeInput,
  type OutcomeResult,
  type TransitionGuard,
} from './transition';
