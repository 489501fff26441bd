import * as z from 'zod';

// Built on first use, as every config schema: building zod schemas at import costs cold-start CPU.
const positiveMs = () => z.number().int().positive();

/**
 * A route's `cb_config`, named after Portkey 2.0's so a Portkey config carries over. Every
 * field is optional: targets inherit their parent's values, then {@link DEFAULT_BREAKER_CONFIG}.
 */
export const circuitBreakerConfigSchema = z.lazy(() =>
  z
    .strictObject({
      /** Opens after this many failures in a row (in one container). */
      failure_threshold: z.number().int().positive().optional(),
      /** Opens when at least this share of calls in the window failed (0-100)... */
      failure_threshold_percentage: z.number().positive().max(100).optional(),
      /** ...once the window holds at least this many calls, so two calls and one failure is not "50%". */
      minimum_requests: z.number().int().positive().optional(),
      /** Length of the rolling window the failure rate is measured over. */
      window_ms: positiveMs().optional(),
      /** How long the breaker stays open after its first trip; doubled on every trip in a row. */
      cooldown_interval: positiveMs().optional(),
      /** Cap on the doubled cooldown, and on a Retry-After cooldown. */
      max_cooldown_interval: positiveMs().optional(),
    })
    .refine(
      (config) =>
        config.cooldown_interval === undefined ||
        config.max_cooldown_interval === undefined ||
        config.max_cooldown_interval >= config.cooldown_interval,
      { path: ['max_cooldown_interval'], message: '`max_cooldown_interval` must be at least `cooldown_interval`' },
    ),
);

export type CircuitBreakerConfig = z.infer<typeof circuitBreakerConfigSchema>;

/** A breaker's settings after defaults and inheritance. */
export interface ResolvedBreakerConfig {
  /** @default 5 */
  failureThreshold: number;
  /** @default 50 */
  failureRatePercent: number;
  /** @default 10 */
  minimumRequests: number;
  /** @default 60_000 */
  windowMs: number;
  /** @default 5_000 */
  cooldownMs: number;
  /** @default 300_000 */
  maxCooldownMs: number;
}

/**
 * Five failures in a row, or half the calls of the last minute past ten calls, mean the target
 * is down rather than unlucky. The first cooldown is short (5 s) because most provider outages
 * are blips; doubling reaches the 5-minute cap after seven failed probes in a row, so a long
 * outage costs the fleet one probe every five minutes.
 */
export const DEFAULT_BREAKER_CONFIG: ResolvedBreakerConfig = {
  failureThreshold: 5,
  failureRatePercent: 50,
  minimumRequests: 10,
  windowMs: 60_000,
  cooldownMs: 5_000,
  maxCooldownMs: 300_000,
};

/**
 * Resolves a `cb_config` over what it inherits (a parent target's resolved config, or the
 * defaults). A cooldown raised past an inherited cap raises the cap with it.
 */
export function resolveBreakerConfig(
  config: CircuitBreakerConfig | undefined,
  inherited: ResolvedBreakerConfig = DEFAULT_BREAKER_CONFIG,
): ResolvedBreakerConfig {
  const cooldownMs = config?.cooldown_interval ?? inherited.cooldownMs;
  return {
    failureThreshold: config?.failure_threshold ?? inherited.failureThreshold,
    failureRatePercent: config?.failure_threshold_percentage ?? inherited.failureRatePercent,
    minimumRequests: config?.minimum_requests ?? inherited.minimumRequests,
    windowMs: config?.window_ms ?? inherited.windowMs,
    cooldownMs,
    maxCooldownMs: Math.max(config?.max_cooldown_interval ?? inherited.maxCooldownMs, cooldownMs),
  };
}
