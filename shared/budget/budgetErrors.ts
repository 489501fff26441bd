import { GatewayError, type ErrorCode, type GatewayErrorOptions } from '../errors';

/**
 * The budget's error codes, as they belong in shared/errors/errorCodes.ts. Until they are there,
 * {@link budgetError} passes the status itself; once they are, it can become a plain
 * `new GatewayError(code, ...)` and this table can go.
 */
export const BUDGET_ERROR_CODES = {
  budget_exceeded: { status: 429, type: 'rate_limit_error' },
  request_cost_exceeds_limit: { status: 400, type: 'invalid_request_error' },
  budget_unavailable: { status: 503, type: 'api_error' },
} as const satisfies Record<string, { status: number; type: string }>;

export type BudgetErrorCode = keyof typeof BUDGET_ERROR_CODES;

export function budgetError(code: BudgetErrorCode, message: string, options: GatewayErrorOptions = {}): GatewayError {
  return new GatewayError(code as string as ErrorCode, message, { status: BUDGET_ERROR_CODES[code].status, ...options });
}
