export { budgetError, type BudgetErrorCode } from './budgetErrors';
export { costInPicoUsd, costOf, MICRO_PER_USD, microsToUsd, PICO_PER_USD, picoPerToken, picoToLedgerMicros, usdToMicros } from './cost';
export { DynamoSpendLedger } from './DynamoSpendLedger';
export { END_USER_HEADER, endUserOf } from './endUser';
export {
  estimateInputTokens,
  IMAGE_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  REQUEST_OVERHEAD_TOKENS,
  requestedOutputTokens,
} from './estimate';
export { DEFAULT_MAX_IMAGE_TOKENS, IMAGE_PART_TYPES, maxImageTokens } from './imageTokens';
export { inputTokenBound, measureInput, TOOL_USE_OVERHEAD_TOKENS, type InputMeasure } from './inputBound';
export { limitOutput, withOutputLimits } from './outputLimits';
export {
  fitToBudget,
  leastCase,
  MIN_OUTPUT_TOKENS,
  outputLimitOf,
  outputLimitsOf,
  worstCaseEstimate,
  type CandidateBound,
  type CostCandidate,
  type WorstCase,
} from './requestBound';
export { budgetPolicySchema, needsLedger, type BudgetPolicy } from './policy';
export {
  BUILT_IN_PRICES,
  DEFAULT_MAX_OUTPUT_TOKENS,
  FALLBACK_PRICE,
  PriceTable,
  pricesSchema,
  type ModelPrice,
  type PricesConfig,
  type PriceTableOptions,
} from './prices';
export {
  ALERT_SHARE,
  BUDGET_ALERT_METRIC,
  dayAttribute,
  dayCapAttribute,
  MONTH_ATTRIBUTE,
  SpendGuard,
  spendKey,
  TOKENS_ATTRIBUTE,
  USAGE_ABOVE_BOUND_METRIC,
  type Fit,
  type Reservation,
  type ReserveInput,
  type SettleResult,
  type SpendGuardOptions,
} from './SpendGuard';
export type { LedgerCounter, LedgerItem, ReserveOutcome, ReserveRequest, SpendLedger } from './SpendLedger';
export type { BudgetLogger, BudgetMetrics } from './types';
export { normalizeAnthropicUsage, normalizeBedrockUsage, normalizeGatewayUsage, normalizeOpenAiUsage, totalTokens, type TokenUsage } from './usage';
export { budgetWindows, SPEND_RETENTION_DAYS, TOKENS_RETENTION_HOURS, type BudgetWindows } from './windows';
