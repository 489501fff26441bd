export {
  FleetRateLimiter,
  RATE_LIMIT_METRICS,
  whichLimit,
  type FleetRateLimiterOptions,
  type RateLimitCheck,
  type RateLimitLogger,
  type RateLimitPermit,
} from './FleetRateLimiter';
export { RATE_LIMITED, rateLimitedError, type RateLimitName } from './rateLimitedError';
export { rateLimitUpdate, settleTokensUpdate, type RateLimitCharge } from './rateLimitUpdate';
export { RATE_COUNTER_TTL_MS, RATE_WINDOW_MS, rateLimitPk, rateWindow, type RateWindow } from './rateWindow';
