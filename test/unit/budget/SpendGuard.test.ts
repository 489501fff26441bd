import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { isGatewayError, type GatewayError } from '../../../shared/errors';
import {
  budgetPolicySchema,
  PriceTable,
  pricesSchema,
  SpendGuard,
  type BudgetLogger,
  type BudgetMetrics,
  type BudgetPolicy,
} from '../../../shared/budget';
import { fakeClock } from '../../support/fakeClock';
import { MemoryLedger, recordingLogger, recordingMetrics } from './memoryLedger';

// 2025-03-14T15:20:00Z: 8 h 40 min to midnight, 17 days 8 h 40 min to April, 40 min to the hour.
const NOW = Date.UTC(2025, 2, 14, 15, 20);
const TO_MIDNIGHT = 8 * 3600 + 40 * 60;
const TO_APRIL = 17 * 86_400 + TO_MIDNIGHT;
const TO_NEXT_HOUR = 40 * 60;

// Input is free and output $10 per million: max_tokens 3000 holds $0.03, 2000 generated costs $0.02.
// The body is 87 bytes of JSON, so its input bound is 16 + 8 (one message) + 87 = 111 tokens.
const prices = new PriceTable({ overrides: pricesSchema.parse({ 'test-model': { input: 0, output: 10, cache_read: 0, cache_write: 0 } }) });
const body = { model: 'test-model', messages: [{ role: 'user', content: 'hello' }], max_tokens: 3_000 };
const usage = { prompt_tokens: 100, completion_tokens: 2_000, total_tokens: 2_100 };
const SPEND_KEY = 'spend#acme#2025-03';

function setup() {
  const ledger = new MemoryLedger();
  const logger = recordingLogger();
  const metrics = recordingMetrics();
  const guard = new SpendGuard({ ledger, prices, clock: fakeClock(NOW), logger, metrics });
  return { ledger, logger, metrics, guard };
}

