import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';
import { isGatewayError } from '../../../shared/errors';
import { SqsTaskQueue } from '../../../shared/queue';
import { DynamoTaskStore, STALE_QUEUED_AFTER_MS, sweepStaleTasks, TaskRunner, TaskService, type TaskQueue } from '../../../shared/tasks';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { chatRequest, freshQueues, patientDoc, receiveAll, scriptedExecutor, silentLogger } from '../worker/harness';

/** A queue whose next sends are lost: `fail` throws after nothing was sent, `drop` reports success and sends nothing. */
function lossyQueue(inner: TaskQueue) {
  const plan: Array<'fail' | 'drop'> = [];
  const queue: TaskQueue = {
    async send(message, priority) {
      const next = plan.shift();
      if (next === 'fail') throw Object.assign(new Error('connection reset'), { name: 'TimeoutError' });
      if (next === 'drop') return;
      await inner.send(message, priority);
    },
  };
  return { queue, plan };
}

describe('a task whose queue message was lost is sent again (DynamoDB Local and fauxqs)', () => {
  let dynamo: DynamoLocal;
  let emulator: LocalSqs;

  before(async () => {
    [dynamo, emulator] = await Promise.all([startDynamoLocal(), startLocalSqs({ env: { AWS_REGION: 'us-east-1' } })]);
  });
  after(async () => {
    await emulator?.close();
    await dynamo?.stop();
  });

  async function setUp() {
    const queues = await freshQueues(emulator.endpoint);
    const store = new DynamoTaskStore(patientDoc(dynamo), dynamo.tables.tasks);
    const lossy = lossyQueue(new SqsTaskQueue(queues.sqs, { high: queues.queues.high.url, normal: queues.queues.normal.url }));
    let now = Date.now();
    const clock = { now: () => now, sleep: async () => {} };
    const advance = (ms: number) => (now += ms);
    const service = new TaskService({ store, queue: lossy.queue, clock, logger: silentLogger });
    const { execute, calls } = scriptedExecutor(['ok']);
    const runner = new TaskRunner({ store, execute, clock, logger: silentLogger });
    /** Delivers every message on the normal queue to the runner, as the worker would. */
    const drain = async () => {
      for (const message of await receiveAll(queues, queues.queues.normal.url)) {
        await runner.run({ message: JSON.parse(message.Body!), messageId: message.MessageId!, receiveCount: 1, deferrals: 0, lambdaContext: { getRemainingTimeInMillis: () => 60_000 } as Context });
      }
    };
    return { queues, store, lossy, clock, advance, service, calls, drain };
  }

  it('runs the task when the send failed after the task was stored and the client resubmits', async () => {
    const { lossy, service, store, calls, drain } = await setUp();
    const body = { request: chatRequest };
    lossy.plan.push('fail');
    await assert.rejects(service.submit({ tenant: 'acme', body, idempotencyKey: 'lost-send' }), (error: unknown) => isGatewayError(error) && error.status === 503);

    const again = await service.submit({ tenant: 'acme', body, idempotencyKey: 'lost-send' });
    await drain();

    assert.equal(calls.length, 1);
    assert.equal((await store.get({ tenant: 'acme', id: again.id }))?.status, 'succeeded');
  });

  it('runs the task when its message vanished after a send that reported success, once a resubmit comes after the bound', async () => {
    const { lossy, service, store, calls, drain, advance } = await setUp();
    const body = { request: chatRequest };
    lossy.plan.push('drop');
    const first = await service.submit({ tenant: 'acme', body, idempotencyKey: 'lost-message' });
    await drain();
    assert.equal(calls.length, 0, 'nothing to run: the message is lost');

    // Within the bound a resubmit adds nothing: the message may only be slow.
    await service.submit({ tenant: 'acme', body, idempotencyKey: 'lost-message' });
    await drain();
    assert.equal(calls.length, 0);

    advance(STALE_QUEUED_AFTER_MS + 1);
    await service.submit({ tenant: 'acme', body, idempotencyKey: 'lost-message' });
    await drain();
    assert.equal(calls.length, 1);
    assert.equal((await store.get({ tenant: 'acme', id: first.id }))?.status, 'succeeded');
  });

  it('sweepStaleTasks re-sends a task queued past the bound, never a fresh one nor one handed back after an attempt', async () => {
    const { lossy, service, store, calls, drain, advance, clock, queues } = await setUp();
    const sqsQueue = new SqsTaskQueue(queues.sqs, { high: queues.queues.high.url, normal: queues.queues.normal.url });
    lossy.plan.push('drop', 'fail');
    const dropped = await service.submit({ tenant: 'sweep', body: { request: chatRequest }, idempotencyKey: 'dropped' });
    await assert.rejects(service.submit({ tenant: 'sweep', body: { request: chatRequest }, idempotencyKey: 'failed' }));
    const failedId = (await service.list('sweep', {})).data.find((task) => task.id !== dropped.id)?.id;

    const early = await sweepStaleTasks({ store, queue: sqsQueue, clock, logger: silentLogger });
    assert.deepEqual(early, { resent: 0, failed: 0 }, 'nothing is stale yet');

    advance(STALE_QUEUED_AFTER_MS + 1);
    const fresh = await service.submit({ tenant: 'sweep', body: { request: { ...chatRequest, model: 'fresh' } } });
    await drain(); // runs `fresh` only
    assert.equal(calls.length, 1);

    const swept = await sweepStaleTasks({ store, queue: sqsQueue, clock, logger: silentLogger });
    // Other tests' tasks in the shared table may be swept too; these two must be among them.
    assert.ok(swept.resent >= 2, `resent ${swept.resent}`);
    await drain();
    for (const id of [dropped.id, failedId!]) assert.equal((await store.get({ tenant: 'sweep', id }))?.status, 'succeeded', id);
    assert.equal((await store.get({ tenant: 'sweep', id: fresh.id }))?.status, 'succeeded');
    const ours = [dropped.id, failedId!, fresh.id];
    assert.deepEqual(calls.map((call) => call.taskId).filter((id) => ours.includes(id)).sort(), [...ours].sort(), 'each ran once');

    // A sent task is left for another bound: the next sweep right after sends nothing of these.
    await sweepStaleTasks({ store, queue: sqsQueue, clock, logger: silentLogger });
    assert.deepEqual(await receiveAll(queues, queues.queues.normal.url), [], 'finished tasks are not sent again');
  });

  it('sweepStaleTasks re-sends a task left running by a dead worker whose message was lost, never one whose lease is live', async () => {
    const { lossy, service, store, calls, drain, advance, clock, queues } = await setUp();
    const sqsQueue = new SqsTaskQueue(queues.sqs, { high: queues.queues.high.url, normal: queues.queues.normal.url });
    // Both messages are lost; both tasks are claimed by a worker that then dies (its lease: 1 s, or an hour).
    lossy.plan.push('drop', 'drop');
    const dead = await service.submit({ tenant: 'died', body: { request: chatRequest }, idempotencyKey: 'dead-worker' });
    const live = await service.submit({ tenant: 'died', body: { request: chatRequest }, idempotencyKey: 'live-worker' });
    await store.claim({ tenant: 'died', id: dead.id }, { owner: 'worker-that-died', at: clock.now(), leaseUntil: clock.now() + 1_000 });
    await store.claim({ tenant: 'died', id: live.id }, { owner: 'worker-still-running', at: clock.now(), leaseUntil: clock.now() + 3_600_000 });

    advance(1_000 + STALE_QUEUED_AFTER_MS + 1);
    await sweepStaleTasks({ store, queue: sqsQueue, clock, logger: silentLogger });
    await drain();

    assert.deepEqual(calls.map((call) => call.taskId).filter((id) => id === dead.id || id === live.id), [dead.id], 'the dead worker\'s task ran, once');
    assert.equal((await store.get({ tenant: 'died', id: dead.id }))?.status, 'succeeded');
    assert.equal((await store.get({ tenant: 'died', id: live.id }))?.status, 'running', 'a live lease is left alone');
  });
});
