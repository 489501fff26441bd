import { createHash } from 'node:crypto';
import type { Clock } from '../resilience';
import { budgetError } from './budgetErrors';
import { costInPicoUsd, microsToUsd, PICO_PER_USD, picoToLedgerMicros, usdToMicros } from './cost';
import { worstCaseEstimate, type WorstCase } from './estimate';
import type { BudgetPolicy } from './policy';
import type { PriceTable } from './prices';
import type { LedgerCounter, LedgerItem, SpendLedger } from './SpendLedger';
import type { BudgetLogger, BudgetMetrics } from './types';
import { normalizeGatewayUsage, totalTokens } from './usage';
import { budgetWindows, type BudgetWindows } from './windows';

export interface SpendGuardOptions {
  ledger: SpendLedger;
  prices: PriceTable;
  clock: Pick<Clock, 'now'>;
  logger: BudgetLogger;
  metrics?: BudgetMetrics;
}

export interface ReserveInput {
  tenant: string;
  policy: BudgetPolicy;
  /** Every model the route may call (all its leaves); the dearest sets the worst case. */
  candidateModels: readonly string[];
  /** The client's validated body, in OpenAI's format. */
  body: Readonly<Record<string, unknown>>;
  /** The request's `user` field or `x-breakwater-user` header (see {@link endUserOf}). */
  endUser?: string;
}

export interface SettleResult {
  /** What the request cost, exactly (for `x-breakwater-cost-usd`). */
  costUsd: number;
  /** Room left under the tightest of the tenant's daily and monthly caps, when it has one. */
  remainingUsd?: number;
}

/** Money (or tokens) held for one request until it settles or releases. */
export interface Reservation {
  /** The worst-case cost that was checked and held. */
  readonly estimateUsd: number;
  /** Replaces the hold by the actual cost of `usage` (the OpenAI-shaped usage of the answer) on `model`. */
  settle(model: string, usage: unknown): Promise<SettleResult>;
  /** Gives the whole hold back: the upstream call failed and nothing was spent. */
  release(): Promise<void>;
}

/** Metric emitted once per tenant per window when spend first reaches {@link ALERT_SHARE} of a cap. */
export const BUDGET_ALERT_METRIC = 'BudgetAlert80';
/** 80 %: late enough not to cry wolf, early enough to raise a cap before requests start failing. */
export const ALERT_SHARE = 0.8;

type Window = 'day' | 'month' | 'hour';

/** One ledger item this request holds an amount on. */
interface Hold {
  kind: 'spend' | 'tokens';
  key: string;
  counters: LedgerCounter[];
  /** What the reserve added to every counter: the worst case, in microdollars or tokens. */
  reserved: number;
}

const ReservationState = { HELD: 'HELD', SETTLED: 'SETTLED', RELEASED: 'RELEASED' } as const;
type ReservationState = (typeof ReservationState)[keyof typeof ReservationState];

/** Key parts come from config and clients: encoded so `#` cannot forge another tenant's key. */
function keyPart(value: string): string {
  const encoded = encodeURIComponent(value);
  return encoded.length <= 200 ? encoded : `sha256-${createHash('sha256').update(value).digest('hex')}`;
}

const spendKey = (tenant: string, windows: BudgetWindows) => `spend#${keyPart(tenant)}#${windows.month}`;
const tokensKey = (tenant: string, user: string, windows: BudgetWindows) =>
  `tokens#${keyPart(tenant)}#${keyPart(user)}#${windows.hour}`;

const dayAttribute = (windows: BudgetWindows) => `day_${windows.day}_micro_usd`;
export const MONTH_ATTRIBUTE = 'month_micro_usd';
export const TOKENS_ATTRIBUTE = 'tokens';

const numberAt = (item: LedgerItem | undefined, attribute: string) => {
  const value = item?.[attribute];
  return typeof value === 'number' ? value : 0;
};

const describeError = (error: unknown) => ({
  error_name: (error as Error | undefined)?.name,
  error_message: String((error as Error | undefined)?.message ?? error),
});

