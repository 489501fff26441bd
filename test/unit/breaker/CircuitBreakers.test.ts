import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BreakerMetric,
  CircuitBreakers,
  MemoryBreakerStore,
  type BreakerOutcome,
  type BreakerPermit,
  type ResolvedBreakerConfig,
} from '../../../shared/breaker';
import { MAX_TRACKED_TARGETS } from '../../../shared/breaker';
import { StoreTimeoutError } from '../../../shared/stores/boundedCalls';
import { fakeClock } from '../../support/fakeClock';
import { countingStore, recordingLogger, recordingMetrics } from './recorders';

const config: ResolvedBreakerConfig = {
  failureThreshold: 3,
  failureRatePercent: 50,
  minimumRequests: 100,
  windowMs: 60_000,
  cooldownMs: 5_000,
  maxCooldownMs: 60_000,
};
const KEY = 'openai|gpt-4o|https://api.openai.com/v1';
const FAILURE: BreakerOutcome = { kind: 'failure' };

function setup(options: { cacheTtlMs?: number; maxTargets?: number } = {}) {
  const clock = fakeClock();
  const store = countingStore(new MemoryBreakerStore());
  const logger = recordingLogger();
  const metrics = recordingMetrics();
  const breakers = new CircuitBreakers({ store, clock, logger, metrics, probeLeaseMs: 30_000, ...options });
  return { clock, store, logger, metrics, breakers };
}

async function allowed(permit: Promise<BreakerPermit>) {
  const result = await permit;
  assert.equal(result.allowed, true, `expected an allowed permit, got ${JSON.stringify(result)}`);
  assert.ok(result.allowed);
  return result;
}

async function trip(breakers: CircuitBreakers) {
  for (let i = 0; i < config.failureThreshold; i++) await (await allowed(breakers.acquire(KEY, config))).report(FAILURE);
}

