import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { circuitBreakerConfigSchema, DEFAULT_BREAKER_CONFIG, resolveBreakerConfig } from '../../../shared/breaker';

describe('circuit breaker config', () => {
  it('accepts Portkey cb_config field names', () => {
    const input = {
      failure_threshold: 3,
      failure_threshold_percentage: 20,
      minimum_requests: 10,
      window_ms: 30_000,
      cooldown_interval: 60_000,
      max_cooldown_interval: 600_000,
    };
    assert.deepEqual(circuitBreakerConfigSchema.parse(input), input);
    assert.deepEqual(circuitBreakerConfigSchema.parse({}), {});
  });

  it('rejects unknown fields, impossible percentages and a cap below the cooldown', () => {
    const issues = (input: unknown) =>
      circuitBreakerConfigSchema.safeParse(input).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.code}`);
    assert.deepEqual(issues({ failure_status_codes: [500] }), [': unrecognized_keys']);
    assert.deepEqual(issues({ failure_threshold_percentage: 150 }), ['failure_threshold_percentage: too_big']);
    assert.deepEqual(issues({ failure_threshold: 0 }), ['failure_threshold: too_small']);
    assert.deepEqual(issues({ cooldown_interval: 10_000, max_cooldown_interval: 5_000 }), ['max_cooldown_interval: custom']);
  });

  it('resolves defaults, then what a target inherits from its parent', () => {
    assert.deepEqual(resolveBreakerConfig(undefined), {
      failureThreshold: 5,
      failureRatePercent: 50,
      minimumRequests: 10,
      windowMs: 60_000,
      cooldownMs: 5_000,
      maxCooldownMs: 300_000,
    });
    const parent = resolveBreakerConfig({ failure_threshold: 2, cooldown_interval: 1_000 });
    assert.deepEqual(resolveBreakerConfig({ minimum_requests: 4 }, parent), {
      ...DEFAULT_BREAKER_CONFIG,
      failureThreshold: 2,
      cooldownMs: 1_000,
      minimumRequests: 4,
    });
    assert.equal(resolveBreakerConfig({ cooldown_interval: 900_000 }).maxCooldownMs, 900_000, 'the cap follows a larger cooldown');
  });
});
