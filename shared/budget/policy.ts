import * as z from 'zod';

const usd = z.number().positive().max(1_000_000_000);

/**
 * A tenant's spend caps, as fields of its tenant entry (merge with
 * `tenantSchema.extend(budgetPolicySchema.shape)`). Every cap is optional; a tenant with none
 * never touches the spend table. Days and months are UTC.
 */
export const budgetPolicySchema = z.strictObject({
  /** Cap on the tenant's spend per UTC day, in USD. */
  daily_budget_usd: usd.optional(),
  /** Cap on the tenant's spend per UTC calendar month, in USD. */
  monthly_budget_usd: usd.optional(),
  /** A request whose worst-case cost is above this is refused (400) before anything is spent. */
  max_request_cost_usd: usd.optional(),
  /** Cap on the tokens (prompt, cached and generated) one end user may use per UTC hour. */
  user_hourly_token_limit: z.number().int().positive().optional(),
  /**
   * What to do when the spend table cannot be reached: refuse with 503 (false), or serve the
   * request uncapped (true) — availability over money, chosen per tenant. @default false
   */
  budget_fail_open: z.boolean().default(false),
});

/** The caps as the guard reads them; the parsed config (with its defaults) fits. */
export type BudgetPolicy = Readonly<z.input<typeof budgetPolicySchema>>;

/** Whether serving a request under this policy needs the spend table at all. */
export function needsLedger(policy: BudgetPolicy, endUser: string | undefined): boolean {
  return (
    policy.daily_budget_usd !== undefined ||
    policy.monthly_budget_usd !== undefined ||
    (policy.user_hourly_token_limit !== undefined && endUser !== undefined && endUser !== '')
  );
}