/**
 * Strict spend caps. Before the upstream call, {@link reserve} holds the request's worst-case
 * cost with one conditional write per ledger item, so under any concurrency the recorded spend
 * never passes a cap (as long as the actual cost is within the estimate, which output always is).
 * After the call the reservation settles to the actual cost, or is released on failure.
 *
 * A crash between reserve and settle may only over-count, never under-count: the held estimate
 * stays recorded, and it is at least what the request could have cost.
 */
export class SpendGuard {
  constructor(private readonly options: SpendGuardOptions) {}

  /**
   * Checks the caps and holds the worst case. Throws `request_cost_exceeds_limit` (400) when the
   * request can never fit, `budget_exceeded` (429, Retry-After) when the window is full, and
   * `budget_unavailable` (503) when the ledger cannot be reached and the tenant fails closed.
   * A policy without daily, monthly or (with an end user) token caps makes no ledger call.
   */
  async reserve(input: ReserveInput): Promise<Reservation> {
    const { tenant, policy, endUser } = input;
    const { estimate, estimateMicros, countsTokens } = this.checkFits(input);

    const holds: Hold[] = [];
    const windows = budgetWindows(this.options.clock.now());
    if (policy.daily_budget_usd !== undefined || policy.monthly_budget_usd !== undefined) {
      holds.push({
        kind: 'spend',
        key: spendKey(tenant, windows),
        counters: [
          { label: 'month', attribute: MONTH_ATTRIBUTE, cap: optionalMicros(policy.monthly_budget_usd) },
          { label: 'day', attribute: dayAttribute(windows), cap: optionalMicros(policy.daily_budget_usd) },
        ],
        reserved: estimateMicros,
      });
    }
    if (countsTokens) {
      holds.push({
        kind: 'tokens',
        key: tokensKey(tenant, endUser!, windows),
        counters: [{ label: 'tokens', attribute: TOKENS_ATTRIBUTE, cap: policy.user_hourly_token_limit }],
        reserved: estimate.tokens,
      });
    }
    const reservation = new GuardedReservation(this.options, tenant, windows, estimate);
    if (holds.length === 0) return reservation;

    // Both items in parallel: the reserve sits on every request's critical path.
    const outcomes = await Promise.allSettled(
      holds.map((hold) =>
        this.options.ledger.reserve({
          key: hold.key,
          counters: hold.counters,
          amount: hold.reserved,
          expiresAt: hold.kind === 'spend' ? windows.spendExpiresAt : windows.tokensExpiresAt,
        }),
      ),
    );
    const held = holds.filter((_, i) => {
      const result = outcomes[i];
      return result?.status === 'fulfilled' && result.value.reserved;
    });
    const unreachable = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));

    if (unreachable.length > 0) {
      if (policy.budget_fail_open === true) {
        // Availability over money, as the tenant chose: what could not be held is not recorded either,
        // rather than adding a second slow write to a store that just failed.
        this.options.logger.warn('budget store unavailable; serving the request uncapped (budget_fail_open)', {
          tenant,
          ...describeError(unreachable[0]),
        });
        reservation.hold(held);
        return reservation;
      }
      this.options.logger.error('budget store unavailable; refusing the request (fail closed)', {
        tenant,
        ...describeError(unreachable[0]),
      });
      await reservation.giveBack(held);
      throw budgetError('budget_unavailable', 'the spend ledger is unavailable; the request was not sent', {
        cause: unreachable[0],
      });
    }

    const refused: Window[] = [];
    outcomes.forEach((outcome, i) => {
      const hold = holds[i]!;
      if (outcome.status !== 'fulfilled' || outcome.value.reserved) return;
      refused.push(...refusedWindows(hold, outcome.value.item));
    });
    if (refused.length > 0) {
      await reservation.giveBack(held);
      const retryAfter = Math.max(...refused.map((window) => windows.resetsInSeconds[window]));
      this.options.logger.info('budget_exceeded', { event: 'budget_exceeded', tenant, windows: refused, estimate_usd: estimate.usd });
      throw budgetError('budget_exceeded', exceededMessage(refused, policy, retryAfter), {
        headers: { 'retry-after': String(retryAfter) },
        details: { windows: refused },
      });
    }

    reservation.hold(held);
    return reservation;
  }

  /**
   * Throws `request_cost_exceeds_limit` when no wait would ever let the request through (its worst
   * case is above the per-request cap, a whole cap, or the user's token cap), without touching the
   * ledger: the task API refuses such a request at submit time instead of queueing a sure failure.
   */
  checkFits(input: ReserveInput): { estimate: WorstCase; estimateMicros: number; countsTokens: boolean } {
    const { policy, endUser } = input;
    const estimate = worstCaseEstimate(input.body, input.candidateModels, this.options.prices);
    const estimateMicros = picoToLedgerMicros(estimate.picoUsd);
    const countsTokens = policy.user_hourly_token_limit !== undefined && endUser !== undefined && endUser !== '';
    this.refuseIfNeverFits(policy, estimate, estimateMicros, countsTokens);
    return { estimate, estimateMicros, countsTokens };
  }

  /** Refusals that need no ledger: no wait would let this request through. */
  private refuseIfNeverFits(policy: BudgetPolicy, estimate: WorstCase, estimateMicros: number, countsTokens: boolean): void {
    const limits: Array<[string, number | undefined]> = [
      ['max_request_cost_usd', policy.max_request_cost_usd],
      ['daily_budget_usd', policy.daily_budget_usd],
      ['monthly_budget_usd', policy.monthly_budget_usd],
    ];
    for (const [name, limit] of limits) {
      if (limit === undefined || estimateMicros <= usdToMicros(limit)) continue;
      throw budgetError(
        'request_cost_exceeds_limit',
        `this request may cost up to $${estimate.usd} on ${estimate.model}, above the ${name} of $${limit}; lower max_tokens or shorten the prompt`,
        { details: { estimate_usd: estimate.usd, limit: name, limit_usd: limit } },
      );
    }
    const tokenLimit = policy.user_hourly_token_limit;
    if (countsTokens && tokenLimit !== undefined && estimate.tokens > tokenLimit) {
      throw budgetError(
        'request_cost_exceeds_limit',
        `this request may use up to ${estimate.tokens} tokens, above the user_hourly_token_limit of ${tokenLimit}; lower max_tokens`,
        { details: { estimate_tokens: estimate.tokens, limit: 'user_hourly_token_limit', limit_tokens: tokenLimit } },
      );
    }
  }
}

