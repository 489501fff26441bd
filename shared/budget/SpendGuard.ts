import { createHash } from 'node:crypto';
import type { Clock } from '../resilience';
import { budgetError } from './budgetErrors';
import { costInPicoUsd, microsToUsd, PICO_PER_USD, picoToLedgerMicros, usdToMicros } from './cost';
import type { BudgetPolicy } from './policy';
import type { PriceTable } from './prices';
import { fitToBudget, leastCase, outputLimitsOf, worstCaseEstimate, type CostCandidate, type WorstCase } from './requestBound';
import type { LedgerCounter, LedgerItem, ReserveOutcome, SpendLedger } from './SpendLedger';
import type { BudgetLogger, BudgetMetrics } from './types';
import { normalizeGatewayUsage, totalTokens } from './usage';
import { budgetWindows, type BudgetWindows } from './windows';
import { STORES } from '../telemetry/metricNames';
import { recordStoreUnavailable, type StoreMetrics } from '../telemetry/storeUnavailable';

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
  /**
   * Every target the route may call (all its leaves), or just their models; the dearest sets
   * the worst case. A target's override_params and default output limit make the bound tighter.
   */
  candidateModels: ReadonlyArray<string | CostCandidate>;
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
  /**
   * Per model, the most output tokens a choice may be asked for: what the hold paid for. Set
   * whenever the tenant has a cap; the gateway sends it upstream as `max_tokens` (see
   * `withOutputLimits`), so the upstream cannot bill more than was held.
   */
  readonly outputLimits?: ReadonlyMap<string, number>;
  /** Replaces the hold by the actual cost of `usage` (the OpenAI-shaped usage of the answer) on `model`. */
  settle(model: string, usage: unknown): Promise<SettleResult>;
  /** Gives the whole hold back: the upstream call failed and nothing was spent. */
  release(): Promise<void>;
}

/** Metric emitted once per tenant per window when spend first reaches {@link ALERT_SHARE} of a cap. */
export const BUDGET_ALERT_METRIC = 'BudgetAlert80';
/** 80 %: late enough not to cry wolf, early enough to raise a cap before requests start failing. */
export const ALERT_SHARE = 0.8;
/** Metric emitted when an upstream reports more usage than its request could use (it lied, or a bound is wrong). */
export const USAGE_ABOVE_BOUND_METRIC = 'UsageAboveBound';
const PICO_PER_MICRO = PICO_PER_USD / 1e6;

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

/** The month's spend item of a tenant (or of a key's own ledger scope). */
export const spendKey = (tenant: string, windows: BudgetWindows) => `spend#${keyPart(tenant)}#${windows.month}`;
const tokensKey = (tenant: string, user: string, windows: BudgetWindows) =>
  `tokens#${keyPart(tenant)}#${keyPart(user)}#${windows.hour}`;

/** The day's total on the month's spend item. */
export const dayAttribute = (windows: BudgetWindows) => `day_${windows.day}_micro_usd`;
/**
 * An operator's cap for the day (admin API), in microdollars, on the month's spend item: it
 * replaces the policy's daily cap for that day only, and the next day's reads past it.
 */
export const dayCapAttribute = (windows: BudgetWindows) => `day_${windows.day}_cap_micro_usd`;
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

/** What {@link SpendGuard.checkFits} found: the bound to hold, cut to the caps. */
export interface Fit {
  estimate: WorstCase;
  estimateMicros: number;
  countsTokens: boolean;
  /** The tenant has a cap, so the bound is sent upstream and the hold must cover every answer. */
  enforced: boolean;
}

/**
 * Strict spend caps. Before the upstream call, {@link reserve} holds an upper bound of what the
 * request can cost (see requestBound.ts) with one conditional write per ledger item; the output
 * part of that bound is sent upstream as `max_tokens`, so the upstream cannot bill more. Under
 * any concurrency and any input the recorded spend never passes a cap: an answer whose reported
 * usage is above its hold (an upstream that lies) is recorded at the hold, and flagged.
 * After the call the reservation settles to the actual cost, or is released on failure.
 *
 * A crash between reserve and settle may only over-count, never under-count: the held bound
 * stays recorded, and it is at least what the request could have cost.
 */
