import type { Clock } from './clock';

/** One absolute point in time past which nothing of this request may run. */
export class Deadline {
  constructor(
    private readonly clock: Clock,
    readonly expiresAt: number,
  ) {}

  static after(clock: Clock, ms: number): Deadline {
    return new Deadline(clock, clock.now() + ms);
  }

  remainingMs(): number {
    return Math.max(0, this.expiresAt - this.clock.now());
  }

  get expired(): boolean {
    return this.remainingMs() <= 0;
  }
}

export interface RequestDeadlineInput {
  /** From Lambda's context; undefined outside Lambda. */
  lambdaRemainingMs?: number;
  /** Kept back from Lambda's remaining time to write the response and flush logs. */
  marginMs: number;
  /** The route's or gateway's own ceiling on a request. */
  maxRequestMs: number;
}

/** The request's budget: the Lambda's remaining time minus a margin, never above the maximum. */
export function requestBudgetMs({ lambdaRemainingMs, marginMs, maxRequestMs }: RequestDeadlineInput): number {
  if (lambdaRemainingMs === undefined) return maxRequestMs;
  return Math.max(0, Math.min(maxRequestMs, lambdaRemainingMs - marginMs));
}
