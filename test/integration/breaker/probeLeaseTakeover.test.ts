import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CircuitBreakers,
  DynamoBreakerStore,
  type BreakerOutcome,
  type BreakerPermit,
  TransitionReason,
  type ResolvedBreakerConfig,
  type Transition,
} from '../../../shared/breaker';
import type { Clock } from '../../../shared/resilience';
import { createDynamoClients, type DynamoClients } from '../../../shared/stores/dynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fakeClock } from '../../support/fakeClock';
import { recordingLogger } from '../../unit/breaker/recorders';

/**
 * The takeover of an expired half-open probe lease, as containers race for it on DynamoDB
 * Local. The unit tests compare the ConditionExpression's text; these say what it must do:
 * a weaker condition (no version, or no lease check) fails here.
 */

const config: ResolvedBreakerConfig = {
  failureThreshold: 3,
  failureRatePercent: 50,
  minimumRequests: 10,
  windowMs: 60_000,
  cooldownMs: 5_000,
  maxCooldownMs: 60_000,
};
const LEASE_MS = 30_000;
const FAILURE: BreakerOutcome = { kind: 'failure' };
const SUCCESS: BreakerOutcome = { kind: 'success' };

async function allowed(permit: Promise<BreakerPermit>) {
  const result = await permit;
  assert.ok(result.allowed, `expected an allowed permit, got ${JSON.stringify(result)}`);
  return result;
}

/**
 * Lets a test hold the next GetItem's answer after DynamoDB gave it: the container then decides
 * on a record that other containers have overtaken meanwhile (a GC pause, a slow network).
 */
function holdableReads(doc: DynamoDBDocumentClient) {
  let pending: { reached: () => void; gate: Promise<void> } | undefined;
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const held = context.commandName === 'GetItemCommand' ? pending : undefined;
      if (held) {
        pending = undefined;
        held.reached();
        await held.gate;
      }
      return result;
    },
    { step: 'initialize', name: 'holdNextRead' },
  );
  return {
    /** Holds the next read's answer; `reached` resolves once it is held, `release` lets it through. */
    holdNextRead() {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      pending = { reached, gate };
      return { reached: reachedPromise, release };
    },
  };
}

