import { GatewayError, type GatewayErrorOptions } from '../errors';

export type BudgetErrorCode = 'budget_exceeded' | 'request_cost_exceeds_limit' | 'budget_unavailable';

export function budgetError(code: BudgetErrorCode, message: string, options: GatewayErrorOptions = {}): GatewayError {
  return new GatewayError(code, message, options);
}