const optionalMicros = (usd: number | undefined) => (usd === undefined ? undefined : usdToMicros(usd));

/** Which capped windows of a refused hold are full; all of them when the store did not say. */
function refusedWindows(hold: Hold, item: LedgerItem | undefined): Window[] {
  if (hold.kind === 'tokens') return ['hour'];
  const capped = hold.counters.filter((counter) => counter.cap !== undefined);
  const full = item ? capped.filter(({ attribute, cap }) => numberAt(item, attribute) + hold.reserved > cap!) : capped;
  return (full.length > 0 ? full : capped).map(({ label }) => label as Window);
}

function exceededMessage(refused: readonly Window[], policy: BudgetPolicy, retryAfter: number): string {
  const parts = [...new Set(refused)].map((window) =>
    window === 'day'
      ? `daily budget of $${policy.daily_budget_usd}`
      : window === 'month'
        ? `monthly budget of $${policy.monthly_budget_usd}`
        : `hourly token limit of ${policy.user_hourly_token_limit} for this user`,
  );
  return `the ${parts.join(' and the ')} would be exceeded; retry in ${retryAfter} s`;
}

class GuardedReservation implements Reservation {
  private state: ReservationState = ReservationState.HELD;
  private holds: Hold[] = [];
  readonly estimateUsd: number;

  constructor(
    private readonly options: SpendGuardOptions,
    private readonly tenant: string,
    private readonly windows: BudgetWindows,
    private readonly estimate: WorstCase,
  ) {
    this.estimateUsd = estimate.usd;
  }

  hold(holds: Hold[]): void {
    this.holds = holds;
  }

