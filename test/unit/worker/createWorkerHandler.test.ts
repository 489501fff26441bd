import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createWorkerHandler, type WorkerHandlerDeps } from '../../../functions/worker/createWorkerHandler';
import { GatewayError } from '../../../shared/errors';
import { encodeTaskMessage } from '../../../shared/queue';
import { MemoryTaskStore, type ExecuteTask, type Task } from '../../../shared/tasks';
import { fakeClock, scriptedRandom } from '../../support/fakeClock';
import { queuedTask } from '../../support/taskFixture';

const QUEUE_URL = 'http://sqs.us-east-1.localhost:4566/000000000000/breakwater-tasks-normal';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:breakwater-tasks-normal';
const silentLogger = new Logger({ logLevel: 'SILENT' });

const newTask = (now: number): Task => queuedTask(now);

function record(messageId: string, body: string, receiveCount = 1, deferrals?: number): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: '000000000000',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes:
      deferrals === undefined ? {} : { 'breakwater-deferrals': { dataType: 'Number', stringValue: String(deferrals), stringListValues: [], binaryListValues: [] } },
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

const taskRecord = (messageId: string, task: Task, receiveCount = 1, deferrals?: number) =>
  record(messageId, encodeTaskMessage({ tenant: task.tenant, taskId: task.id }), receiveCount, deferrals);

const contextWith = (remaining: () => number) =>
  ({ awsRequestId: 'req-1', functionName: 'worker', getRemainingTimeInMillis: remaining }) as unknown as Context;

