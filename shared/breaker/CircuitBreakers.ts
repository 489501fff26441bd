import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Clock } from '../resilience/clock';
import { LruMap } from '../resilience/lruMap';
import { isDeadlineCut } from '../stores/boundedCalls';
import type { BreakerStore } from './BreakerStore';
import type { ResolvedBreakerConfig } from './config';
import { MemoryBreakerStore } from './MemoryBreakerStore';
import { EMPTY_WINDOW, windowTotals, type OutcomeWindow } from './outcomeWindow';
import {
  BreakerState,
  CLOSED_RECORD,
  TransitionReason,
  type BreakerOutcome,
  type BreakerRecord,
  type Transition,
} from './state';
import { admit, afterOutcome } from './transition';

/** The slice of Powertools' Logger the breakers use. */
export type BreakerLogger = Pick<Logger, 'info' | 'warn'>;

/** The slice of Powertools' Metrics the breakers use. */
export interface BreakerMetrics {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
}

export const BreakerMetric = {
  OPENED: 'BreakerOpened',
  HALF_OPEN: 'BreakerHalfOpen',
  CLOSED: 'BreakerClosed',
  STORE_UNAVAILABLE: 'BreakerStoreUnavailable',
} as const;

export type BreakerPermit =
  | {
      allowed: true;
      /** This caller holds the fleet's one half-open probe lease. */
      probe: boolean;
      /** Report the attempt's outcome once (later calls are ignored); never rejects. */
      report(outcome: BreakerOutcome): Promise<void>;
    }
  | {
      allowed: false;
      /** Epoch ms when the target may be tried again (its half-open time, or when the probe's lease runs out). */
      retryAt: number;
      state: typeof BreakerState.OPEN | typeof BreakerState.HALF_OPEN;
    };

export interface CircuitBreakersOptions {
  /** The fleet's shared state (a {@link DynamoBreakerStore} on AWS). */
  store: BreakerStore;
  clock: Clock;
  logger: BreakerLogger;
  metrics?: BreakerMetrics;
  /**
   * How long a read of the shared state is trusted by this container.
   * @default 1_000 — the healthy path costs one GetItem per target per second per container,
   * and a trip reaches every container within a second.
   */
  cacheTtlMs?: number;
  /**
   * How long a probe holds its lease before another container may probe; should cover the
   * attempt's timeout. Overridable per {@link CircuitBreakers.acquire}.
   * @default 30_000
   */
  probeLeaseMs?: number;
  /**
   * After the shared store fails, how long this container uses its in-container breaker before
   * asking the store again.
   * @default 10_000 — a dead store then costs one request its SDK timeouts every ten seconds,
   * not every request.
   */
  storeRetryIntervalMs?: number;
  /** The in-container fallback. @default a new {@link MemoryBreakerStore} */
  fallback?: MemoryBreakerStore;
  /**
   * Targets this container keeps outcome windows and cached reads for, least recently used
   * dropped first. A dropped target loses only this container's partial counts and cached read;
   * the fleet's state is in the store.
   * @default {@link MAX_TRACKED_TARGETS}
   */
  maxTargets?: number;
}

/**
 * A config names tens of targets; a route passing the client's model through (and BYOK keys)
 * make one per model and credential, which clients choose: memory must not follow them.
 */
export const MAX_TRACKED_TARGETS = 1_000;

export interface AcquireOptions {
  /** Overrides {@link CircuitBreakersOptions.probeLeaseMs} for this attempt (its timeout plus a margin). */
  probeLeaseMs?: number;
}

/** The store unavailable warning is logged at most this often per container. */
const WARN_INTERVAL_MS = 60_000;

type Source = 'shared' | 'fallback';

/** What one container knows about one target. */
interface Tracker {
  /** This container's own outcomes; never shared, reset whenever the breaker moves. */
  window: OutcomeWindow;
  view?: { record: BreakerRecord; readAt: number; source: Source };
  /** The last record read from or written to the shared store, to seed the fallback with. */
  lastShared?: BreakerRecord;
  /** A shared read in flight, so concurrent acquires in one container share one GetItem. */
  reading?: Promise<BreakerRecord>;
}

/**
 * Fleet-wide circuit breakers, one per target key. Outcomes are counted per container, in
 * memory; only transitions (trip, probe lease, close) are written to the shared store, each
 * with a conditional write, so the healthy path writes nothing and reads at most once per
 * target per `cacheTtlMs`. When the store is unreachable the same logic runs on an
 * in-container store, and the caller is never failed for it.
 */
