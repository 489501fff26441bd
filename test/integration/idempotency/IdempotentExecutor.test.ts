import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { GatewayError, isGatewayError } from '../../../shared/errors';
import { IdempotentExecutor } from '../../../shared/idempotency';
import { createDynamoClients } from '../../../shared/stores/dynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const response = (text: string) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: text });
type Response = ReturnType<typeof response>;

function isCode(code: string, status: number) {
  return (error: unknown) => {
    assert.ok(isGatewayError(error), String(error));
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  };
}

/** The stored records of one tenant+key can't be found by id (it is a hash), so scan by status. */
async function records(store: DynamoLocal): Promise<Array<Record<string, unknown>>> {
  const { Items } = await store.doc.send(new ScanCommand({ TableName: store.tables.idempotency, ConsistentRead: true }));
  return Items ?? [];
}

describe('IdempotentExecutor against DynamoDB Local', () => {
  let store: DynamoLocal;
  let executor: IdempotentExecutor;
  let keyCounter = 0;
  const freshKey = () => `key-${Date.now()}-${keyCounter++}`;

  before(async () => {
    store = await startDynamoLocal();
    executor = new IdempotentExecutor({ client: store.client, tableName: store.tables.idempotency, logger: silent });
  });
  after(async () => {
    await store?.stop();
  });

  it('calls the upstream once for 50 concurrent requests with one Idempotency-Key', async () => {
    const key = freshKey();
    const payload = { model: 'm', messages: [{ role: 'user', content: 'charge my card once' }] };
    let calls = 0;
    const execute = async () => {
      calls++;
      await sleep(200);
      return response(`{"answer":${calls}}`);
    };

    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => executor.run({ tenant: 'acme', key, payload, execute })),
    );

    assert.equal(calls, 1);
    const ran = results.filter((r) => r.status === 'fulfilled' && !r.value.replayed);
    const replayed = results.filter((r) => r.status === 'fulfilled' && r.value.replayed);
    const inProgress = results.filter((r) => r.status === 'rejected');
    assert.equal(ran.length, 1);
    assert.equal(ran.length + replayed.length + inProgress.length, 50);
    for (const r of replayed) assert.deepEqual((r as PromiseFulfilledResult<{ value: Response }>).value.value, response('{"answer":1}'));
    for (const r of inProgress) {
      const error = (r as PromiseRejectedResult).reason;
      isCode('idempotency_in_progress', 409)(error);
      assert.deepEqual(error.headers, { 'retry-after': '1' });
    }
    assert.ok(inProgress.length > 0, 'some duplicates arrive while the first is in flight');

    const later = await executor.run({ tenant: 'acme', key, payload, execute });
    assert.deepEqual(later, { value: response('{"answer":1}'), replayed: true });
    assert.equal(calls, 1);
  });

  it('treats the same body with its keys in another order as the same request', async () => {
    const key = freshKey();
    let calls = 0;
    const execute = async () => (calls++, response('x'));
    await executor.run({ tenant: 'acme', key, payload: { a: 1, b: { c: 2, d: 3 } }, execute });
    const again = await executor.run({ tenant: 'acme', key, payload: { b: { d: 3, c: 2 }, a: 1 }, execute });
    assert.equal(again.replayed, true);
    assert.equal(calls, 1);
  });

  it('same key, other body → 422, and the first response is still replayed', async () => {
    const key = freshKey();
    let calls = 0;
    const execute = async () => (calls++, response('first'));
    await executor.run({ tenant: 'acme', key, payload: { input: 'one' }, execute });

    await assert.rejects(
      executor.run({ tenant: 'acme', key, payload: { input: 'two' }, execute }),
      isCode('idempotency_key_reused', 422),
    );
    assert.equal(calls, 1);
    const replay = await executor.run({ tenant: 'acme', key, payload: { input: 'one' }, execute });
    assert.deepEqual(replay, { value: response('first'), replayed: true });
  });

  it('same key, other body while the first is in flight → 422, not 409', async () => {
    const key = freshKey();
    const first = executor.run({ tenant: 'acme', key, payload: { input: 'one' }, execute: () => sleep(300).then(() => response('1')) });
    await sleep(50);
    await assert.rejects(
      executor.run({ tenant: 'acme', key, payload: { input: 'two' }, execute: async () => response('2') }),
      isCode('idempotency_key_reused', 422),
    );
    assert.deepEqual(await first, { value: response('1'), replayed: false });
  });

  it('a failed first call can be retried with the same key', async () => {
    const key = freshKey();
    const failure = new GatewayError('deadline_exceeded', 'upstream too slow');
    let calls = 0;
    await assert.rejects(
      executor.run({ tenant: 'acme', key, payload: { q: 1 }, execute: async () => (calls++, Promise.reject(failure)) }),
      (error) => error === failure,
    );

    const retry = await executor.run({ tenant: 'acme', key, payload: { q: 1 }, execute: async () => (calls++, response('ok')) });

    assert.deepEqual(retry, { value: response('ok'), replayed: false });
    assert.equal(calls, 2);
    const replay = await executor.run({ tenant: 'acme', key, payload: { q: 1 }, execute: async () => (calls++, response('no')) });
    assert.deepEqual(replay, { value: response('ok'), replayed: true });
    assert.equal(calls, 2);
  });

  it('a 5xx response is returned but not stored, so the same key can be retried', async () => {
    const key = freshKey();
    const first = await executor.run({ tenant: 'acme', key, payload: {}, execute: async () => ({ statusCode: 503, body: 'down' }) });
    assert.deepEqual(first, { value: { statusCode: 503, body: 'down' }, replayed: false });

    const retry = await executor.run({ tenant: 'acme', key, payload: {}, execute: async () => response('up') });
    assert.deepEqual(retry, { value: response('up'), replayed: false });
  });

  it('a response too large for an item is returned, not stored, and the key is released', async () => {
    const key = freshKey();
    const big = response('x'.repeat(400_000));
    let calls = 0;
    const execute = async () => (calls++, big);
    assert.deepEqual(await executor.run({ tenant: 'acme', key, payload: {}, execute }), { value: big, replayed: false });
    assert.deepEqual(await executor.run({ tenant: 'acme', key, payload: {}, execute }), { value: big, replayed: false });
    assert.equal(calls, 2);
  });

  it('scopes keys to the tenant', async () => {
    const key = freshKey();
    let calls = 0;
    const a = await executor.run({ tenant: 'tenant-a', key, payload: { q: 1 }, execute: async () => (calls++, response('for a')) });
    const b = await executor.run({ tenant: 'tenant-b', key, payload: { q: 1 }, execute: async () => (calls++, response('for b')) });
    assert.deepEqual(a, { value: response('for a'), replayed: false });
    assert.deepEqual(b, { value: response('for b'), replayed: false });
    assert.equal(calls, 2);

    // Each tenant replays its own, and B's body does not count as a reuse of A's key.
    assert.deepEqual(await executor.run({ tenant: 'tenant-a', key, payload: { q: 1 }, execute: async () => response('!') }), {
      value: response('for a'),
      replayed: true,
    });
    assert.deepEqual(await executor.run({ tenant: 'tenant-b', key, payload: { q: 1 }, execute: async () => response('!') }), {
      value: response('for b'),
      replayed: true,
    });
  });

  it('keeps completed records for 24 h by default (the TTL attribute)', async () => {
    const key = freshKey();
    const before = Math.floor(Date.now() / 1000);
    await executor.run({ tenant: 'ttl-tenant', key, payload: { ttl: true }, execute: async () => response('t') });
    const after = Math.ceil(Date.now() / 1000);
    const completed = (await records(store)).filter((item) => item.data === JSON.stringify(response('t')));
    assert.equal(completed.length, 1);
    const expiration = completed[0]!.expiration as number;
    assert.ok(expiration >= before + 86_400 && expiration <= after + 86_400, String(expiration - before));
    assert.equal(completed[0]!.status, 'COMPLETED');
  });

  it('a stuck in-progress record (crashed Lambda) expires with the invocation, and a retry then runs', async () => {
    const key = freshKey();
    const lambdaContext = { getRemainingTimeInMillis: () => 600 } as unknown as Context;
    // The first call "crashes": its execute never settles, and it is abandoned.
    void executor.run({ tenant: 'acme', key, payload: { crash: 1 }, lambdaContext, execute: () => new Promise<never>(() => {}) });
    await sleep(100);

    await assert.rejects(
      executor.run({ tenant: 'acme', key, payload: { crash: 1 }, lambdaContext, execute: async () => response('too early') }),
      isCode('idempotency_in_progress', 409),
    );
    await sleep(700);

    let calls = 0;
    const retry = await executor.run({
      tenant: 'acme',
      key,
      payload: { crash: 1 },
      lambdaContext,
      execute: async () => (calls++, response('recovered')),
    });
    assert.deepEqual(retry, { value: response('recovered'), replayed: false });
    assert.equal(calls, 1);
  });

  it('without a Lambda context an in-progress record blocks for 60 s, then a retry runs', async () => {
    const key = freshKey();
    const started = Date.now();
    void executor.run({ tenant: 'ctxless', key, payload: { crash: 2 }, execute: () => new Promise<never>(() => {}) });
    await sleep(100);

    const stuck = (await records(store)).filter((item) => item.status === 'INPROGRESS' && item.in_progress_expiration !== undefined);
    const mine = stuck.filter((item) => {
      const expiry = item.in_progress_expiration as number;
      return expiry >= started + 60_000 && expiry <= Date.now() + 60_000;
    });
    assert.equal(mine.length, 1, 'the record carries a 60 s in-progress expiry');
    await assert.rejects(
      executor.run({ tenant: 'ctxless', key, payload: { crash: 2 }, execute: async () => response('too early') }),
      isCode('idempotency_in_progress', 409),
    );

    // Let the 60 s pass, by hand: the record now looks like one left by a crash long ago.
    await store.doc.send(
      new UpdateCommand({
        TableName: store.tables.idempotency,
        Key: { id: mine[0]!.id },
        UpdateExpression: 'SET in_progress_expiration = :past',
        ExpressionAttributeValues: { ':past': Date.now() - 1 },
      }),
    );
    const retry = await executor.run({ tenant: 'ctxless', key, payload: { crash: 2 }, execute: async () => response('recovered') });
    assert.deepEqual(retry, { value: response('recovered'), replayed: false });
  });

  it('honours a configured record lifetime', async () => {
    const shortLived = new IdempotentExecutor({
      client: store.client,
      tableName: store.tables.idempotency,
      expiresAfterSeconds: 1,
      logger: silent,
    });
    const key = freshKey();
    let calls = 0;
    const execute = async () => (calls++, response(`call ${calls}`));
    await shortLived.run({ tenant: 'acme', key, payload: {}, execute });
    assert.equal((await shortLived.run({ tenant: 'acme', key, payload: {}, execute })).replayed, true);
    await sleep(2_100);
    const afterExpiry = await shortLived.run({ tenant: 'acme', key, payload: {}, execute });
    assert.deepEqual(afterExpiry, { value: response('call 2'), replayed: false });
  });

  it('store down: fails closed with 503 idempotency_unavailable and never runs the request', async () => {
    const { client } = createDynamoClients({ endpoint: 'http://127.0.0.1:1' });
    const down = new IdempotentExecutor({ client, tableName: store.tables.idempotency, logger: silent });
    let calls = 0;
    try {
      await assert.rejects(
        down.run({ tenant: 'acme', key: freshKey(), payload: {}, execute: async () => (calls++, response('x')) }),
        isCode('idempotency_unavailable', 503),
      );
      assert.equal(calls, 0);
    } finally {
      client.destroy();
    }
  });
});
