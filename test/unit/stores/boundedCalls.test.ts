import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../../shared/credentials';
import { createSqsClient } from '../../../shared/queue';
import { Deadline, runWithDeadline, systemClock } from '../../../shared/resilience';
import { AFTER_DEADLINE_MS, isStoreTimeoutError, untilDeadline, type StoreTimeoutError } from '../../../shared/stores/boundedCalls';
import { createDynamoClients } from '../../../shared/stores/dynamo';
import { DYNAMO_TIMEOUTS } from '../../../shared/stores/dynamo/createClients';
import { startHungStore, type HungStore } from '../../support/deadDynamo';

/** Runs a call that must fail; its error and how long it took. */
async function timed(call: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await call();
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  assert.fail('the call answered');
}

const get = new GetCommand({ TableName: 'any', Key: { pk: 'a' } });

describe('bounded store calls against a store that accepts and never answers', () => {
  let hung: HungStore;
  before(async () => {
    hung = await startHungStore();
  });
  after(async () => {
    await hung?.close();
  });

  it('guarantee: a DynamoDB call ends at its call bound with a TimeoutError, and its socket is closed', async () => {
    const { doc, client } = createDynamoClients({ endpoint: hung.endpoint, timeouts: { attemptTimeoutMs: 300, callTimeoutMs: 300 } });
    try {
      const { error, ms } = await timed(() => doc.send(get));
      assert.ok(isStoreTimeoutError(error), String(error));
      assert.equal((error as StoreTimeoutError).name, 'TimeoutError');
      assert.equal((error as StoreTimeoutError).bound, 'call');
      assert.match((error as Error).message, /^DynamoDB did not answer within 300 ms$/);
      assert.ok(ms >= 290 && ms < 600, `${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(hung.open, 0, 'the request was destroyed, not left on the socket');
    } finally {
      client.destroy();
    }
  });

  it('the production bounds: DynamoDB and Secrets Manager 2 s, SQS 5 s, every attempt throwing on its timeout', () => {
    assert.deepEqual(DYNAMO_TIMEOUTS, { connectionTimeoutMs: 1_000, attemptTimeoutMs: 2_000, callTimeoutMs: 2_000, maxAttempts: 2 });
  });

  it("guarantee: inside a request, a call ends by the request's deadline, bound 'deadline'", async () => {
    const { doc, client } = createDynamoClients({ endpoint: hung.endpoint });
    try {
      const { error, ms } = await timed(() => runWithDeadline(Deadline.after(systemClock, 400), () => doc.send(get)));
      assert.equal((error as StoreTimeoutError).bound, 'deadline');
      assert.ok(ms >= 380 && ms < 700, `${ms} ms, not the 2 s call bound`);
    } finally {
      client.destroy();
    }
  });

  it(`a call after the deadline still gets ${AFTER_DEADLINE_MS} ms (a settle on a healthy store fits; a hung one costs no more)`, async () => {
    const { doc, client } = createDynamoClients({ endpoint: hung.endpoint });
    try {
      const { error, ms } = await timed(() => runWithDeadline(Deadline.after(systemClock, 0), () => doc.send(get)));
      assert.equal((error as StoreTimeoutError).bound, 'deadline');
      assert.ok(ms >= AFTER_DEADLINE_MS - 10 && ms < AFTER_DEADLINE_MS + 300, `${ms} ms`);
    } finally {
      client.destroy();
    }
  });

  it("guarantee: untilDeadline stops a request's wait on shared work at its own deadline; the work runs on for the others", async () => {
    const { doc, client } = createDynamoClients({ endpoint: hung.endpoint });
    try {
      // One look-up, two waiters: the first with 400 ms left, the second without a deadline.
      const shared = doc.send(get);
      const second = timed(() => untilDeadline(shared, undefined, 'the key store'));
      const { error, ms } = await timed(() => untilDeadline(shared, Deadline.after(systemClock, 400), 'the key store'));
      assert.equal((error as StoreTimeoutError).bound, 'deadline');
      assert.match((error as Error).message, /the key store did not answer within the request's remaining \d+ ms/);
      assert.ok(ms >= 380 && ms < 700, `${ms} ms`);
      const other = await second;
      assert.equal((other.error as StoreTimeoutError).bound, 'call', "the shared call ended at its own bound, not the first waiter's deadline");
      assert.ok(other.ms >= DYNAMO_TIMEOUTS.callTimeoutMs - 50, `${other.ms} ms`);
    } finally {
      client.destroy();
    }
  });

  it("the caller's own abort signal still ends the call first", async () => {
    const { doc, client } = createDynamoClients({ endpoint: hung.endpoint });
    try {
      const { error, ms } = await timed(() => doc.send(get, { abortSignal: AbortSignal.timeout(100) }));
      assert.equal(isStoreTimeoutError(error), false);
      assert.equal((error as Error).name, 'AbortError');
      assert.ok(ms < 500, `${ms} ms`);
    } finally {
      client.destroy();
    }
  });

  it('guarantee: an SQS send ends at its bound (retries included), a Secrets Manager read at 2 s', async () => {
    const sqs = createSqsClient({ endpoint: hung.endpoint, requestTimeoutMs: 400 });
    const secrets = createSecretsManagerClient({ endpoint: hung.endpoint });
    try {
      const queued = await timed(() => sqs.send(new SendMessageCommand({ QueueUrl: `${hung.endpoint}/000000000000/q`, MessageBody: 'x' })));
      assert.match((queued.error as Error).message, /^SQS did not answer within 400 ms$/);
      assert.ok(queued.ms < 800, `${queued.ms} ms`);
      const read = await timed(() => secrets.send(new GetSecretValueCommand({ SecretId: 'any' })));
      assert.match((read.error as Error).message, /^Secrets Manager did not answer within 2000 ms$/);
      assert.ok(read.ms >= 1_990 && read.ms < 2_500, `${read.ms} ms`);
    } finally {
      sqs.destroy();
      secrets.destroy();
    }
  });
});
