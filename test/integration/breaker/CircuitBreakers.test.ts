import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  BreakerMetric,
  CircuitBreakers,
  DynamoBreakerStore,
  type BreakerOutcome,
  type BreakerPermit,
  type ResolvedBreakerConfig,
} from '../../../shared/breaker';
import type { Clock } from '../../../shared/resilience';
import { createDynamoClients, type DynamoClients } from '../../../shared/stores/dynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fakeClock } from '../../support/fakeClock';
import { recordingLogger, recordingMetrics } from '../../unit/breaker/recorders';

const config: ResolvedBreakerConfig = {
  failureThreshold: 3,
  failureRatePercent: 50,
  minimumRequests: 10,
  windowMs: 60_000,
  cooldownMs: 5_000,
  maxCooldownMs: 60_000,
};
const CACHE_TTL_MS = 1_000;
const LEASE_MS = 30_000;
const FAILURE: BreakerOutcome = { kind: 'failure' };
const SUCCESS: BreakerOutcome = { kind: 'success' };

async function allowed(permit: Promise<BreakerPermit>) {
  const result = await permit;
  assert.equal(result.allowed, true, `expected an allowed permit, got ${JSON.stringify(result)}`);
  assert.ok(result.allowed);
  return result;
}

/** Counts the commands a DocumentClient sends, by name. */
function countCommands(doc: DynamoDBDocumentClient): Map<string, number> {
  const counts = new Map<string, number>();
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countBreakerCommands' },
  );
  return counts;
}

