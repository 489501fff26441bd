import type { Clock } from './clock';
import { LruMap } from './lruMap';

export interface RetryBudgetOptions {
  /**
   * Share of first calls that may be retried within the window.
   * @default 0.1 — a dying upstream sees at most ~10% extra load from us, not 3x.
   */
  ratio: number;
  /**
   * Retries always allowed per window, so a quiet target still gets retried.
   * @default 10
   */
  minRetriesPerWindow: number;
  /** @default 10_000 */
  windowMs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = { ratio: 0.1, minRetriesPerWindow: 10, windowMs: 10_000 };

const SLOTS = 10;

/**
 * A per-target, per-container retry budget over a sliding window made of ten slots:
 * retries in the window may not exceed `minRetriesPerWindow + ratio * calls`.
 */
export class RetryBudget {
  private readonly calls = new Array<number>(SLOTS).fill(0);
  private readonly retries = new Array<number>(SLOTS).fill(0);
  private slotStart: number;
  private slot = 0;

  constructor(
    private readonly clock: Clock,
    private readonly options: RetryBudgetOptions = DEFAULT_RETRY_BUDGET,
  ) {
    this.slotStart = clock.now();
  }

  recordCall(): void {
    this.advance();
    this.calls[this.slot]! += 1;
  }

  /** Takes one retry from the budget if there is room; false means "do not retry". */
  tryAcquireRetry(): boolean {
    this.advance();
    const calls = sum(this.calls);
    const retries = sum(this.retries);
    if (retries >= this.options.minRetriesPerWindow + this.options.ratio * calls) return false;
    this.retries[this.slot]! += 1;
    return true;
  }

  private advance(): void {
    const slotMs = this.options.windowMs / SLOTS;
    const elapsedSlots = Math.floor((this.clock.now() - this.slotStart) / slotMs);
    if (elapsedSlots <= 0) return;
    for (let i = 1; i <= Math.min(elapsedSlots, SLOTS); i++) {
      const next = (this.slot + i) % SLOTS;
      this.calls[next] = 0;
      this.retries[next] = 0;
    }
    this.slot = (this.slot + elapsedSlots) % SLOTS;
    this.slotStart += elapsedSlots * slotMs;
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * Targets whose budgets one container keeps. A config names tens of targets; a route that
 * passes the client's model through makes one per model name, which a client chooses: beyond
 * this, the least recently used budget is dropped (it starts afresh if that target returns).
 */
export const MAX_RETRY_BUDGETS = 1_000;

/** One budget per target key, created on first use; at most `maxTargets` per container (LRU). */
export class RetryBudgets {
  private readonly budgets: LruMap<string, RetryBudget>;
  constructor(
    private readonly clock: Clock,
    private readonly options: RetryBudgetOptions = DEFAULT_RETRY_BUDGET,
    maxTargets = MAX_RETRY_BUDGETS,
  ) {
    this.budgets = new LruMap(maxTargets);
  }

  for(targetKey: string): RetryBudget {
    return this.budgets.getOrCreate(targetKey, () => new RetryBudget(this.clock, this.options));
  }

  /** Budgets held now (for tests and the status page). */
  get size(): number {
    return this.budgets.size;
  }
}
