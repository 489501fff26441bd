import type { StoreMetrics } from '../telemetry/storeUnavailable';

/**
 * The slices of Powertools' Logger and Metrics the budget code uses, so tests pass recording
 * doubles and the Lambda passes the real ones (both satisfy these shapes).
 */
export interface BudgetLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface BudgetMetrics extends Partial<StoreMetrics> {
  addMetric(name: string, unit: 'Count', value: number): unknown;
}
