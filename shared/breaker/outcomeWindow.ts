/**
 * Buckets per window: the window slides in steps of a tenth of its length, so memory stays
 * constant however busy the target is (the same trade as the retry budget's).
 */
const BUCKETS = 10;

export interface OutcomeBucket {
  /** Epoch ms, a multiple of the bucket width. */
  readonly start: number;
  readonly calls: number;
  readonly failures: number;
}

/** One container's recent outcomes for one target. Immutable: every record returns a new one. */
export interface OutcomeWindow {
  /** Failures since the last success, however long ago. */
  readonly consecutiveFailures: number;
  /** Oldest first. */
  readonly buckets: readonly OutcomeBucket[];
}

export const EMPTY_WINDOW: OutcomeWindow = { consecutiveFailures: 0, buckets: [] };

const bucketWidth = (windowMs: number) => Math.max(1, Math.ceil(windowMs / BUCKETS));

/**
 * A bucket is dropped once its start leaves the window, so an outcome never counts for longer
 * than `windowMs` (and always for at least nine tenths of it).
 */
const live = (buckets: readonly OutcomeBucket[], now: number, windowMs: number) =>
  buckets.filter((bucket) => bucket.start > now - windowMs);

export function recordOutcome(window: OutcomeWindow, failed: boolean, now: number, windowMs: number): OutcomeWindow {
  const width = bucketWidth(windowMs);
  const start = now - (now % width);
  const buckets = live(window.buckets, now, windowMs);
  const last = buckets.at(-1);
  const failures = failed ? 1 : 0;
  return {
    consecutiveFailures: failed ? window.consecutiveFailures + 1 : 0,
    buckets:
      last?.start === start
        ? [...buckets.slice(0, -1), { start, calls: last.calls + 1, failures: last.failures + failures }]
        : [...buckets, { start, calls: 1, failures }],
  };
}

export function windowTotals(window: OutcomeWindow, now: number, windowMs: number): { calls: number; failures: number } {
  let calls = 0;
  let failures = 0;
  for (const bucket of live(window.buckets, now, windowMs)) {
    calls += bucket.calls;
    failures += bucket.failures;
  }
  return { calls, failures };
}
