/**
 * How a failed record comes back, decided by whoever failed it and carried out by the
 * {@link jitteredRedelivery} middleware:
 * - `backoff`: a transient failure; the message becomes visible again after a full-jitter
 *   exponential delay computed from its receive count.
 * - `delay`: visible again after exactly `delayMs` (someone else holds the task until then, or the
 *   upstream named a time and it is too far off to defer).
 * - `defer`: the upstream named a time (`Retry-After`: an open circuit, a rate-limit reset);
 *   the message is sent again with that delay and the delivery counts as handled, so the wait
 *   does not use up one of the receives that lead to the DLQ.
 * - `untouched`: not looked at (the invocation ran out of time, or the body is not a task);
 *   the message comes back when its current visibility timeout ends.
 */
export const REDELIVERY_KINDS = { BACKOFF: 'backoff', DELAY: 'delay', DEFER: 'defer', UNTOUCHED: 'untouched' } as const;

export type Redelivery =
  | { kind: 'backoff' }
  | { kind: 'delay'; delayMs: number }
  | { kind: 'defer'; delayMs: number }
  | { kind: 'untouched' };

/** A record's failure with its redelivery instruction. Identity by flag, like GatewayError. */
export class RedeliveryError extends Error {
  readonly isRedeliveryError = true;

  constructor(
    message: string,
    readonly redelivery: Redelivery,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'RedeliveryError';
  }
}

export const isRedeliveryError = (error: unknown): error is RedeliveryError =>
  typeof error === 'object' && error !== null && (error as { isRedeliveryError?: unknown }).isRedeliveryError === true;

/** Anything thrown without an instruction is an unexpected, transient failure: back off. */
export const redeliveryOf = (reason: unknown): Redelivery => (isRedeliveryError(reason) ? reason.redelivery : { kind: 'backoff' });