export class SpendGuard {
  constructor(private readonly options: SpendGuardOptions) {}

  /**
   * Checks the caps and holds the bound. When the window's room cannot pay for the request's
   * full output, the output is cut to what it can pay for (down to `MIN_OUTPUT_TOKENS`),
   * with a second conditional write. Throws `request_cost_exceeds_limit` (400) when the request
   * can never fit, `budget_exceeded` (429, Retry-After) when the window is full, and
   * `budget_unavailable` (503) when the ledger cannot be reached and the tenant fails closed.
   * A policy without daily, monthly or (with an end user) token caps makes no ledger call.
   */
  async reserve(input: ReserveInput): Promise<Reservation> {
    const { tenant, policy, endUser } = input;
    const fit = this.checkFits(input);
    let { estimate } = fit;

    const windows = budgetWindows(this.options.clock.now());
    const spendHold: Hold | undefined =
      policy.daily_budget_usd !== undefined || policy.monthly_budget_usd !== undefined
        ? {
            kind: 'spend',
            key: spendKey(tenant, windows),
            counters: [
              { label: 'month', attribute: MONTH_ATTRIBUTE, cap: optionalMicros(policy.monthly_budget_usd) },
              { label: 'day', attribute: dayAttribute(windows), cap: optionalMicros(policy.daily_budget_usd) },
            ],
            reserved: fit.estimateMicros,
          }
        : undefined;
    const tokensHold: Hold | undefined = fit.countsTokens
      ? {
          kind: 'tokens',
          key: tokensKey(tenant, endUser!, windows),
          counters: [{ label: 'tokens', attribute: TOKENS_ATTRIBUTE, cap: policy.user_hourly_token_limit }],
          reserved: estimate.tokens,
        }
      : undefined;
    const holds = [spendHold, tokensHold].filter((hold): hold is Hold => hold !== undefined);
    const reservation = () => new GuardedReservation(this.options, tenant, windows, estimate, fit.enforced);
    if (holds.length === 0) return reservation();

    // Both items in parallel: the reserve sits on every request's critical path.
    const place = (hold: Hold) =>
      this.options.ledger.reserve({
        key: hold.key,
        counters: hold.counters,
        amount: hold.reserved,
        expiresAt: hold.kind === 'spend' ? windows.spendExpiresAt : windows.tokensExpiresAt,
      });
    const outcomes = await Promise.allSettled(holds.map(place));
    if (spendHold) {
      const at = holds.indexOf(spendHold);
      outcomes[at] = await applyDayCapOverride(this.options, spendHold, outcomes[at]!, windows, () => place(spendHold));
    }

    // The spend window is too full for the whole bound (and nothing else refused): cut the output
    // to the room it has left.
    const spendAt = spendHold ? holds.indexOf(spendHold) : -1;
    const first = outcomes[spendAt];
    const othersHeld = outcomes.every((outcome, i) => i === spendAt || (outcome.status === 'fulfilled' && outcome.value.reserved));
    if (spendHold && othersHeld && first?.status === 'fulfilled' && !first.value.reserved && first.value.item) {
      const fitted = fitToBudget(estimate, roomMicros(spendHold, first.value.item) * PICO_PER_MICRO);
      if (fitted) {
        spendHold.reserved = picoToLedgerMicros(fitted.picoUsd);
        [outcomes[spendAt]] = await Promise.allSettled([place(spendHold)]);
        const second = outcomes[spendAt];
        if (second?.status === 'fulfilled' && second.value.reserved) estimate = fitted;
      }
    }

    const held = holds.filter((_, i) => {
      const result = outcomes[i];
      return result?.status === 'fulfilled' && result.value.reserved;
    });
    const unreachable = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));

    if (unreachable.length > 0) {
      if (policy.budget_fail_open === true) {
        // Availability over money, as the tenant chose: what could not be held is not recorded either,
        // rather than adding a second slow write to a store that just failed.
        // Counted here: the request succeeds, so no error code tells the request metrics.
        if (this.options.metrics?.singleMetric) recordStoreUnavailable(this.options.metrics as StoreMetrics, STORES.SPEND);
        this.options.logger.warn('budget store unavailable; serving the request uncapped (budget_fail_open)', {
          tenant,
          ...describeError(unreachable[0]),
        });
        return reservation().hold(held);
      }
      this.options.logger.error('budget store unavailable; refusing the request (fail closed)', {
        tenant,
        ...describeError(unreachable[0]),
      });
      await giveBack(this.options, tenant, held);
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
      await giveBack(this.options, tenant, held);
      const retryAfter = Math.max(...refused.map((window) => windows.resetsInSeconds[window]));
      this.options.logger.info('budget_exceeded', { event: 'budget_exceeded', tenant, windows: refused, estimate_usd: estimate.usd });
      // The day's cap as enforced: the operator's for today, when set.
      const dayCap = spendHold?.counters.find((counter) => counter.label === 'day')?.cap;
      const shown = dayCap === undefined ? policy : { ...policy, daily_budget_usd: microsToUsd(dayCap) };
      throw budgetError('budget_exceeded', exceededMessage(refused, shown, retryAfter), {
        headers: { 'retry-after': String(retryAfter) },
        details: { windows: refused },
      });
    }

    return reservation().hold(held);
  }

  /**
   * Throws `request_cost_exceeds_limit` when no wait would ever let the request through (its bound
   * is above the per-request cap, its least cost above a whole cap, or its tokens above the user's
   * token cap), without touching the ledger: the task API refuses such a request at submit time
   * instead of queueing a sure failure. Returns the bound with its output cut to the caps.
   */
  checkFits(input: ReserveInput): Fit {
    const { policy, endUser } = input;
    const full = worstCaseEstimate(input.body, input.candidateModels, this.options.prices);
    const countsTokens = policy.user_hourly_token_limit !== undefined && endUser !== undefined && endUser !== '';
    const enforced =
      countsTokens ||
      policy.daily_budget_usd !== undefined ||
      policy.monthly_budget_usd !== undefined ||
      policy.max_request_cost_usd !== undefined;

    // A price limit per request: what the client asked for must fit it, uncut.
    const perRequest = policy.max_request_cost_usd;
    if (perRequest !== undefined && picoToLedgerMicros(full.picoUsd) > usdToMicros(perRequest)) {
      throw budgetError(
        'request_cost_exceeds_limit',
        `this request may cost up to $${full.usd} on ${full.model}, above the max_request_cost_usd of $${perRequest}; lower max_tokens or shorten the prompt`,
        { details: { estimate_usd: full.usd, limit: 'max_request_cost_usd', limit_usd: perRequest } },
      );
    }
    // A whole window's cap: the output is cut to fit it, down to the least worth serving.
    let estimate = full;
    const caps: Array<[string, number | undefined]> = [
      ['daily_budget_usd', policy.daily_budget_usd],
      ['monthly_budget_usd', policy.monthly_budget_usd],
    ];
    for (const [name, limit] of caps) {
      if (limit === undefined) continue;
      const fitted = fitToBudget(estimate, usdToMicros(limit) * PICO_PER_MICRO);
      if (fitted) {
        estimate = fitted;
        continue;
      }
      const least = leastCase(estimate);
      throw budgetError(
        'request_cost_exceeds_limit',
        `this request costs up to $${least.usd} on ${least.model} even with its answer cut short, above the ${name} of $${limit}; shorten the prompt`,
        { details: { estimate_usd: least.usd, limit: name, limit_usd: limit } },
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
    return { estimate, estimateMicros: picoToLedgerMicros(estimate.picoUsd), countsTokens, enforced };
  }
}

/**
 * The operator's cap for today, when the spend item has one (read from the reserve's own answer,
 * so it costs no extra read): the hold's day counter takes it. A refusal under a lower policy cap
 * is asked again under the raised one (conditional, like the first); a hold that the policy's cap
 * let through but the lowered one does not is given back and refused.
 */
async function applyDayCapOverride(
  options: SpendGuardOptions,
  hold: Hold,
  outcome: PromiseSettledResult<ReserveOutcome>,
  windows: BudgetWindows,
  place: () => Promise<ReserveOutcome>,
): Promise<PromiseSettledResult<ReserveOutcome>> {
  const day = hold.counters.find((counter) => counter.label === 'day');
  const override = outcome.status === 'fulfilled' ? outcome.value.item?.[dayCapAttribute(windows)] : undefined;
  if (!day || outcome.status !== 'fulfilled' || typeof override !== 'number' || override === day.cap) return outcome;
  const policyCap = day.cap;
  day.cap = override;
  if (!outcome.value.reserved) {
    if (policyCap !== undefined && override <= policyCap) return outcome;
    const [again] = await Promise.allSettled([place()]);
    return again!;
  }
  if (numberAt(outcome.value.item, day.attribute) <= override) return outcome;
  try {
    return { status: 'fulfilled', value: { reserved: false, item: await options.ledger.adjust(hold.key, hold.counters, -hold.reserved) } };
  } catch (error) {
    return { status: 'rejected', reason: error };
  }
}

/** Room left under the tightest capped counter of a spend item, in microdollars. */
function roomMicros(hold: Hold, item: LedgerItem): number {
  const room = hold.counters.filter((counter) => counter.cap !== undefined).map(({ attribute, cap }) => cap! - numberAt(item, attribute));
  return Math.max(0, Math.min(...room));
}

/** Takes held amounts back off the ledger; a failure leaves an over-count, logged. */
async function giveBack(options: SpendGuardOptions, tenant: string, holds: readonly Hold[]): Promise<void> {
  await Promise.all(
    holds
      .filter((hold) => hold.reserved !== 0)
      .map(async (hold) => {
        try {
          await options.ledger.adjust(hold.key, hold.counters, -hold.reserved);
        } catch (error) {
          options.logger.warn('could not release a spend reservation; the estimate stays recorded', {
            tenant,
            kind: hold.kind,
            ...describeError(error),
          });
        }
      }),
  );
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
  readonly outputLimits?: ReadonlyMap<string, number>;

  constructor(
    private readonly options: SpendGuardOptions,
    private readonly tenant: string,
    private readonly windows: BudgetWindows,
    private readonly estimate: WorstCase,
    /** The bound is sent upstream: no answer can cost more than it, so none is recorded above it. */
    private readonly enforced: boolean,
  ) {
    this.estimateUsd = estimate.usd;
    if (enforced) this.outputLimits = outputLimitsOf(estimate);
  }

  hold(holds: Hold[]): this {
    this.holds = holds;
    return this;
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
    if (this.enforced && (costPico > this.estimate.picoUsd || tokens > this.estimate.tokens)) {
      // The upstream was held to the bound, so usage above it is a lie or a bound gone wrong:
      // the hold is what is recorded, and someone is told.
      this.options.logger.warn('reported usage is above what the request could use; recording the reservation', {
        tenant: this.tenant,
        model,
        reported_usd: costPico / PICO_PER_USD,
        reported_tokens: tokens,
        reserved_usd: this.estimate.usd,
        reserved_tokens: this.estimate.tokens,
      });
      this.options.metrics?.addMetric(USAGE_ABOVE_BOUND_METRIC, 'Count', 1);
      costPico = Math.min(costPico, this.estimate.picoUsd);
      tokens = Math.min(tokens, this.estimate.tokens);
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
    await giveBack(this.options, this.tenant, this.holds);
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
