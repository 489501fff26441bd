import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  budgetPolicySchema,
  DynamoSpendLedger,
  PriceTable,
  pricesSchema,
  SpendGuard,
  type LedgerCounter,
  type LedgerItem,
  type ReserveOutcome,
  type Reservation,
  type ReserveRequest,
} from '../../../shared/budget';
import { isGatewayError, type GatewayError } from '../../../shared/errors';
import { createDynamoClients } from '../../../shared/stores/dynamo';
import { fakeClock } from '../../support/fakeClock';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { recordingLogger, recordingMetrics } from '../../unit/budget/memoryLedger';

// 2025-03-14T15:20:00Z
const NOW = Date.UTC(2025, 2, 14, 15, 20);
const TO_NEXT_HOUR = 40 * 60;
const TO_APRIL = 17 * 86_400 + 8 * 3_600 + 40 * 60;

// Input is free and output $10 per million: max_tokens 3000 holds $0.03, 2000 generated costs $0.02.
const prices = new PriceTable({ overrides: pricesSchema.parse({ 'test-model': { input: 0, output: 10, cache_read: 0, cache_write: 0 } }) });
const body = { model: 'test-model', messages: [{ role: 'user', content: 'hello' }], max_tokens: 3_000 };
const usage = { prompt_tokens: 100, completion_tokens: 2_000, total_tokens: 2_100 };
const ESTIMATE_MICROS = 30_000;
const ACTUAL_MICROS = 20_000;

/**
 * The usage of an upstream that obeys the output limit it was sent: 2,000 tokens generated, or
 * fewer when the window had room for less and the gateway cut `max_tokens` to it.
 */
const obeyed = (reservation: Reservation) => {
  const completion = Math.min(2_000, reservation.outputLimits?.get('test-model') ?? Infinity);
  return { prompt_tokens: 100, completion_tokens: completion, total_tokens: 100 + completion };
};

/** The real ledger, remembering the highest total any write left on a counter. */
class WatchedLedger extends DynamoSpendLedger {
  highest = 0;
  private watch(item: LedgerItem | undefined, counters: readonly LedgerCounter[]) {
    for (const { attribute } of counters) {
      const value = item?.[attribute];
      if (typeof value === 'number') this.highest = Math.max(this.highest, value);
    }
  }
  override async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
    const outcome = await super.reserve(request);
    if (outcome.reserved) this.watch(outcome.item, request.counters);
    return outcome;
  }
  override async adjust(key: string, counters: readonly LedgerCounter[], delta: number): Promise<LedgerItem> {
    const item = await super.adjust(key, counters, delta);
    this.watch(item, counters);
    return item;
  }
}

async function outcome(promise: Promise<unknown>): Promise<GatewayError | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    assert.ok(isGatewayError(error), `unexpected error: ${String(error)}`);
    return error;
  }
}

const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20)));