describe('CircuitBreakers (in-memory store, fake clock)', () => {
  it('the healthy path writes nothing and reads at most once per cache TTL', async () => {
    const { clock, store, breakers } = setup({ cacheTtlMs: 1_000 });
    for (let i = 0; i < 300; i++) {
      const permit = await allowed(breakers.acquire(KEY, config));
      assert.equal(permit.probe, false);
      await permit.report({ kind: 'success' });
      clock.advance(10);
    }
    assert.equal(store.gets, 3, '3 s of traffic: one read per second');
    assert.equal(store.transitions.length, 0);
  });

  it('concurrent acquires in one container share one read', async () => {
    const { store, breakers } = setup();
    const permits = await Promise.all(Array.from({ length: 10 }, () => breakers.acquire(KEY, config)));
    assert.deepEqual(permits.map((permit) => permit.allowed), Array(10).fill(true));
    assert.equal(store.gets, 1);
  });

  it('opens after the threshold, logs and counts the transition, and refuses until half-open time', async () => {
    const { clock, store, logger, metrics, breakers } = setup();
    const opensAt = clock.now();
    await trip(breakers);
    assert.equal(store.transitions.length, 1);
    assert.deepEqual(logger.lines, [
      {
        level: 'info',
        message: 'circuit breaker transition',
        attributes: {
          targetKey: KEY,
          from: 'closed',
          to: 'open',
          reason: 'consecutive_failures',
          trips: 1,
          version: 1,
          openUntil: opensAt + 5_000,
          store: 'shared',
        },
      },
    ]);
    assert.deepEqual(metrics.names, [BreakerMetric.OPENED]);
    assert.deepEqual(await breakers.acquire(KEY, config), { allowed: false, retryAt: opensAt + 5_000, state: 'open' });
    clock.advance(4_999);
    assert.deepEqual(await breakers.acquire(KEY, config), { allowed: false, retryAt: opensAt + 5_000, state: 'open' });
  });

  it('counts a permit once however often it is reported', async () => {
    const { store, breakers } = setup();
    const permit = await allowed(breakers.acquire(KEY, config));
    for (let i = 0; i < 5; i++) await permit.report(FAILURE);
    assert.equal(store.transitions.length, 0);
    assert.equal((await breakers.acquire(KEY, config)).allowed, true);
  });

  it('runs one probe after the cooldown; its success closes the breaker', async () => {
    const { clock, metrics, logger, breakers } = setup();
    await trip(breakers);
    clock.advance(5_000);
    const probe = await allowed(breakers.acquire(KEY, config));
    assert.equal(probe.probe, true);
    assert.deepEqual(await breakers.acquire(KEY, config), { allowed: false, retryAt: clock.now() + 30_000, state: 'half_open' });
    await probe.report({ kind: 'success' });
    const after = await allowed(breakers.acquire(KEY, config));
    assert.equal(after.probe, false);
    assert.deepEqual(metrics.names, [BreakerMetric.OPENED, BreakerMetric.HALF_OPEN, BreakerMetric.CLOSED]);
    assert.deepEqual(
      logger.lines.map(({ attributes }) => [attributes.from, attributes.to, attributes.reason]),
      [
        ['closed', 'open', 'consecutive_failures'],
        ['open', 'half_open', 'cooldown_elapsed'],
        ['half_open', 'closed', 'probe_succeeded'],
      ],
    );
  });

  it('a failed probe re-opens for twice the cooldown', async () => {
    const { clock, breakers } = setup();
    await trip(breakers);
    clock.advance(5_000);
    const probe = await allowed(breakers.acquire(KEY, config));
    assert.equal(probe.probe, true);
    await probe.report(FAILURE);
    assert.deepEqual(await breakers.acquire(KEY, config), { allowed: false, retryAt: clock.now() + 10_000, state: 'open' });
  });

  it("another container's failures from before the breaker moved do not re-trip it", async () => {
    const { clock, breakers, store, logger } = setup({ cacheTtlMs: 1_000 });
    const other = new CircuitBreakers({ store, clock, logger, probeLeaseMs: 30_000, cacheTtlMs: 1_000 });
    await (await allowed(other.acquire(KEY, config))).report(FAILURE);
    await (await allowed(other.acquire(KEY, config))).report(FAILURE);
    await trip(breakers);
    clock.advance(5_000);
    await (await allowed(breakers.acquire(KEY, config))).report({ kind: 'success' });
    assert.equal(store.transitions.length, 3, 'trip, probe lease, close');
    await (await allowed(other.acquire(KEY, config))).report(FAILURE);
    assert.equal(store.transitions.length, 3, 'the other container saw the breaker move and started counting afresh');
  });

  it('a 429 pauses the target for its Retry-After, without a trip', async () => {
    const { clock, breakers, metrics } = setup();
    const permit = await allowed(breakers.acquire(KEY, config));
    await permit.report({ kind: 'throttled', retryAfterMs: 1_500 });
    assert.deepEqual(await breakers.acquire(KEY, config), { allowed: false, retryAt: clock.now() + 1_500, state: 'open' });
    clock.advance(1_500);
    const probe = await allowed(breakers.acquire(KEY, config));
    assert.equal(probe.probe, true);
    await probe.report(FAILURE);
    assert.deepEqual(
      await breakers.acquire(KEY, config),
      { allowed: false, retryAt: clock.now() + 5_000, state: 'open' },
      'the first real trip gets the base cooldown: the throttle did not count as one',
    );
    assert.deepEqual(metrics.names, [BreakerMetric.OPENED, BreakerMetric.HALF_OPEN, BreakerMetric.OPENED]);
  });

  it('store down: falls back to the in-container breaker, still opens, warns at most once a minute', async () => {
    const { clock, store, logger, metrics, breakers } = setup();
    store.failing = true;
    await trip(breakers);
    const denied = await breakers.acquire(KEY, config);
    assert.equal(denied.allowed, false, 'the in-container breaker opened');
    assert.equal(store.gets, 1, 'the store is not asked again for storeRetryIntervalMs');
    assert.equal(metrics.count(BreakerMetric.STORE_UNAVAILABLE), 1);
    assert.equal(metrics.count(BreakerMetric.OPENED), 1);
    assert.equal(logger.lines.find((line) => line.attributes.to === 'open')?.attributes.store, 'fallback');

    clock.advance(10_000);
    await breakers.acquire(KEY, config);
    assert.equal(store.gets, 2, 'asked again after storeRetryIntervalMs');
    assert.equal(metrics.count(BreakerMetric.STORE_UNAVAILABLE), 2);
    assert.equal(logger.lines.filter((line) => line.level === 'warn').length, 1, 'no second warning within the minute');

    clock.advance(50_000);
    await breakers.acquire(KEY, config);
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    assert.equal(warnings.length, 2);
    assert.deepEqual(warnings[0], {
      level: 'warn',
      message: 'circuit breaker store unavailable: using the in-container breaker',
      attributes: { operation: 'get', error: 'TimeoutError: connect ECONNREFUSED', retryInMs: 10_000 },
    });
  });

  it('a failed write falls back too, and the caller never sees the error', async () => {
    const { store, breakers, metrics } = setup();
    await (await allowed(breakers.acquire(KEY, config))).report(FAILURE);
    await (await allowed(breakers.acquire(KEY, config))).report(FAILURE);
    const last = await allowed(breakers.acquire(KEY, config));
    store.failing = true;
    await last.report(FAILURE);
    assert.equal(metrics.count(BreakerMetric.STORE_UNAVAILABLE), 1);
    assert.equal((await breakers.acquire(KEY, config)).allowed, false);
  });

  it('when the store answers again, the fleet-wide state wins', async () => {
    const { clock, store, breakers, logger } = setup();
    store.failing = true;
    await trip(breakers);
    assert.equal((await breakers.acquire(KEY, config)).allowed, false);
    store.failing = false;
    clock.advance(10_000);
    assert.equal((await breakers.acquire(KEY, config)).allowed, true, 'the shared store never saw the trip');
    assert.equal(logger.lines.at(-1)?.message, 'circuit breaker store reachable again: using the fleet-wide breakers');
  });

  it('keeps one breaker per target key', async () => {
    const { breakers } = setup();
    await trip(breakers);
    assert.equal((await breakers.acquire(KEY, config)).allowed, false);
    assert.equal((await breakers.acquire('anthropic|claude|https://api.anthropic.com', config)).allowed, true);
  });

  it("a read cut by its request's deadline decides in-container once, without taking the store for down", async () => {
    const { clock, store, metrics, breakers } = setup({ cacheTtlMs: 0 });
    const inner = store.get.bind(store);
    let cut = true;
    store.get = async (key) => {
      if (cut) {
        store.gets += 1;
        throw new StoreTimeoutError('DynamoDB', 250, 'deadline');
      }
      return inner(key);
    };
    await allowed(breakers.acquire(KEY, config));
    assert.equal(metrics.count(BreakerMetric.STORE_UNAVAILABLE), 0);
    cut = false;
    clock.advance(1);
    await allowed(breakers.acquire(KEY, config));
    assert.equal(store.gets, 2, 'the next acquire asked the store again, not the in-container breaker');
  });

  it(`tracks at most maxTargets targets, least recently used dropped first`, async () => {
    const { breakers } = setup({ maxTargets: 50 });
    for (let i = 0; i < 500; i++) await (await allowed(breakers.acquire(`target-${i}`, config))).report({ kind: 'success' });
    assert.equal(breakers.trackedTargets, 50);
    assert.ok(MAX_TRACKED_TARGETS >= 100, 'the default leaves room for every target a real config names');
  });
});