export class CircuitBreakers {
  private readonly store: BreakerStore;
  private readonly clock: Clock;
  private readonly logger: BreakerLogger;
  private readonly metrics: BreakerMetrics | undefined;
  private readonly cacheTtlMs: number;
  private readonly probeLeaseMs: number;
  private readonly storeRetryIntervalMs: number;
  private readonly fallback: MemoryBreakerStore;
  private readonly trackers: LruMap<string, Tracker>;
  /** While `now` is before this, the shared store is not asked. */
  private storeDownUntil = Number.NEGATIVE_INFINITY;
  private inOutage = false;
  private lastWarnAt = Number.NEGATIVE_INFINITY;

  constructor(options: CircuitBreakersOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.cacheTtlMs = options.cacheTtlMs ?? 1_000;
    this.probeLeaseMs = options.probeLeaseMs ?? 30_000;
    this.storeRetryIntervalMs = options.storeRetryIntervalMs ?? 10_000;
    this.fallback = options.fallback ?? new MemoryBreakerStore({ maxTargets: options.maxTargets });
    this.trackers = new LruMap(options.maxTargets ?? MAX_TRACKED_TARGETS);
  }

  /** Targets this container tracks now (bounded by `maxTargets`). */
  get trackedTargets(): number {
    return this.trackers.size;
  }

  /**
   * What this container saw of a target since its breaker last moved: calls and failures in the
   * last `windowMs` (the operator console's failure rate). Per container, like the window itself;
   * undefined for a target this container has not called.
   */
  localCounts(targetKey: string, windowMs: number): { calls: number; failures: number } | undefined {
    const tracker = this.trackers.peek(targetKey);
    return tracker && windowTotals(tracker.window, this.clock.now(), windowMs);
  }

  /** Call before each upstream attempt; when allowed, report the attempt's outcome on the permit. */
  async acquire(targetKey: string, config: ResolvedBreakerConfig, options: AcquireOptions = {}): Promise<BreakerPermit> {
    const leaseMs = options.probeLeaseMs ?? this.probeLeaseMs;
    // A lost lease race re-reads the record; the second look decides (a third race in a row
    // would need the winner to give its lease back within the same moment).
    for (let look = 0; look < 2; look++) {
      const record = await this.read(targetKey);
      const admission = admit(record, this.clock.now(), leaseMs);
      if (admission.kind === 'allow') return this.permit(targetKey, config, undefined);
      if (admission.kind === 'deny') return { allowed: false, retryAt: admission.retryAt, state: admission.state };
      if (await this.apply(targetKey, admission.transition)) {
        return this.permit(targetKey, config, admission.transition.to);
      }
    }
    return { allowed: false, retryAt: this.clock.now() + this.cacheTtlMs, state: BreakerState.HALF_OPEN };
  }

  private permit(targetKey: string, config: ResolvedBreakerConfig, lease: BreakerRecord | undefined): BreakerPermit {
    let reported = false;
    return {
      allowed: true,
      probe: lease !== undefined,
      report: async (outcome) => {
        if (reported) return;
        reported = true;
        const tracker = this.tracker(targetKey);
        const result = afterOutcome({
          record: lease ?? tracker.view?.record ?? CLOSED_RECORD,
          window: tracker.window,
          outcome,
          probe: lease !== undefined,
          now: this.clock.now(),
          config,
        });
        tracker.window = result.window;
        if (result.transition) await this.apply(targetKey, result.transition);
      },
    };
  }

  private tracker(targetKey: string): Tracker {
    return this.trackers.getOrCreate(targetKey, () => ({ window: EMPTY_WINDOW }));
  }

  private storeDown(now: number): boolean {
    return now < this.storeDownUntil;
  }

  /** The record to decide on: the cached shared view while fresh, else a new read. */
  private async read(targetKey: string): Promise<BreakerRecord> {
    const tracker = this.tracker(targetKey);
    const now = this.clock.now();
    if (this.storeDown(now)) return this.readFallback(targetKey, tracker);
    const view = tracker.view;
    if (view?.source === 'shared' && now - view.readAt < this.cacheTtlMs) return view.record;
    tracker.reading ??= this.readShared(targetKey, tracker).finally(() => {
      tracker.reading = undefined;
    });
    return tracker.reading;
  }

  private async readShared(targetKey: string, tracker: Tracker): Promise<BreakerRecord> {
    // The cache ages from when the read was sent: the record may have changed since.
    const readAt = this.clock.now();
    let record: BreakerRecord;
    try {
      record = await this.store.get(targetKey);
    } catch (error) {
      this.storeFailed('get', error);
      return this.readFallback(targetKey, tracker);
    }
    this.storeAnswered();
    this.see(tracker, record, 'shared', readAt);
    return tracker.view?.record ?? record;
  }

