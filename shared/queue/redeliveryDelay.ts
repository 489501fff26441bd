import { backoffDelay } from '../resilience/backoff';
import type { RandomSource } from '../resilience/clock';

/** SQS refuses a visibility timeout beyond 12 hours from the receive. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** SQS's longest per-message `DelaySeconds`: the longest wait a deferral can express. */
export const MAX_MESSAGE_DELAY_SECONDS = 900;

export interface RedeliveryBackoffOptions {
  /**
   * The ceiling after the first receive; it doubles with each receive after.
   * @default 5 — a provider's brief 5xx burst is usually over within seconds
   */
  baseSeconds: number;
  /**
   * No redelivery delay exceeds this, whatever the receive count.
   * @default 900 — 15 minutes, beyond which a task's submitter has likely given up waiting
   */
  capSeconds: number;
}

export const DEFAULT_REDELIVERY_BACKOFF: RedeliveryBackoffOptions = { baseSeconds: 5, capSeconds: 900 };

/**
 * The visibility timeout for a message failed on its `receiveCount`-th receive: full jitter
 * over `min(cap, base * 2^(receiveCount - 1))`, in whole seconds (what SQS takes), so a fleet
 * of failures spreads out instead of coming back together. Never above SQS's 12 h maximum
 * less the time the message has already been held (`elapsedSeconds` since the receive).
 */
export function backoffVisibilitySeconds(
  receiveCount: number,
  options: RedeliveryBackoffOptions,
  random: RandomSource,
  elapsedSeconds = 0,
): number {
  const retry = Math.max(0, Math.floor(receiveCount) - 1);
  const delay = backoffDelay(retry, { mode: 'full', baseMs: options.baseSeconds, capMs: options.capSeconds }, random);
  return clampVisibilitySeconds(Math.floor(delay), elapsedSeconds);
}

/** A delay in ms as a visibility timeout SQS accepts: whole seconds, rounded up, within 12 h of the receive. */
export function delayVisibilitySeconds(delayMs: number, elapsedSeconds = 0): number {
  return clampVisibilitySeconds(Math.ceil(Math.max(0, delayMs) / 1000), elapsedSeconds);
}

export function clampVisibilitySeconds(seconds: number, elapsedSeconds = 0): number {
  const ceiling = Math.max(0, MAX_VISIBILITY_TIMEOUT_SECONDS - Math.ceil(Math.max(0, elapsedSeconds)));
  return Math.min(Math.max(0, seconds), ceiling);
}
