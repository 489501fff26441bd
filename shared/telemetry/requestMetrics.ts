import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Clock } from '../resilience/clock';
import { METRIC_DIMENSIONS as DIM, REQUEST_METRICS as M, SUCCESS_OUTCOMES } from './metricNames';
import { doorOf, fallbackLevelOf, outcomeOf, storeOfErrorCode } from './requestDimensions';
import { recordStoreUnavailable } from './storeUnavailable';

/** What the engine knew when a completion settled (its audit line), for the request's metrics. */
export interface CompletionFacts {
  /** A tenant of the config. */
  tenant: string;
  /** See {@link targetDimensionOf}; absent when no target answered (a cache hit, a failure). */
  target?: string;
  /** Upstream calls made. */
  attempts?: number;
  fallbackIndex?: number;
  /** `HIT`, `STALE` or `MISS` on a cached route; absent on a route without a cache. */
  cache?: string;
  costUsd?: number;
  tokens?: number;
  /** A stream that failed after its first byte: its status was already 200. */
  errorCode?: string;
}

/**
 * The spend line: `Spend` (USD) and `Tokens`, in total and by tenant (the one place the tenant
 * is a dimension), when a completion cost anything. Written by the gateway per request and by
 * the worker per task.
 */
export function recordSpend(
  metrics: Pick<Metrics, 'addDimensions' | 'addMetric' | 'publishStoredMetrics' | 'setTimestamp'>,
  timestamp: number,
  facts: Pick<CompletionFacts, 'tenant' | 'costUsd' | 'tokens'>,
): void {
  if (!facts.costUsd && !facts.tokens) return;
  metrics.setTimestamp(timestamp);
  metrics.addDimensions({});
  metrics.addDimensions({ [DIM.TENANT]: facts.tenant });
  metrics.addMetric(M.SPEND, MetricUnit.NoUnit, facts.costUsd ?? 0);
  metrics.addMetric(M.TOKENS, MetricUnit.Count, facts.tokens ?? 0);
  metrics.publishStoredMetrics();
}

/** A finished gateway request, as {@link RequestMetrics.record} takes it. */
export interface RequestFacts {
  /** The API path (after a base path is stripped): only its door becomes a dimension. */
  path: string;
  status: number;
  errorCode?: string;
  latencyMs: number;
  /** Streamed answers: ms to the stream's head. */
  timeToFirstByteMs?: number;
}

/** What the recorder needs of Powertools' Metrics (a whole instance in production; its own). */
export type RequestMetricsSink = Pick<Metrics, 'addDimensions' | 'addMetric' | 'publishStoredMetrics' | 'setTimestamp' | 'singleMetric'>;

export interface RequestMetricsOptions {
  /**
   * A Metrics instance of its own, not the engine's: a request's line has its own dimensions,
   * while the engine's instance (breakers, limits) shares one set of dimensions per invocation.
   */
  metrics: RequestMetricsSink;
  /** Stamps each line, so a stream's metrics fall in the minute it ended. */
  clock: Clock;
}

/**
 * Per-request metrics as EMF: one line per request (Requests, Errors, Latency,
 * TimeToFirstByte, Attempts, Fallbacks, CacheHits) and, when it cost anything, one line with
 * the tenant (Spend, Tokens). The first line carries four dimension sets, so CloudWatch has
 * the totals (for percentiles and alarms) beside the break-downs: `[service]`,
 * `[service, outcome]` (errors by class), `[service, route, target]` and
 * `[service, fallback_level]` (a name in two sets makes Powertools warn on every line). Every value is from a fixed set or the config (see
 * requestDimensions.ts); the tenant is on the spend line only.
 *
 * Each line is built and written in one synchronous call, so concurrent requests (`npm start`
 * serves many at once) never mix their dimensions in the shared instance.
 */
export class RequestMetrics {
  /** The engine's facts of a request in flight, by the request's event object: dropped with it. */
  private readonly completions = new WeakMap<object, CompletionFacts>();

  constructor(private readonly options: RequestMetricsOptions) {}

  /** Called from the completion's audit point; kept until the request is recorded. */
  noteCompletion(request: object, facts: CompletionFacts): void {
    this.completions.set(request, facts);
  }

  record(request: object, facts: RequestFacts): void {
    const { metrics, clock } = this.options;
    const completion = this.completions.get(request);
    const errorCode = facts.errorCode ?? completion?.errorCode;
    const outcome = outcomeOf({ status: facts.status, errorCode, cache: completion?.cache });
    const failed = outcome !== SUCCESS_OUTCOMES.OK && outcome !== SUCCESS_OUTCOMES.STALE;
    const timestamp = clock.now();

    metrics.setTimestamp(timestamp);
    metrics.addDimensions({});
    metrics.addDimensions({ [DIM.OUTCOME]: outcome });
    metrics.addDimensions({ [DIM.ROUTE]: doorOf(facts.path), [DIM.TARGET]: completion?.target ?? 'none' });
    metrics.addDimensions({ [DIM.FALLBACK_LEVEL]: fallbackLevelOf(completion?.fallbackIndex) });
    metrics.addMetric(M.REQUESTS, MetricUnit.Count, 1);
    metrics.addMetric(M.ERRORS, MetricUnit.Count, failed ? 1 : 0);
    metrics.addMetric(M.LATENCY, MetricUnit.Milliseconds, Math.round(facts.latencyMs));
    if (facts.timeToFirstByteMs !== undefined) metrics.addMetric(M.TIME_TO_FIRST_BYTE, MetricUnit.Milliseconds, Math.round(facts.timeToFirstByteMs));
    if (completion?.attempts !== undefined) metrics.addMetric(M.ATTEMPTS, MetricUnit.Count, completion.attempts);
    if (completion?.fallbackIndex !== undefined) metrics.addMetric(M.FALLBACKS, MetricUnit.Count, completion.fallbackIndex > 0 ? 1 : 0);
    if (completion?.cache !== undefined) metrics.addMetric(M.CACHE_HITS, MetricUnit.Count, completion.cache === 'MISS' ? 0 : 1);
    metrics.publishStoredMetrics();

    if (completion) recordSpend(metrics, timestamp, completion);

    const store = storeOfErrorCode(errorCode);
    if (store) recordStoreUnavailable(metrics, store);
  }
}
