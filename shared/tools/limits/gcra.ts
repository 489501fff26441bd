import type { ToolPriority } from '../types';

/**
 * The token bucket as GCRA (the generic cell rate algorithm, as in redis-cell and Stripe's
 * limiter): one number per bucket, the theoretical arrival time `tat` of the next call. Each call
 * moves `tat` on by one interval; a call is allowed while `tat` is at most `burst - 1` intervals
 * ahead of now. One number means one conditional DynamoDB write per call, with no clock-based
 * refill to run anywhere.
 */
export interface BucketShape {
  /** Calls per second the service allows. */
  ratePerSecond: number;
  /** Calls allowed back to back after a quiet spell. */
  burst: number;
}

export const intervalMs = (shape: BucketShape): number => 1_000 / shape.ratePerSecond;

/**
 * Background calls keep out of the last half of the burst, so when the bucket runs low the
 * interactive calls (an agent a person waits on) still find tokens and background work waits.
 */
export const BACKGROUND_BURST_SHARE = 0.5;

/** The latest `tat` at which a call of this priority may still go now. */
export function admissionLimit(shape: BucketShape, now: number, priority: ToolPriority): number {
  const burst = priority === 'background' ? Math.max(1, Math.floor(shape.burst * BACKGROUND_BURST_SHARE)) : shape.burst;
  return now + (burst - 1) * intervalMs(shape);
}

/** How long a call of this priority waits before `tat` comes within its limit. */
export function waitMs(shape: BucketShape, tat: number, now: number, priority: ToolPriority): number {
  return Math.max(0, Math.ceil(tat - admissionLimit(shape, now, priority)));
}

/**
 * What the service's own headers say, as the earliest `tat` consistent with them. `remaining: 0`
 * (or a Retry-After) holds every call until `resetAt`; `remaining: r` leaves at most `r` calls
 * for now. Every answer brings fresh headers, so the `r` calls are followed by the reset hold.
 */
export function tatFloorFromHeaders(shape: BucketShape, hint: { remaining: number; resetAt: number }, now: number): number {
  const interval = intervalMs(shape);
  if (hint.remaining <= 0) return hint.resetAt + (shape.burst - 1) * interval;
  return now + (shape.burst - hint.remaining) * interval;
}
