import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isGatewayError } from '../../../shared/errors';
import { Deadline } from '../../../shared/resilience';
import { DynamoLoopGuard, DynamoStaleResponses, DynamoTokenBucket, quotaHint } from '../../../shared/tools/limits';
import type { RateKey } from '../../../shared/tools/types';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fakeClock } from '../../support/fakeClock';

const silent = { warn: () => {} };

describe('tool proxy limits against DynamoDB Local', () => {
  let dynamo: DynamoLocal;
  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    await dynamo?.stop();
  });

  describe('DynamoTokenBucket', () => {
    // 10 calls a second with a burst of 5: one token every 100 ms.
    const shape = { ratePerSecond: 10, burst: 5 };
    const bucket = (clock: ReturnType<typeof fakeClock>, service = 'weather') =>
      new DynamoTokenBucket({
        doc: dynamo.doc,
        tableName: dynamo.tables.rateLimits,
        shapeOf: (name) => (name === service ? shape : undefined),
        clock,
        logger: silent,
      });
    let n = 0;
    const freshKey = (service = 'weather'): RateKey => ({ service, credentialId: `cred-${++n}` });

    it('lets a burst through at once, then spaces calls one interval apart', async () => {
      const clock = fakeClock();
      const gate = bucket(clock);
      const key = freshKey();
      const deadline = Deadline.after(clock, 60_000);
      for (let i = 0; i < 5; i++) await gate.acquire(key, 'interactive', deadline);
      assert.deepEqual(clock.sleeps, [], 'the burst needs no wait');
      const start = clock.now();
      for (let i = 0; i < 10; i++) await gate.acquire(key, 'interactive', deadline);
      // Ten more calls at 10 per second take one second of (fake) waiting, never less.
      assert.equal(clock.now() - start, 1_000);
    });

    it('shares one quota across containers (two buckets on the same item)', async () => {
      const clock = fakeClock();
      const key = freshKey();
      const deadline = Deadline.after(clock, 60_000);
      const a = bucket(clock);
      const b = bucket(clock);
      for (let i = 0; i < 3; i++) await a.acquire(key, 'interactive', deadline);
      for (let i = 0; i < 2; i++) await b.acquire(key, 'interactive', deadline);
      assert.deepEqual(clock.sleeps, []);
      await b.acquire(key, 'interactive', deadline);
      assert.equal(clock.sleeps.length, 1, 'the sixth call across both containers waits');
    });

    it('admits a background call only while the bucket is at least half full', async () => {
      const clock = fakeClock();
      const gate = bucket(clock);
      const key = freshKey();
      const deadline = Deadline.after(clock, 60_000);
      await gate.acquire(key, 'interactive', deadline);
      await gate.acquire(key, 'interactive', deadline);
      assert.deepEqual(clock.sleeps, []);
      // Burst 5, background share 2: with two tokens spent a background call waits...
      await gate.acquire(key, 'background', deadline);
      assert.equal(clock.sleeps.length, 1);
      // ...while an interactive one still finds a token at once.
      const sleeps = clock.sleeps.length;
      await gate.acquire(key, 'interactive', deadline);
      assert.equal(clock.sleeps.length, sleeps);
    });

    it('refuses with 429 and Retry-After when the wait would pass the deadline', async () => {
      const clock = fakeClock();
      const gate = bucket(clock);
      const key = freshKey();
      for (let i = 0; i < 5; i++) await gate.acquire(key, 'interactive', Deadline.after(clock, 60_000));
      await assert.rejects(gate.acquire(key, 'interactive', Deadline.after(clock, 50)), (error: unknown) => {
        assert.ok(isGatewayError(error));
        assert.equal(error.code, 'rate_limited');
        assert.equal(error.headers?.['retry-after'], '1');
        return true;
      });
    });

    it('holds every call until the reset a 429 with Retry-After names', async () => {
      const clock = fakeClock();
      const gate = bucket(clock);
      const key = freshKey();
      await gate.observe(key, 429, { 'retry-after': '3' });
      const start = clock.now();
      await gate.acquire(key, 'interactive', Deadline.after(clock, 60_000));
      assert.ok(clock.now() - start >= 3_000, `waited ${clock.now() - start} ms`);
    });

    it('allows only the remaining calls the headers report before their reset', async () => {
      const clock = fakeClock();
      const gate = bucket(clock);
      const key = freshKey();
      await gate.observe(key, 200, { 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': '10' });
      const deadline = Deadline.after(clock, 60_000);
      await gate.acquire(key, 'interactive', deadline);
      await gate.acquire(key, 'interactive', deadline);
      assert.deepEqual(clock.sleeps, []);
      await gate.acquire(key, 'interactive', deadline);
      assert.equal(clock.sleeps.length, 1, 'the third call waits');
      // The next answer says the quota is spent until its reset: the next call waits for it.
      const start = clock.now();
      await gate.observe(key, 200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '10' });
      await gate.acquire(key, 'interactive', deadline);
      assert.ok(clock.now() - start >= 10_000, `waited ${clock.now() - start} ms for the reset`);
    });

    it('leaves services without a rate_limit alone and lets calls through when the store is down', async () => {
      const clock = fakeClock();
      const writes: unknown[] = [];
      const gate = new DynamoTokenBucket({
        doc: { send: async (command: unknown) => (writes.push(command), Promise.reject(new Error('ECONNREFUSED'))) } as never,
        tableName: 'x',
        shapeOf: (name) => (name === 'weather' ? shape : undefined),
        clock,
        logger: silent,
      });
      await gate.acquire({ service: 'other', credentialId: 'c' }, 'interactive', Deadline.after(clock, 1_000));
      assert.equal(writes.length, 0);
      await gate.acquire({ service: 'weather', credentialId: 'c' }, 'interactive', Deadline.after(clock, 1_000));
      await gate.acquire({ service: 'weather', credentialId: 'c' }, 'interactive', Deadline.after(clock, 1_000));
      assert.equal(writes.length, 1, 'after one failure the store is not asked again for a while');
    });
  });

  describe('DynamoLoopGuard', () => {
    it('refuses the call past max_repeats in a window with 429 loop_detected and a security event', async () => {
      // 40 s into a one-minute window: the next window opens in 20 s.
      const clock = fakeClock(28_333_334 * 60_000 + 40_000);
      const events: Array<Record<string, unknown>> = [];
      const guard = new DynamoLoopGuard({
        doc: dynamo.doc,
        tableName: dynamo.tables.rateLimits,
        clock,
        logger: { warn: (_message, attributes) => events.push(attributes) },
      });
      const call = { keyId: 'k1', tenant: 'acme', keyPrefix: 'bw_test_', fingerprint: 'f'.repeat(64), maxRepeats: 3, windowMs: 60_000 };
      for (let i = 0; i < 3; i++) await guard.check(call);
      await assert.rejects(guard.check(call), (error: unknown) => {
        assert.ok(isGatewayError(error));
        assert.equal(error.code, 'loop_detected');
        assert.equal(error.status, 429);
        assert.equal(error.headers?.['retry-after'], '20');
        return true;
      });
      assert.equal(events.filter((event) => event.event === 'loop_detected').length, 1);
      // A different call, or the next window, is not a loop.
      await guard.check({ ...call, fingerprint: 'e'.repeat(64) });
      clock.advance(20_000);
      await guard.check(call);
    });
  });

  describe('DynamoStaleResponses', () => {
    it('keeps the last good answer until its stale bound and not past it', async () => {
      const clock = fakeClock();
      const store = new DynamoStaleResponses({ doc: dynamo.doc, tableName: dynamo.tables.cache, clock, logger: silent });
      const body = Buffer.from('{"temp":21}');
      await store.put('weather#GET#/now', { statusCode: 200, headers: { 'content-type': 'application/json' }, body, storedAt: clock.now() }, 60);
      const kept = await store.get('weather#GET#/now');
      assert.equal(kept?.statusCode, 200);
      assert.deepEqual(kept?.headers, { 'content-type': 'application/json' });
      assert.equal(kept?.body.toString(), '{"temp":21}');
      clock.advance(61_000);
      assert.equal(await store.get('weather#GET#/now'), undefined);
      assert.equal(await store.get('weather#GET#/other'), undefined);
    });

    it('does not keep an answer too large for one item', async () => {
      const clock = fakeClock();
      const store = new DynamoStaleResponses({ doc: dynamo.doc, tableName: dynamo.tables.cache, clock, logger: silent });
      await store.put('big', { statusCode: 200, headers: {}, body: Buffer.alloc(400 * 1024), storedAt: clock.now() }, 60);
      assert.equal(await store.get('big'), undefined);
    });
  });
});