  async settle(model: string, usage: unknown): Promise<SettleResult> {
    const tokensUsage = normalizeGatewayUsage(usage);
    let costPico: number;
    let tokens: number;
    if (tokensUsage) {
      costPico = costInPicoUsd(tokensUsage, this.options.prices.priceOf(model));
      tokens = totalTokens(tokensUsage);
    } else {
      // No usage to price: keep the worst case rather than record nothing.
      this.options.logger.warn('answer carries no token usage; recording its worst-case cost', { tenant: this.tenant, model });
      costPico = this.estimate.picoUsd;
      tokens = this.estimate.tokens;
    }
    const costUsd = costPico / PICO_PER_USD;
    if (this.state !== ReservationState.HELD) return { costUsd };
    this.state = ReservationState.SETTLED;

    const costMicros = picoToLedgerMicros(costPico);
    let spendItem: LedgerItem | undefined;
    await Promise.all(
      this.holds.map(async (hold) => {
        const actual = hold.kind === 'spend' ? costMicros : tokens;
        try {
          const item = await this.options.ledger.adjust(hold.key, hold.counters, actual - hold.reserved);
          if (hold.kind === 'spend') spendItem = item;
        } catch (error) {
          // The hold stays as reserved: over-counted by (estimate - actual), never under-counted.
          this.options.logger.warn('could not settle a spend reservation; the estimate stays recorded', {
            tenant: this.tenant,
            kind: hold.kind,
            ...describeError(error),
          });
        }
      }),
    );
    if (!spendItem) return { costUsd };
    const spend = this.holds.find((hold) => hold.kind === 'spend')!;
    await this.alertIfCrossed(spend, spendItem);
    return { costUsd, remainingUsd: remainingUsd(spend, spendItem) };
  }

  async release(): Promise<void> {
    if (this.state !== ReservationState.HELD) return;
    this.state = ReservationState.RELEASED;
    await this.giveBack(this.holds);
  }

  /** Takes held amounts back off the ledger; a failure leaves an over-count, logged. */
  async giveBack(holds: readonly Hold[]): Promise<void> {
    await Promise.all(
      holds
        .filter((hold) => hold.reserved !== 0)
        .map(async (hold) => {
          try {
            await this.options.ledger.adjust(hold.key, hold.counters, -hold.reserved);
          } catch (error) {
            this.options.logger.warn('could not release a spend reservation; the estimate stays recorded', {
              tenant: this.tenant,
              kind: hold.kind,
              ...describeError(error),
            });
          }
        }),
    );
  }

  /**
   * One alert per tenant per window across the fleet: whoever first sees the threshold passed
   * sets the window's flag with `attribute_not_exists`, and only the one whose write lands alerts.
   */
  private async alertIfCrossed(spend: Hold, item: LedgerItem): Promise<void> {
    for (const counter of spend.counters) {
      if (counter.cap === undefined) continue;
      const spent = numberAt(item, counter.attribute);
      if (spent < counter.cap * ALERT_SHARE) continue;
      const flag = counter.label === 'day' ? `alert80_day_${this.windows.day}` : 'alert80_month';
      if (item[flag] !== undefined) continue;
      try {
        const first = await this.options.ledger.setFlagOnce(spend.key, flag, Math.floor(this.options.clock.now() / 1_000));
        if (!first) continue;
        this.options.logger.info('budget_alert', {
          event: 'budget_alert',
          tenant: this.tenant,
          window: counter.label,
          cap_usd: microsToUsd(counter.cap),
          spent_usd: microsToUsd(spent),
        });
        this.options.metrics?.addMetric(BUDGET_ALERT_METRIC, 'Count', 1);
      } catch (error) {
        this.options.logger.warn('could not record a budget alert', { tenant: this.tenant, window: counter.label, ...describeError(error) });
      }
    }
  }
}

function remainingUsd(spend: Hold, item: LedgerItem): number | undefined {
  const room = spend.counters
    .filter((counter) => counter.cap !== undefined)
    .map(({ attribute, cap }) => Math.max(0, cap! - numberAt(item, attribute)));
  return room.length === 0 ? undefined : microsToUsd(Math.min(...room));
}