describe('breaker probe lease takeover on DynamoDB Local', () => {
  let dynamo: DynamoLocal;
  const clients: DynamoClients[] = [];
  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    for (const each of clients) each.client.destroy();
    await dynamo?.stop();
  });

  /** One gateway container: its own SDK client and breaker cache, sharing the table. */
  function container(clock: Clock) {
    const own = createDynamoClients({ endpoint: dynamo.endpoint, timeouts: { attemptTimeoutMs: 10_000, callTimeoutMs: 10_000 } });
    clients.push(own);
    const logger = recordingLogger();
    const breakers = new CircuitBreakers({
      store: new DynamoBreakerStore(own.doc, dynamo.tables.breakers),
      clock,
      logger,
      probeLeaseMs: LEASE_MS,
    });
    return { breakers, logger, reads: holdableReads(own.doc) };
  }

  const item = async (key: string) =>
    (await dynamo.doc.send(new GetCommand({ TableName: dynamo.tables.breakers, Key: { pk: key }, ConsistentRead: true }))).Item;

  /** Trips the breaker in `first` and lets its cooldown pass: `first` then holds the probe lease. */
  async function firstProbe(first: CircuitBreakers, key: string, clock: ReturnType<typeof fakeClock>) {
    for (let i = 0; i < config.failureThreshold; i++) await (await allowed(first.acquire(key, config))).report(FAILURE);
    clock.advance(config.cooldownMs);
    const probe = await allowed(first.acquire(key, config));
    assert.equal(probe.probe, true);
    return probe;
  }

  it('no container takes over a live lease; once it expires exactly one of 7 racing containers does, while the first still runs', async () => {
    const key = 'takeover|gpt-4o|https://a.example';
    const clock = fakeClock();
    const [first, ...others] = Array.from({ length: 8 }, () => container(clock));
    const running = await firstProbe(first!.breakers, key, clock);
    const leaseEnds = clock.now() + LEASE_MS;

    clock.advance(LEASE_MS - 1);
    const early = await Promise.all(others.map(({ breakers }) => breakers.acquire(key, config)));
    assert.deepEqual(early, Array(7).fill({ allowed: false, retryAt: leaseEnds, state: 'half_open' }), 'a live lease is not taken');
    assert.equal((await item(key))?.version, 2);

    clock.advance(1);
    const racing = await Promise.all(others.map(({ breakers }) => breakers.acquire(key, config)));
    const probes = racing.filter((permit) => permit.allowed && permit.probe);
    assert.equal(probes.length, 1, 'exactly one container takes the expired lease');
    assert.equal(racing.filter((permit) => permit.allowed && !permit.probe).length, 0, 'and nobody else calls the target');
    assert.deepEqual(
      racing.filter((permit) => !permit.allowed),
      Array(6).fill({ allowed: false, retryAt: clock.now() + LEASE_MS, state: 'half_open' }),
      'the losers wait for the new lease',
    );
    const takenOver = await item(key);
    assert.equal(takenOver?.state, 'half_open');
    assert.equal(takenOver?.version, 3);
    assert.equal(takenOver?.reason, 'probe_lease_expired');
    assert.equal(takenOver?.probe_until, clock.now() + LEASE_MS);

    await running.report(SUCCESS);
    assert.deepEqual(await item(key), takenOver, "the first probe's late report does not overrule the one that took over");
    const winner = probes[0]!;
    assert.ok(winner.allowed);
    await winner.report(SUCCESS);
    assert.equal((await item(key))?.state, 'closed');
  });

  it('a container deciding on an overtaken read cannot take a lease over again with a stale version', async () => {
    const key = 'stale|gpt-4o|https://b.example';
    const clock = fakeClock();
    const first = container(clock);
    const second = container(clock);
    const late = container(clock);
    const running = await firstProbe(first.breakers, key, clock);
    clock.advance(LEASE_MS);

    // `late` reads the expired lease (version 2), but its answer is held before it decides.
    const held = late.reads.holdNextRead();
    const lateAcquire = late.breakers.acquire(key, config);
    await held.reached;
    const secondProbe = await allowed(second.breakers.acquire(key, config));
    assert.equal(secondProbe.probe, true, 'second takes the expired lease over (version 3)');
    // Second's probe hangs too, past its own lease; then late's old read arrives.
    clock.advance(LEASE_MS);
    held.release();

    const lateProbe = await allowed(lateAcquire);
    assert.equal(lateProbe.probe, true, "second's lease has expired too: late may probe, once it has seen version 3");
    const record = await item(key);
    assert.equal(record?.version, 4, 'the takeover is written over version 3, never as a second version 3');
    assert.equal(record?.probe_until, clock.now() + LEASE_MS);

    // Both earlier probes come back: neither may move the breaker while late's probe runs.
    await secondProbe.report(SUCCESS);
    await running.report(FAILURE);
    assert.deepEqual(await item(key), record);
    assert.deepEqual(
      late.logger.lines.map((line) => [line.attributes.reason, line.attributes.version]),
      [['probe_lease_expired', 4]],
    );
    await lateProbe.report(SUCCESS);
    assert.equal((await item(key))?.state, 'closed');
  });

  it('the store itself refuses a takeover decided before the lease ends, whatever the caller believed', async () => {
    // CircuitBreakers only asks for a takeover once its own read says the lease expired, so the
    // time check in the condition is the store's promise to any other caller: test it directly.
    const key = 'direct|gpt-4o|https://c.example';
    const clock = fakeClock();
    const first = container(clock);
    await firstProbe(first.breakers, key, clock);
    const held = await item(key);
    const store = new DynamoBreakerStore(dynamo.doc, dynamo.tables.breakers);
    const from = await store.get(key);
    assert.ok(from.state === 'half_open');
    const leaseEnds = from.probeUntil;
    const takeover = (at: number): Transition => ({
      from,
      to: { ...from, version: from.version + 1, probeUntil: at + LEASE_MS, reason: TransitionReason.PROBE_LEASE_EXPIRED },
      reason: TransitionReason.PROBE_LEASE_EXPIRED,
      at,
    });

    assert.equal(await store.transition(key, takeover(leaseEnds - 1)), false, 'one millisecond early');
    assert.deepEqual(await item(key), held);
    assert.equal(await store.transition(key, takeover(leaseEnds)), true, 'at the end of the lease');
    assert.equal((await item(key))?.version, from.version + 1);
  });
});