describe('quotaHint', () => {
  const now = 1_700_000_000_000;
  it('reads each header family', () => {
    assert.deepEqual(quotaHint(200, { 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': '30' }, now), { remaining: 4, resetAt: now + 30_000 });
    assert.deepEqual(quotaHint(200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1_000 + 5) }, now), { remaining: 0, resetAt: now + 5_000 });
    assert.deepEqual(quotaHint(200, { 'ratelimit-remaining': '7', 'ratelimit-reset': '2' }, now), { remaining: 7, resetAt: now + 2_000 });
    assert.deepEqual(quotaHint(200, { ratelimit: 'limit=100, remaining=1, reset=9' }, now), { remaining: 1, resetAt: now + 9_000 });
    assert.deepEqual(quotaHint(429, { 'retry-after': '12' }, now), { remaining: 0, resetAt: now + 12_000 });
    assert.deepEqual(quotaHint(503, { 'retry-after': new Date(now + 4_000).toUTCString() }, now), { remaining: 0, resetAt: now + 4_000 });
  });
  it('caps a far reset at ten minutes and ignores nonsense', () => {
    assert.deepEqual(quotaHint(429, { 'retry-after': '99999' }, now), { remaining: 0, resetAt: now + 600_000 });
    assert.equal(quotaHint(200, { 'x-ratelimit-remaining': 'lots' }, now), undefined);
    assert.equal(quotaHint(200, {}, now), undefined);
    assert.deepEqual(quotaHint(429, {}, now), { remaining: 0, resetAt: now + 1_000 });
  });
});
