import type { CostCandidate } from '../budget/requestBound';
import type { Reservation, SpendGuard } from '../budget/SpendGuard';
import type { Principal } from './Principal';

export interface SpendRequest {
  principal: Principal;
  candidateModels: ReadonlyArray<string | CostCandidate>;
  body: Readonly<Record<string, unknown>>;
  endUser?: string;
}

/** The ledger scope of one key's own caps: its tenant plus the first 16 hex of its hash. */
export const keySpendScope = (principal: { tenant: { name: string }; keyId: string }) => `${principal.tenant.name}/key/${principal.keyId.slice(0, 16)}`;

/**
 * Reserves the request's worst case against the tenant's caps and, when the key has caps of its
 * own (`daily_budget_usd` / `monthly_budget_usd` on the key), against the key's own ledger too —
 * both writes at once, and if either refuses, the other is given back. The result settles and
 * releases both; the remaining budget reported is the tighter of the two, and so are the output
 * limits sent upstream (each hold paid for its own).
 */
export async function reserveSpend(spend: SpendGuard, request: SpendRequest): Promise<Reservation> {
  const { principal, candidateModels, body, endUser } = request;
  const { keyPolicy } = principal;
  const reservations = [spend.reserve({ tenant: principal.tenant.name, policy: principal.policy, candidateModels, body, endUser })];
  if (keyPolicy?.daily_budget_usd !== undefined || keyPolicy?.monthly_budget_usd !== undefined) {
    reservations.push(
      spend.reserve({
        tenant: keySpendScope(principal),
        policy: {
          daily_budget_usd: keyPolicy.daily_budget_usd,
          monthly_budget_usd: keyPolicy.monthly_budget_usd,
          budget_fail_open: principal.policy.budget_fail_open,
        },
        candidateModels,
        body,
      }),
    );
  }
  const settled = await Promise.allSettled(reservations);
  const held = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const refused = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (refused) {
    await Promise.all(held.map((reservation) => reservation.release()));
    throw refused.reason;
  }
  if (held.length === 1) return held[0]!;
  const outputLimits = tighterLimits(held);
  return {
    estimateUsd: Math.max(...held.map((reservation) => reservation.estimateUsd)),
    ...(outputLimits ? { outputLimits } : {}),
    settle: async (model, usage) => {
      const results = await Promise.all(held.map((reservation) => reservation.settle(model, usage)));
      const remaining = results.flatMap((result) => (result.remainingUsd === undefined ? [] : [result.remainingUsd]));
      return { costUsd: results[0]!.costUsd, ...(remaining.length > 0 ? { remainingUsd: Math.min(...remaining) } : {}) };
    },
    release: async () => {
      await Promise.all(held.map((reservation) => reservation.release()));
    },
  };
}

/** Per model, the smallest output limit of any hold; undefined when none set one. */
function tighterLimits(held: readonly Reservation[]): ReadonlyMap<string, number> | undefined {
  const limited = held.flatMap((reservation) => (reservation.outputLimits ? [reservation.outputLimits] : []));
  if (limited.length === 0) return undefined;
  const limits = new Map<string, number>();
  for (const each of limited) for (const [model, limit] of each) limits.set(model, Math.min(limit, limits.get(model) ?? limit));
  return limits;
}