  private readFallback(targetKey: string, tracker: Tracker): BreakerRecord {
    if (tracker.lastShared) this.fallback.seed(targetKey, tracker.lastShared);
    const record = this.fallback.peek(targetKey);
    this.see(tracker, record, 'fallback', this.clock.now());
    return record;
  }

  /** Re-reads after a lost race, bypassing the cache and any read already in flight. */
  private async refresh(targetKey: string): Promise<void> {
    const tracker = this.tracker(targetKey);
    if (this.storeDown(this.clock.now())) this.readFallback(targetKey, tracker);
    else await this.readShared(targetKey, tracker);
  }

  /** Records what the container now believes; a different version means the breaker moved. */
  private see(tracker: Tracker, record: BreakerRecord, source: Source, at: number): void {
    const previous = tracker.view;
    // Shared versions only grow: an older one is a read that left before a newer write.
    if (source === 'shared' && previous?.source === 'shared' && record.version < previous.record.version) return;
    // Outcomes counted before the breaker moved belong to the old state (a probe closed it,
    // another container tripped it): they must not trip the new one.
    if (previous && previous.record.version !== record.version) tracker.window = EMPTY_WINDOW;
    tracker.view = { record, readAt: at, source };
    if (source === 'shared') tracker.lastShared = record;
  }

  /** Writes a transition conditionally; false when someone else moved the breaker first. */
  private async apply(targetKey: string, transition: Transition): Promise<boolean> {
    const tracker = this.tracker(targetKey);
    let source: Source = 'shared';
    let written: boolean;
    if (this.storeDown(this.clock.now())) {
      source = 'fallback';
      written = await this.applyFallback(targetKey, transition);
    } else {
      try {
        written = await this.store.transition(targetKey, transition);
        this.storeAnswered();
      } catch (error) {
        this.storeFailed('transition', error);
        source = 'fallback';
        written = await this.applyFallback(targetKey, transition);
      }
    }
    if (!written) {
      await this.refresh(targetKey);
      return false;
    }
    this.see(tracker, transition.to, source, this.clock.now());
    this.announce(targetKey, transition, source);
    return true;
  }

  private applyFallback(targetKey: string, transition: Transition): Promise<boolean> {
    // A fresh outage starts the in-container breaker where the decision was made.
    this.fallback.seed(targetKey, transition.from);
    return this.fallback.transition(targetKey, transition);
  }

  private announce(targetKey: string, { from, to, reason }: Transition, store: Source): void {
    this.logger.info('circuit breaker transition', {
      targetKey,
      from: from.state,
      to: to.state,
      reason,
      trips: to.trips,
      version: to.version,
      ...(to.state !== BreakerState.CLOSED ? { openUntil: to.openUntil } : {}),
      ...(to.state === BreakerState.HALF_OPEN ? { probeUntil: to.probeUntil } : {}),
      store,
    });
    // A probe giving its lease back is logged but is no new half-open period.
    const metric =
      to.state === BreakerState.OPEN
        ? BreakerMetric.OPENED
        : to.state === BreakerState.CLOSED
          ? BreakerMetric.CLOSED
          : reason === TransitionReason.PROBE_INCONCLUSIVE
            ? undefined
            : BreakerMetric.HALF_OPEN;
    if (metric) this.metrics?.addMetric(metric, MetricUnit.Count, 1);
  }

  private storeFailed(operation: 'get' | 'transition', error: unknown): void {
    // Cut by its request's deadline: this call decides in-container, the next asks the store again.
    if (isDeadlineCut(error)) return;
    const now = this.clock.now();
    if (!this.storeDown(now)) this.fallback.clear();
    this.storeDownUntil = now + this.storeRetryIntervalMs;
    this.inOutage = true;
    this.metrics?.addMetric(BreakerMetric.STORE_UNAVAILABLE, MetricUnit.Count, 1);
    if (now - this.lastWarnAt < WARN_INTERVAL_MS) return;
    this.lastWarnAt = now;
    this.logger.warn('circuit breaker store unavailable: using the in-container breaker', {
      operation,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      retryInMs: this.storeRetryIntervalMs,
    });
  }

  private storeAnswered(): void {
    if (!this.inOutage) return;
    this.inOutage = false;
    this.logger.info('circuit breaker store reachable again: using the fleet-wide breakers');
  }
}