describe('fleet-wide circuit breakers on DynamoDB Local', () => {
  let dynamo: DynamoLocal;
  const extraClients: DynamoClients[] = [];
  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    for (const clients of extraClients) clients.client.destroy();
    await dynamo?.stop();
  });

  /** One gateway container: its own client, store, cache and counters, sharing the table. */
  function container(clock: Clock, options: { doc?: DynamoDBDocumentClient } = {}) {
    let doc = options.doc;
    if (!doc) {
      const clients = createDynamoClients({ endpoint: dynamo.endpoint });
      extraClients.push(clients);
      doc = clients.doc;
    }
    const logger = recordingLogger();
    const metrics = recordingMetrics();
    const breakers = new CircuitBreakers({
      store: new DynamoBreakerStore(doc, dynamo.tables.breakers),
      clock,
      logger,
      metrics,
      cacheTtlMs: CACHE_TTL_MS,
      probeLeaseMs: LEASE_MS,
    });
    return { breakers, logger, metrics, doc, counts: countCommands(doc) };
  }

  async function trip(breakers: CircuitBreakers, key: string) {
    for (let i = 0; i < config.failureThreshold; i++) await (await allowed(breakers.acquire(key, config))).report(FAILURE);
  }

  const item = async (key: string) =>
    (await dynamo.doc.send(new GetCommand({ TableName: dynamo.tables.breakers, Key: { pk: key }, ConsistentRead: true }))).Item;

  it('breaker opens after the threshold and closes after a good probe', async () => {
    const key = 'opens|gpt-4o|https://a.example';
    const clock = fakeClock();
    const { breakers, metrics } = container(clock);
    const openedAt = clock.now();
    await (await allowed(breakers.acquire(key, config))).report(FAILURE);
    await (await allowed(breakers.acquire(key, config))).report(FAILURE);
    assert.equal(await item(key), undefined, 'counting happens in memory: nothing written before the trip');
    await (await allowed(breakers.acquire(key, config))).report(FAILURE);

    assert.deepEqual(await item(key), {
      pk: key,
      state: 'open',
      version: 1,
      trips: 1,
      opened_at: openedAt,
      open_until: openedAt + 5_000,
      reason: 'consecutive_failures',
      updated_at: openedAt,
    });
    assert.deepEqual(await breakers.acquire(key, config), { allowed: false, retryAt: openedAt + 5_000, state: 'open' });

    clock.advance(5_000);
    const probe = await allowed(breakers.acquire(key, config));
    assert.equal(probe.probe, true);
    assert.equal((await item(key))?.state, 'half_open');
    await probe.report(SUCCESS);
    assert.deepEqual(await item(key), { pk: key, state: 'closed', version: 3, trips: 0, reason: 'probe_succeeded', updated_at: clock.now() });
    const next = await allowed(breakers.acquire(key, config));
    assert.equal(next.probe, false);
    assert.deepEqual(metrics.names, [BreakerMetric.OPENED, BreakerMetric.HALF_OPEN, BreakerMetric.CLOSED]);
  });

  it('one half-open probe across 8 concurrent gateway instances', async () => {
    const key = 'probe|gpt-4o|https://b.example';
    const clock = fakeClock();
    const fleet = Array.from({ length: 8 }, () => container(clock));
    await trip(fleet[0]!.breakers, key);
    const cooldownEnds = clock.now() + 5_000;
    // Every container learns the breaker is open.
    for (const { breakers } of fleet) {
      assert.deepEqual(await breakers.acquire(key, config), { allowed: false, retryAt: cooldownEnds, state: 'open' });
    }

    clock.advance(5_000);
    const permits = await Promise.all(fleet.map(({ breakers }) => breakers.acquire(key, config)));
    const probes = permits.filter((permit) => permit.allowed && permit.probe);
    assert.equal(probes.length, 1, 'exactly one probe');
    assert.deepEqual(
      permits.filter((permit) => !permit.allowed),
      Array(7).fill({ allowed: false, retryAt: clock.now() + LEASE_MS, state: 'half_open' }),
    );
    assert.equal(permits.filter((permit) => permit.allowed && !permit.probe).length, 0);

    const probe = probes[0]!;
    assert.ok(probe.allowed);
    await probe.report(SUCCESS);
    clock.advance(CACHE_TTL_MS);
    const after = await Promise.all(fleet.map(({ breakers }) => breakers.acquire(key, config)));
    assert.deepEqual(
      after.map((permit) => permit.allowed && !permit.probe),
      Array(8).fill(true),
      'after one cache TTL every container allows again',
    );
    const halfOpens = fleet.reduce((sum, { metrics }) => sum + metrics.count(BreakerMetric.HALF_OPEN), 0);
    assert.equal(halfOpens, 1);
  });

  it('a second container sees the open state within the cache TTL', async () => {
    const key = 'seen|gpt-4o|https://c.example';
    const clock = fakeClock();
    const a = container(clock);
    const b = container(clock);
    assert.equal((await b.breakers.acquire(key, config)).allowed, true, 'b caches "closed"');
    clock.advance(200);
    await trip(a.breakers, key);
    const openUntil = clock.now() + 5_000;

    clock.advance(CACHE_TTL_MS - 201);
    assert.equal((await b.breakers.acquire(key, config)).allowed, true, 'b still trusts its read from 999 ms ago');
    clock.advance(1);
    assert.deepEqual(await b.breakers.acquire(key, config), { allowed: false, retryAt: openUntil, state: 'open' });
    assert.equal(b.counts.get('GetItemCommand'), 2);
    assert.equal(b.counts.get('UpdateItemCommand'), undefined, 'seeing a state costs no write');
  });

  it('an expired probe lease lets another container probe', async () => {
    const key = 'lease|gpt-4o|https://d.example';
    const clock = fakeClock();
    const a = container(clock);
    const b = container(clock);
    await trip(a.breakers, key);
    clock.advance(5_000);
    const lost = await allowed(a.breakers.acquire(key, config));
    assert.equal(lost.probe, true, "a's probe takes the lease, then its container dies");
    assert.deepEqual(await b.breakers.acquire(key, config), { allowed: false, retryAt: clock.now() + LEASE_MS, state: 'half_open' });

    clock.advance(LEASE_MS);
    const takeover = await allowed(b.breakers.acquire(key, config));
    assert.equal(takeover.probe, true);
    assert.deepEqual(
      b.logger.lines.map((line) => line.attributes.reason),
      ['probe_lease_expired'],
    );

    await lost.report(SUCCESS);
    assert.equal((await item(key))?.state, 'half_open', "the expired probe's late report does not overrule the new probe");
    await takeover.report(FAILURE);
    const record = await item(key);
    assert.equal(record?.state, 'open');
    assert.equal(record?.trips, 2);
    assert.equal(record?.open_until, clock.now() + 10_000, 'doubled cooldown');
  });

  it('state store down falls back to the in-container breaker and still opens', async () => {
    const key = 'down|gpt-4o|https://e.example';
    const clock = fakeClock();
    const dead = createDynamoClients({ endpoint: 'http://127.0.0.1:1' });
    extraClients.push(dead);
    const down = container(clock, { doc: dead.doc });

    await trip(down.breakers, key);
    const denied = await down.breakers.acquire(key, config);
    assert.deepEqual(denied, { allowed: false, retryAt: clock.now() + 5_000, state: 'open' });
    assert.equal(down.metrics.count(BreakerMetric.STORE_UNAVAILABLE), 1);
    assert.equal(down.metrics.count(BreakerMetric.OPENED), 1);
    const warnings = down.logger.lines.filter((line) => line.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.message, 'circuit breaker store unavailable: using the in-container breaker');
    assert.equal(await item(key), undefined);
  });

  it('the healthy path does zero writes and at most one read per cache TTL', async () => {
    const key = 'healthy|gpt-4o|https://f.example';
    const clock = fakeClock();
    const { breakers, counts } = container(clock);
    for (let i = 0; i < 200; i++) {
      const permit = await allowed(breakers.acquire(key, config));
      assert.equal(permit.probe, false);
      await permit.report(i % 10 === 0 ? FAILURE : SUCCESS);
      clock.advance(25);
    }
    assert.deepEqual(Object.fromEntries(counts), { GetItemCommand: 5 }, '5 s of traffic, one read per second, no write');
  });
});