describe('SpendGuard on DynamoDB Local', () => {
  let store: DynamoLocal;
  /**
   * Hundreds of requests in flight through ONE client queue on its sockets for longer than the
   * request path's 1 s connect timeout; on Lambda each container has one request in flight.
   */
  let fleet: { client: DynamoDBClient; doc: DynamoDBDocumentClient };

  before(async () => {
    store = await startDynamoLocal();
    const client = new DynamoDBClient({
      endpoint: store.endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: { connectionTimeout: 30_000, requestTimeout: 30_000 },
    });
    fleet = { client, doc: DynamoDBDocumentClient.from(client) };
  });
  after(async () => {
    fleet?.client.destroy();
    await store?.stop();
  });

  const spendItem = async (tenant: string) =>
    (await store.doc.send(new GetCommand({ TableName: store.tables.spend, Key: { pk: `spend#${tenant}#2025-03` } }))).Item;

  it('never exceeds the daily cap under 200 concurrent requests', async () => {
    // Cap $1.00, each request holds up to $0.03 (3,000 output tokens) and costs at most $0.02;
    // when the window has less room, the output is cut to it (never below 256 tokens, $0.00256).
    // Bounds proved:
    // - recorded spend <= cap at every moment: a reserve lands only if total + hold <= cap, and a
    //   settle only lowers the total (actual <= hold);
    // - at least floor(cap / estimate) = 33 succeed: a refusal means less than $0.00256 was left,
    //   and each request in flight or settled accounts for at most $0.03 of the rest;
    // - the final total is the sum of what each success cost, nothing else.
    const ledger = new WatchedLedger(fleet.doc, store.tables.spend);
    const guard = new SpendGuard({ ledger, prices, clock: fakeClock(NOW), logger: recordingLogger() });
    const policy = budgetPolicySchema.parse({ daily_budget_usd: 1 });
    const costs: number[] = [];

    const results = await Promise.all(
      Array.from({ length: 200 }, async () =>
        outcome(
          (async () => {
            const reservation = await guard.reserve({ tenant: 'race', policy, candidateModels: ['test-model'], body });
            await jitter();
            const { costUsd } = await reservation.settle('test-model', obeyed(reservation));
            costs.push(Math.round(costUsd * 1e6));
          })(),
        ),
      ),
    );

    const succeeded = results.filter((result) => result === 'ok').length;
    const refused = results.filter((result): result is GatewayError => result !== 'ok');
    assert.ok(refused.every((error) => error.code === 'budget_exceeded'), 'every refusal is budget_exceeded');
    assert.ok(succeeded >= 33, `33 <= ${succeeded}`);
    assert.ok(ledger.highest <= 1_000_000, `highest recorded ${ledger.highest} µ$ <= cap`);
    assert.ok(costs.every((cost) => cost >= 2_560 && cost <= ACTUAL_MICROS), 'each answer cost between 256 and 2,000 output tokens');
    const total = costs.reduce((sum, cost) => sum + cost, 0);
    const item = await spendItem('race');
    assert.equal(item?.day_14_micro_usd, total);
    assert.equal(item?.month_micro_usd, total);
  });

  it('never exceeds the daily cap under 100 concurrent requests whose upstream reports impossible usage', async () => {
    // Every answer claims 5 million prompt and 1 million completion tokens ($10): each is recorded
    // at its hold instead, so the total stays within the cap whatever the upstream says.
    const ledger = new WatchedLedger(fleet.doc, store.tables.spend);
    const logger = recordingLogger();
    const metrics = recordingMetrics();
    const guard = new SpendGuard({ ledger, prices, clock: fakeClock(NOW), logger, metrics });
    const policy = budgetPolicySchema.parse({ daily_budget_usd: 0.1 });
    const lie = { prompt_tokens: 5_000_000, completion_tokens: 1_000_000, total_tokens: 6_000_000 };

    const results = await Promise.all(
      Array.from({ length: 100 }, async () =>
        outcome(
          (async () => {
            const reservation = await guard.reserve({ tenant: 'liars', policy, candidateModels: ['test-model'], body });
            await jitter();
            await reservation.settle('test-model', lie);
          })(),
        ),
      ),
    );

    const succeeded = results.filter((result) => result === 'ok').length;
    assert.ok(succeeded >= 3, `at least floor($0.1 / $0.03) = 3 succeed, got ${succeeded}`);
    assert.ok(ledger.highest <= 100_000, `highest recorded ${ledger.highest} µ$ <= the 100,000 µ$ cap`);
    assert.ok(((await spendItem('liars'))?.day_14_micro_usd as number) <= 100_000);
    assert.equal(metrics.added.filter(([name]) => name === 'UsageAboveBound').length, succeeded, 'every lie is counted');
  });

  it('alert fires exactly once at 80 % when concurrent requests cross it on several containers', async () => {
    await store.doc.send(
      new PutCommand({ TableName: store.tables.spend, Item: { pk: 'spend#alerts#2025-03', month_micro_usd: 700_000, day_14_micro_usd: 700_000 } }),
    );
    const logger = recordingLogger();
    const metrics = recordingMetrics();
    // Ten containers, each with its own guard, sharing the table.
    const guards = Array.from(
      { length: 10 },
      () => new SpendGuard({ ledger: new DynamoSpendLedger(fleet.doc, store.tables.spend), prices, clock: fakeClock(NOW), logger, metrics }),
    );
    const policy = budgetPolicySchema.parse({ daily_budget_usd: 1 });

    // $0.30 of room: at least 10 requests succeed, taking the day from $0.70 to >= $0.90.
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        outcome(
          (async () => {
            const reservation = await guards[i % 10]!.reserve({ tenant: 'alerts', policy, candidateModels: ['test-model'], body });
            await jitter();
            await reservation.settle('test-model', obeyed(reservation));
          })(),
        ),
      ),
    );

    assert.ok(results.filter((result) => result === 'ok').length >= 10);
    const alerts = logger.lines.filter((line) => line.message === 'budget_alert');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.attributes?.window, 'day');
    assert.equal(alerts[0]?.attributes?.cap_usd, 1);
    assert.deepEqual(metrics.added, [['BudgetAlert80', 'Count', 1]]);
    assert.equal((await spendItem('alerts'))?.alert80_day_14, NOW / 1000);
  });

  it('release on failure returns the reservation', async () => {
    const guard = new SpendGuard({ ledger: new DynamoSpendLedger(store.doc, store.tables.spend), prices, clock: fakeClock(NOW), logger: recordingLogger() });
    // $0.002 left after the first hold: not even the 256 tokens ($0.00256) an answer may be cut to.
    const policy = budgetPolicySchema.parse({ daily_budget_usd: 0.032 });
    const reserve = () => guard.reserve({ tenant: 'release', policy, candidateModels: ['test-model'], body });

    const first = await reserve();
    assert.equal((await spendItem('release'))?.day_14_micro_usd, ESTIMATE_MICROS);
    const blocked = await outcome(reserve());
    assert.ok(blocked !== 'ok');
    assert.equal(blocked.code, 'budget_exceeded');

    await first.release(); // the upstream call failed
    assert.equal((await spendItem('release'))?.day_14_micro_usd, 0);
    assert.equal(await outcome(reserve()), 'ok');
  });

  it('monthly cap blocks too, until the first of next month', async () => {
    // Earlier days of the month spent $4.999 of $5 ($0.001 pays for 100 output tokens, under 256); today is empty.
    await store.doc.send(
      new PutCommand({ TableName: store.tables.spend, Item: { pk: 'spend#monthly#2025-03', month_micro_usd: 4_999_000, day_13_micro_usd: 4_999_000 } }),
    );
    const clock = fakeClock(NOW);
    const guard = new SpendGuard({ ledger: new DynamoSpendLedger(store.doc, store.tables.spend), prices, clock, logger: recordingLogger() });
    const policy = budgetPolicySchema.parse({ daily_budget_usd: 1, monthly_budget_usd: 5 });
    const reserve = () => guard.reserve({ tenant: 'monthly', policy, candidateModels: ['test-model'], body });

    const error = await outcome(reserve());
    assert.ok(error !== 'ok');
    assert.equal(error.code, 'budget_exceeded');
    assert.equal(error.status, 429);
    assert.deepEqual(error.headers, { 'retry-after': String(TO_APRIL) });
    assert.deepEqual(error.details, { windows: ['month'] });
    assert.equal((await spendItem('monthly'))?.day_14_micro_usd, undefined);

    clock.advance(TO_APRIL * 1_000);
    assert.equal(await outcome(reserve()), 'ok');
  });

  it('user hourly token cap: per end user, reset at the next hour', async () => {
    const clock = fakeClock(NOW);
    const guard = new SpendGuard({ ledger: new DynamoSpendLedger(store.doc, store.tables.spend), prices, clock, logger: recordingLogger() });
    const policy = budgetPolicySchema.parse({ user_hourly_token_limit: 10_000 });
    const request = async (endUser: string) =>
      outcome(
        (async () => {
          const reservation = await guard.reserve({ tenant: 'tokens', policy, candidateModels: ['test-model'], body, endUser });
          await reservation.settle('test-model', usage);
        })(),
      );

    // Each request holds 111 + 3000 tokens (87 bytes of JSON + 24 overhead) and uses 2100: after four, 8400 + 3111 > 10 000.
    for (let i = 0; i < 4; i++) assert.equal(await request('alice'), 'ok');
    const error = await request('alice');
    assert.ok(error !== 'ok');
    assert.equal(error.code, 'budget_exceeded');
    assert.deepEqual(error.headers, { 'retry-after': String(TO_NEXT_HOUR) });
    const { Item } = await store.doc.send(new GetCommand({ TableName: store.tables.spend, Key: { pk: 'tokens#tokens#alice#2025-03-14T15' } }));
    assert.equal(Item?.tokens, 8_400);
    assert.equal(Item?.expires_at, Date.UTC(2025, 2, 16, 16) / 1000);

    assert.equal(await request('bob'), 'ok');
    clock.advance(TO_NEXT_HOUR * 1_000);
    assert.equal(await request('alice'), 'ok');
  });

  it('store down: fail closed with 503 budget_unavailable, fail open when configured', async () => {
    const down = createDynamoClients({ endpoint: 'http://127.0.0.1:1' });
    const logger = recordingLogger();
    const guard = new SpendGuard({ ledger: new DynamoSpendLedger(down.doc, store.tables.spend), prices, clock: fakeClock(NOW), logger });
    const reserve = (fields: Record<string, unknown>) =>
      guard.reserve({ tenant: 'down', policy: budgetPolicySchema.parse(fields), candidateModels: ['test-model'], body });
    try {
      const closed = await outcome(reserve({ daily_budget_usd: 1 }));
      assert.ok(closed !== 'ok');
      assert.equal(closed.code, 'budget_unavailable');
      assert.equal(closed.status, 503);

      const reservation = await reserve({ daily_budget_usd: 1, budget_fail_open: true });
      assert.deepEqual(await reservation.settle('test-model', usage), { costUsd: 0.02 });
      assert.deepEqual(
        logger.lines.map(({ level, message }) => [level, message]),
        [
          ['error', 'budget store unavailable; refusing the request (fail closed)'],
          ['warn', 'budget store unavailable; serving the request uncapped (budget_fail_open)'],
        ],
      );
    } finally {
      down.client.destroy();
    }
  });
});