const policy = (fields: Record<string, unknown>): BudgetPolicy => budgetPolicySchema.parse(fields);
const reserveFor = (guard: SpendGuard, fields: Record<string, unknown>, endUser?: string) =>
  guard.reserve({ tenant: 'acme', policy: policy(fields), candidateModels: ['test-model'], body, endUser });

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isGatewayError(error), `expected a GatewayError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('SpendGuard', () => {
  it('takes Powertools\' Logger and Metrics as they are', async () => {
    const metricsFits: Metrics extends BudgetMetrics ? true : false = true;
    const logger: BudgetLogger = new Logger({ logLevel: 'SILENT' });
    const guard = new SpendGuard({ ledger: new MemoryLedger(), prices, clock: fakeClock(NOW), logger });
    const reservation = await guard.reserve({ tenant: 'acme', policy: policy({}), candidateModels: ['unpriced-model'], body });
    assert.equal(metricsFits, true);
    // The fallback price: 111 × $18.75 + 3000 × $75 per million = 2 081.25 + 225 000 µ$.
    assert.equal(reservation.estimateUsd, 0.22708125);
  });

  it('with no caps, reserve and settle make zero ledger calls and still price the answer', async () => {
    const { guard, ledger } = setup();
    for (const fields of [{}, { max_request_cost_usd: 1 }, { user_hourly_token_limit: 100_000 }]) {
      const reservation = await reserveFor(guard, fields);
      assert.equal(reservation.estimateUsd, 0.03);
      assert.equal(reservation.outputLimits === undefined, Object.keys(fields).length === 0 || 'user_hourly_token_limit' in fields, 'limits only where a cap applies');
      assert.deepEqual(await reservation.settle('test-model', usage), { costUsd: 0.02 });
      await reservation.release();
    }
    assert.deepEqual(ledger.calls, []);
  });

  it('refuses a request above max_request_cost_usd with 400 before touching the store', async () => {
    const { guard, ledger } = setup();
    const error = await rejection(reserveFor(guard, { max_request_cost_usd: 0.02, daily_budget_usd: 5 }));
    assert.equal(error.code, 'request_cost_exceeds_limit');
    assert.equal(error.status, 400);
    assert.deepEqual(error.details, { estimate_usd: 0.03, limit: 'max_request_cost_usd', limit_usd: 0.02 });
    assert.deepEqual(ledger.calls, []);
  });

  it('refuses with 400 a request that could never fit an end user\'s hourly tokens, but only with an end user', async () => {
    const { guard, ledger } = setup();
    const error = await rejection(reserveFor(guard, { user_hourly_token_limit: 3_000 }, 'u1'));
    assert.equal(error.code, 'request_cost_exceeds_limit');
    assert.deepEqual(error.details, { estimate_tokens: 3_111, limit: 'user_hourly_token_limit', limit_tokens: 3_000 });
    await reserveFor(guard, { user_hourly_token_limit: 3_000 });
    assert.deepEqual(ledger.calls, []);
  });

  it('refuses with 400 a request that could never fit the daily cap, even with its answer cut to 256 tokens', async () => {
    const { guard, ledger } = setup();
    // The least it can be served with: 256 output tokens × $10 per million = $0.00256.
    const error = await rejection(reserveFor(guard, { daily_budget_usd: 0.002 }));
    assert.equal(error.code, 'request_cost_exceeds_limit');
    assert.deepEqual(error.details, { estimate_usd: 0.00256, limit: 'daily_budget_usd', limit_usd: 0.002 });
    assert.deepEqual(ledger.calls, []);
  });

  it('a daily cap below the whole bound cuts the output to what the cap pays for, and holds that', async () => {
    const { guard, ledger } = setup();
    const reservation = await reserveFor(guard, { daily_budget_usd: 0.025 });
    // $0.025 at $10 per million output tokens: 2,500 tokens instead of the 3,000 asked for.
    assert.deepEqual([...reservation.outputLimits!], [['test-model', 2_500]]);
    assert.equal(reservation.estimateUsd, 0.025);
    assert.deepEqual(ledger.calls.map(({ method, amount }) => [method, amount]), [['reserve', 25_000]]);
  });

  it('a window with room for less than the whole bound: the output is cut to the room left, in a second conditional write', async () => {
    const { guard, ledger } = setup();
    ledger.items.set(SPEND_KEY, { pk: SPEND_KEY, month_micro_usd: 990_000, day_14_micro_usd: 990_000 });
    const reservation = await reserveFor(guard, { daily_budget_usd: 1 });
    // $0.01 left pays for 1,000 output tokens.
    assert.deepEqual([...reservation.outputLimits!], [['test-model', 1_000]]);
    assert.equal(reservation.estimateUsd, 0.01);
    assert.deepEqual(ledger.calls.map(({ method, amount }) => [method, amount]), [['reserve', 30_000], ['reserve', 10_000]]);
    assert.equal(ledger.items.get(SPEND_KEY)?.day_14_micro_usd, 1_000_000);
  });

  it('an upstream that reports more than its request could use is recorded at the hold, logged and counted', async () => {
    const { guard, ledger, logger, metrics } = setup();
    const reservation = await reserveFor(guard, { daily_budget_usd: 1 });
    const lie = { prompt_tokens: 5_000_000, completion_tokens: 900_000, total_tokens: 5_900_000 };
    assert.deepEqual(await reservation.settle('test-model', lie), { costUsd: 0.03, remainingUsd: 0.97 });
    assert.equal(ledger.items.get(SPEND_KEY)?.day_14_micro_usd, 30_000);
    const warned = logger.lines.filter((line) => line.level === 'warn');
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!.attributes?.reported_usd, 9);
    assert.deepEqual(metrics.added, [['UsageAboveBound', 'Count', 1]]);
  });

  it('holds the estimate, settles to the actual cost and reports room under the tightest cap', async () => {
    const { guard, ledger } = setup();
    const reservation = await reserveFor(guard, { daily_budget_usd: 1, monthly_budget_usd: 0.5 });
    assert.equal(ledger.items.get(SPEND_KEY)?.day_14_micro_usd, 30_000);
    const result = await reservation.settle('test-model', usage);
    assert.deepEqual(result, { costUsd: 0.02, remainingUsd: 0.48 });
    assert.deepEqual(ledger.items.get(SPEND_KEY), {
      pk: SPEND_KEY,
      month_micro_usd: 20_000,
      day_14_micro_usd: 20_000,
      expires_at: Date.UTC(2025, 3, 1) / 1000 + 35 * 86_400,
    });
    assert.deepEqual(
      ledger.calls.map(({ method, amount }) => [method, amount]),
      [
        ['reserve', 30_000],
        ['adjust', -10_000],
      ],
    );
  });

  it('over the daily cap: 429 budget_exceeded, Retry-After to the next UTC midnight, nothing written', async () => {
    const { guard, ledger } = setup();
    // $0.001 left pays for 100 output tokens, under the 256 an answer may be cut to.
    ledger.items.set(SPEND_KEY, { pk: SPEND_KEY, month_micro_usd: 999_000, day_14_micro_usd: 999_000 });
    const error = await rejection(reserveFor(guard, { daily_budget_usd: 1, monthly_budget_usd: 100 }));
    assert.equal(error.code, 'budget_exceeded');
    assert.equal(error.status, 429);
    assert.deepEqual(error.headers, { 'retry-after': String(TO_MIDNIGHT) });
    assert.deepEqual(error.details, { windows: ['day'] });
    assert.equal(ledger.items.get(SPEND_KEY)?.day_14_micro_usd, 999_000);
  });

  it('over the monthly cap: Retry-After to the first of next month, even when the day is full too', async () => {
    const { guard, ledger } = setup();
    ledger.items.set(SPEND_KEY, { pk: SPEND_KEY, month_micro_usd: 4_999_000, day_14_micro_usd: 990_000 });
    const monthOnly = await rejection(reserveFor(guard, { daily_budget_usd: 2, monthly_budget_usd: 5 }));
    assert.deepEqual(monthOnly.details, { windows: ['month'] });
    assert.deepEqual(monthOnly.headers, { 'retry-after': String(TO_APRIL) });
    const both = await rejection(reserveFor(guard, { daily_budget_usd: 1, monthly_budget_usd: 5 }));
    assert.deepEqual(both.details, { windows: ['month', 'day'] });
    assert.deepEqual(both.headers, { 'retry-after': String(TO_APRIL) });
  });

  it('over the user hourly token cap: 429 until the next hour, and the spend hold is given back', async () => {
    const { guard, ledger } = setup();
    const tokensKey = 'tokens#acme#user%231#2025-03-14T15';
    ledger.items.set(tokensKey, { pk: tokensKey, tokens: 3_000 });
    // This request may use 111 input + 3000 output tokens: 6111 > 6000.
    const error = await rejection(reserveFor(guard, { daily_budget_usd: 1, user_hourly_token_limit: 6_000 }, 'user#1'));
    assert.equal(error.code, 'budget_exceeded');
    assert.deepEqual(error.headers, { 'retry-after': String(TO_NEXT_HOUR) });
    assert.equal(ledger.items.get(SPEND_KEY)?.day_14_micro_usd, 0);
    assert.equal(ledger.items.get(tokensKey)?.tokens, 3_000);
  });

  it('counts an end user\'s tokens: the estimate held, then the actual total', async () => {
    const { guard, ledger } = setup();
    const reservation = await reserveFor(guard, { user_hourly_token_limit: 10_000 }, 'u1');
    assert.equal(ledger.items.get('tokens#acme#u1#2025-03-14T15')?.tokens, 3_111);
    assert.deepEqual(await reservation.settle('test-model', usage), { costUsd: 0.02 });
    assert.equal(ledger.items.get('tokens#acme#u1#2025-03-14T15')?.tokens, 2_100);
  });

  it('release gives the whole hold back, once', async () => {
    const { guard, ledger } = setup();
    const reservation = await reserveFor(guard, { daily_budget_usd: 1 });
    await reservation.release();
    await reservation.release();
    assert.deepEqual(await reservation.settle('test-model', usage), { costUsd: 0.02 });
    assert.equal(ledger.items.get(SPEND_KEY)?.day_14_micro_usd, 0);
    assert.deepEqual(
      ledger.calls.map(({ method }) => method),
      ['reserve', 'adjust'],
    );
  });

  it('an answer without usage is recorded at its worst case', async () => {
    const { guard, ledger, logger } = setup();
    const reservation = await reserveFor(guard, { daily_budget_usd: 1 });
    assert.deepEqual(await reservation.settle('test-model', undefined), { costUsd: 0.03, remainingUsd: 0.97 });
    assert.equal(ledger.items.get(SPEND_KEY)?.day_14_micro_usd, 30_000);
    assert.equal(logger.lines.filter((line) => line.level === 'warn').length, 1);
  });

  it('store down and fail closed (the default): 503 budget_unavailable, logged as an error', async () => {
    const { guard, ledger, logger } = setup();
    ledger.down = Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
    const error = await rejection(reserveFor(guard, { daily_budget_usd: 1 }));
    assert.equal(error.code, 'budget_unavailable');
    assert.equal(error.status, 503);
    assert.deepEqual(
      logger.lines.map(({ level, attributes }) => [level, attributes?.error_name]),
      [['error', 'TimeoutError']],
    );
  });

  it('store down and budget_fail_open: served uncapped, logged as a warning, settle skips the store', async () => {
    const { guard, ledger, logger } = setup();
    ledger.down = new Error('unreachable');
    const reservation = await reserveFor(guard, { daily_budget_usd: 1, budget_fail_open: true });
    assert.deepEqual(await reservation.settle('test-model', usage), { costUsd: 0.02 });
    assert.deepEqual(logger.lines.map(({ level }) => level), ['warn']);
    assert.deepEqual(ledger.calls.map(({ method }) => method), ['reserve']);
  });

  it('a failed settle leaves the estimate recorded (an over-count) and still prices the answer', async () => {
    const { guard, ledger } = setup();
    const reservation = await reserveFor(guard, { daily_budget_usd: 1 });
    ledger.down = new Error('gone');
    assert.deepEqual(await reservation.settle('test-model', usage), { costUsd: 0.02 });
    assert.equal(ledger.items.get(SPEND_KEY)?.day_14_micro_usd, 30_000);
  });

  it('alerts once per window when spend reaches 80 % of a cap', async () => {
    const { guard, ledger, logger, metrics } = setup();
    // Daily cap $0.10: the 3rd $0.02 answer reaches $0.06, the 4th $0.08 (80 %). Monthly cap $1 is never near.
    for (let i = 0; i < 4; i++) {
      const reservation = await reserveFor(guard, { daily_budget_usd: 0.1, monthly_budget_usd: 1 });
      await reservation.settle('test-model', usage);
    }
    const alerts = logger.lines.filter((line) => line.message === 'budget_alert');
    assert.deepEqual(alerts.map((line) => line.attributes), [
      { event: 'budget_alert', tenant: 'acme', window: 'day', cap_usd: 0.1, spent_usd: 0.08 },
    ]);
    assert.deepEqual(metrics.added, [['BudgetAlert80', 'Count', 1]]);
    assert.equal(ledger.items.get(SPEND_KEY)?.alert80_day_14, NOW / 1000);
    assert.equal(ledger.items.get(SPEND_KEY)?.alert80_month, undefined);
  });
});
