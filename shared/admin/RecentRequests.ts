import { systemRandom, type Clock, type RandomSource } from '../resilience/clock';

/** One finished request, as the gateway saw it at the edge. */
export interface RequestSample {
  /** HTTP status sent (or about to be sent, for an error the middleware renders). */
  status: number;
  /** The error's machine-readable code (`budget_exceeded`, `all_targets_failed`...), when it failed. */
  errorCode?: string;
  /** From the request's arrival to its answer's head (a stream's first byte, not its end). */
  latencyMs: number;
  /** Which target of the route served (`x-breakwater-fallback-index`): 0 is the primary. */
  fallbackIndex?: number;
  /** What it cost (`x-breakwater-cost-usd`). */
  costUsd?: number;
}

/** What the console's overview shows: the last hour, and spend by hour over the last day. */
export interface RecentSummary {
  /** Per container: the samples this container served, never the fleet's. */
  scope: 'container';
  windowSeconds: number;
  requests: number;
  errors: number;
  /** Error code → count (status class `5xx`/`4xx` when no code was given). */
  errorClasses: Record<string, number>;
  latencyMs: { p50: number | null; p95: number | null };
  /** Fallback level (0 = the primary target) → requests served there. */
  fallbacksByLevel: Record<string, number>;
  costUsd: number;
  /** The last 24 hours, oldest first: each hour's start (epoch ms), requests, errors and cost. */
  hourly: Array<{ hourStart: number; requests: number; errors: number; costUsd: number }>;
}

export interface RecentRequestsOptions {
  clock: Pick<Clock, 'now'>;
  /**
   * Latencies kept per minute for the percentiles; past it a minute keeps a uniform sample
   * (reservoir), so a busy container's memory stays flat.
   * @default 500
   */
  latencySamplesPerMinute?: number;
  /** Where a full minute's reservoir picks which latency to replace. @default systemRandom */
  random?: RandomSource;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** The overview's window: one hour of minute buckets. */
const MINUTES = 60;
const HOURS = 24;

interface MinuteBucket {
  start: number;
  requests: number;
  errors: number;
  errorClasses: Map<string, number>;
  fallbacks: Map<number, number>;
  costUsd: number;
  latencies: number[];
  /** Latencies offered to the reservoir this minute, kept or not. */
  seen: number;
}

interface HourBucket {
  start: number;
  requests: number;
  errors: number;
  costUsd: number;
}

/**
 * A rolling summary of the requests this container served: the last hour in minute buckets
 * (counts, error classes, latency percentiles, fallbacks by level) and the last day in hour
 * buckets (requests, errors, cost, for the console's chart). Fed by the gateway for every request.
 *
 * Per container, on purpose: Lambda runs many containers and each keeps its own, which costs
 * nothing on the request path (no write to a shared store). A container's summary starts empty
 * at its cold start and ends with it; the fleet-wide numbers are CloudWatch's metrics.
 */
export class RecentRequests {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly perMinute: number;
  private readonly random: RandomSource;
  private readonly minutes: MinuteBucket[] = [];
  private readonly hours: HourBucket[] = [];

  constructor(options: RecentRequestsOptions) {
    this.clock = options.clock;
    this.perMinute = options.latencySamplesPerMinute ?? 500;
    this.random = options.random ?? systemRandom;
  }

  record(sample: RequestSample): void {
    const now = this.clock.now();
    const minute = this.bucket(this.minutes, Math.floor(now / MINUTE_MS) * MINUTE_MS, MINUTES * MINUTE_MS, newMinute);
    const hour = this.bucket(this.hours, Math.floor(now / HOUR_MS) * HOUR_MS, HOURS * HOUR_MS, newHour);
    const failed = sample.status >= 400;
    const cost = sample.costUsd !== undefined && Number.isFinite(sample.costUsd) && sample.costUsd > 0 ? sample.costUsd : 0;
    minute.requests++;
    hour.requests++;
    minute.costUsd += cost;
    hour.costUsd += cost;
    if (failed) {
      minute.errors++;
      hour.errors++;
      const errorClass = sample.errorCode ?? `${Math.floor(sample.status / 100)}xx`;
      minute.errorClasses.set(errorClass, (minute.errorClasses.get(errorClass) ?? 0) + 1);
    } else if (sample.fallbackIndex !== undefined && Number.isInteger(sample.fallbackIndex) && sample.fallbackIndex >= 0) {
      minute.fallbacks.set(sample.fallbackIndex, (minute.fallbacks.get(sample.fallbackIndex) ?? 0) + 1);
    }
    minute.seen++;
    if (minute.latencies.length < this.perMinute) minute.latencies.push(sample.latencyMs);
    else {
      const slot = Math.floor(this.random() * minute.seen);
      if (slot < this.perMinute) minute.latencies[slot] = sample.latencyMs;
    }
  }

  summary(): RecentSummary {
    const now = this.clock.now();
    const minutes = this.minutes.filter((bucket) => bucket.start > now - MINUTES * MINUTE_MS);
    const errorClasses: Record<string, number> = {};
    const fallbacks: Record<string, number> = {};
    let requests = 0;
    let errors = 0;
    let costUsd = 0;
    const latencies: number[] = [];
    for (const bucket of minutes) {
      requests += bucket.requests;
      errors += bucket.errors;
      costUsd += bucket.costUsd;
      for (const [name, count] of bucket.errorClasses) errorClasses[name] = (errorClasses[name] ?? 0) + count;
      for (const [level, count] of bucket.fallbacks) fallbacks[String(level)] = (fallbacks[String(level)] ?? 0) + count;
      latencies.push(...bucket.latencies);
    }
    latencies.sort((a, b) => a - b);
    const currentHour = Math.floor(now / HOUR_MS) * HOUR_MS;
    const hourly = Array.from({ length: HOURS }, (_, i) => {
      const hourStart = currentHour - (HOURS - 1 - i) * HOUR_MS;
      const bucket = this.hours.find((each) => each.start === hourStart);
      return { hourStart, requests: bucket?.requests ?? 0, errors: bucket?.errors ?? 0, costUsd: roundUsd(bucket?.costUsd ?? 0) };
    });
    return {
      scope: 'container',
      windowSeconds: (MINUTES * MINUTE_MS) / 1_000,
      requests,
      errors,
      errorClasses,
      latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
      fallbacksByLevel: fallbacks,
      costUsd: roundUsd(costUsd),
      hourly,
    };
  }

  /** The bucket starting at `start`, created (and the ones older than `spanMs` dropped) as needed. */
  private bucket<B extends { start: number }>(buckets: B[], start: number, spanMs: number, create: (start: number) => B): B {
    const last = buckets[buckets.length - 1];
    if (last && last.start === start) return last;
    const fresh = create(start);
    // A clock that stepped back files the sample under the newest bucket instead of reordering.
    if (last && last.start > start) return last;
    buckets.push(fresh);
    while (buckets.length > 0 && buckets[0]!.start <= start - spanMs) buckets.shift();
    return fresh;
  }
}

const newMinute = (start: number): MinuteBucket => ({
  start,
  requests: 0,
  errors: 0,
  errorClasses: new Map(),
  fallbacks: new Map(),
  costUsd: 0,
  latencies: [],
  seen: 0,
});
const newHour = (start: number): HourBucket => ({ start, requests: 0, errors: 0, costUsd: 0 });

/** Nearest-rank percentile of sorted values; null when there are none. */
function percentile(sorted: readonly number[], share: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))]!;
}

/** Dollars to a millionth: sums of floats drift in the last digits otherwise. */
const roundUsd = (usd: number) => Math.round(usd * 1e6) / 1e6;