describe('createWorkerHandler', () => {
  const sqs = mockClient(SQSClient);
  const client = new SQSClient({ region: 'us-east-1' });
  beforeEach(() => {
    sqs.reset();
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'new' });
  });

  function setup(executeTask: ExecuteTask, overrides: Partial<WorkerHandlerDeps> = {}) {
    const clock = fakeClock();
    const tasks = new MemoryTaskStore();
    const handler = createWorkerHandler({
      tasks,
      sqs: client,
      queueUrls: [QUEUE_URL],
      executeTask,
      clock,
      random: scriptedRandom(0.5),
      logger: silentLogger,
      maxReceiveCount: 5,
      stopBeforeTimeoutMs: 1_000,
      concurrency: 1,
      ...overrides,
    });
    const invoke = (records: SQSRecord[], context = contextWith(() => 60_000)) =>
      handler({ Records: records } satisfies SQSEvent, context);
    return { clock, tasks, invoke };
  }

  it('fails only the poison record of a batch, and leaves it untouched', async () => {
    const { clock, tasks, invoke } = setup(async () => ({ body: 'ok' }));
    const good = [newTask(clock.now()), newTask(clock.now())];
    for (const task of good) await tasks.create(task);

    const response = await invoke([taskRecord('good-1', good[0]!), record('poison', '{"not":"a task"'), taskRecord('good-2', good[1]!)]);

    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: 'poison' }] });
    for (const task of good) assert.equal((await tasks.get(task))?.status, 'succeeded');
    assert.equal(sqs.commandCalls(ChangeMessageVisibilityCommand).length, 0);
  });

  it('stops taking records near the timeout and returns the rest untouched (no claim, no visibility change)', async () => {
    let remaining = 60_000;
    const { clock, tasks, invoke } = setup(async () => {
      remaining = 999; // the first record used up the invocation
      return { body: 'ok' };
    });
    const batch = [newTask(clock.now()), newTask(clock.now()), newTask(clock.now())];
    for (const task of batch) await tasks.create(task);

    const response = await invoke(
      batch.map((task, index) => taskRecord(`m${index}`, task)),
      contextWith(() => remaining),
    );

    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
    assert.equal((await tasks.get(batch[0]!))?.status, 'succeeded');
    for (const task of batch.slice(1)) {
      const stored = await tasks.get(task);
      assert.equal(stored?.status, 'queued');
      assert.equal(stored?.attempts, 0);
    }
    assert.equal(sqs.calls().length, 0);
  });

  it('sets a jittered visibility timeout from the receive count on a transient failure', async () => {
    const { clock, tasks, invoke } = setup(async () => {
      throw new GatewayError('all_targets_failed', 'every target answered 5xx');
    }, { backoff: { baseSeconds: 5, capSeconds: 900 } });
    const task = newTask(clock.now());
    await tasks.create(task);

    const response = await invoke([taskRecord('m1', task, 3)]);

    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: 'm1' }] });
    const calls = sqs.commandCalls(ChangeMessageVisibilityCommand);
    assert.equal(calls.length, 1);
    // Third receive: ceiling 5 * 2^2 = 20 s; the draw 0.5 gives 10 s.
    assert.deepEqual(calls[0]?.args[0].input, { QueueUrl: QUEUE_URL, ReceiptHandle: 'rh-m1', VisibilityTimeout: 10 });
    assert.equal((await tasks.get(task))?.status, 'queued');
  });

  it("defers an open circuit's task until the half-open time, without failing the record", async () => {
    const { clock, tasks, invoke } = setup(async () => {
      throw new GatewayError('all_targets_unavailable', 'every circuit is open', { headers: { 'retry-after': '30' } });
    });
    const task = newTask(clock.now());
    await tasks.create(task);

    const response = await invoke([taskRecord('m1', task, 5, 2)]);

    assert.deepEqual(response, { batchItemFailures: [] });
    const [send] = sqs.commandCalls(SendMessageCommand);
    assert.deepEqual(send?.args[0].input, {
      QueueUrl: QUEUE_URL,
      MessageBody: encodeTaskMessage({ tenant: task.tenant, taskId: task.id }),
      DelaySeconds: 30,
      MessageAttributes: { 'breakwater-deferrals': { DataType: 'Number', StringValue: '3' } },
    });
    assert.equal(sqs.commandCalls(ChangeMessageVisibilityCommand).length, 0);
    assert.equal((await tasks.get(task))?.status, 'queued');
  });

  it('falls back to holding the delivery back when the deferral cannot be sent', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('queue unavailable'));
    const { clock, tasks, invoke } = setup(async () => {
      throw new GatewayError('all_targets_unavailable', 'every circuit is open', { headers: { 'retry-after': '30' } });
    });
    const task = newTask(clock.now());
    await tasks.create(task);

    const response = await invoke([taskRecord('m1', task)]);

    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: 'm1' }] });
    assert.deepEqual(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input.VisibilityTimeout, 30);
  });

  it('fails the task at once on a permanent failure and reports the record done', async () => {
    let calls = 0;
    const { clock, tasks, invoke } = setup(async () => {
      calls++;
      throw new GatewayError('budget_exceeded', 'daily budget spent', { headers: { 'retry-after': '3600' } });
    });
    const task = newTask(clock.now());
    await tasks.create(task);

    assert.deepEqual(await invoke([taskRecord('m1', task)]), { batchItemFailures: [] });
    assert.equal(calls, 1);
    assert.deepEqual((await tasks.get(task))?.error, { code: 'budget_exceeded', message: 'daily budget spent' });
    assert.equal(sqs.calls().length, 0);
  });

  it('dead-letters on the last receive and makes the message visible at once for SQS to move', async () => {
    const { clock, tasks, invoke } = setup(async () => {
      throw new GatewayError('all_targets_failed', '5xx');
    });
    const task = newTask(clock.now());
    await tasks.create(task);

    assert.deepEqual(await invoke([taskRecord('m1', task, 5)]), { batchItemFailures: [{ itemIdentifier: 'm1' }] });
    assert.equal((await tasks.get(task))?.status, 'dead_lettered');
    assert.equal(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input.VisibilityTimeout, 0);
  });

  it('still reports the failure when the visibility change itself fails', async () => {
    sqs.on(ChangeMessageVisibilityCommand).rejects(new Error('throttled'));
    const { clock, tasks, invoke } = setup(async () => {
      throw new Error('boom');
    });
    const task = newTask(clock.now());
    await tasks.create(task);
    assert.deepEqual(await invoke([taskRecord('m1', task)]), { batchItemFailures: [{ itemIdentifier: 'm1' }] });
  });
});

describe('createWorkerHandler near the timeout', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => sqs.reset());

  it('returns before the timeout with the finished records done and the still-running one failed', async () => {
    const clock = fakeClock();
    const tasks = new MemoryTaskStore();
    const fast = newTask(clock.now());
    const stuck = newTask(clock.now());
    await tasks.create(fast);
    await tasks.create(stuck);
    const handler = createWorkerHandler({
      tasks,
      sqs: new SQSClient({ region: 'us-east-1' }),
      queueUrls: [QUEUE_URL],
      executeTask: async (task) => (task.id === stuck.id ? new Promise<never>(() => {}) : { body: 'ok' }),
      clock,
      logger: silentLogger,
      stopBeforeTimeoutMs: 100,
      returnBeforeTimeoutMs: 100,
      concurrency: 2,
    });
    const deadline = Date.now() + 400;
    const started = Date.now();

    const response = await handler(
      { Records: [taskRecord('fast', fast), taskRecord('stuck', stuck)] },
      contextWith(() => deadline - Date.now()),
    );

    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: 'stuck' }] });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 280 && elapsed < 400, `returned after ${elapsed} ms`);
    assert.equal((await tasks.get(fast))?.status, 'succeeded');
    assert.equal(sqs.calls().length, 0);
  });
});
