import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';
import { startSqsPoller, toSqsRecord, type PolledBatch, type SqsHandler } from '../../../bin/local/sqsPoller';
import { GatewayError } from '../../../shared/errors';
import { redriveDlq } from '../../../shared/queue';
import type { Task } from '../../../shared/tasks';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import {
  chatRequest,
  freshQueues,
  messagesIn,
  percentile,
  receiveAll,
  scriptedExecutor,
  seedBacklog,
  taskService,
  waitFor,
  worker,
} from './harness';

const NORMAL_TASKS = 1_000;
const HIGH_TASKS = 40;
const BATCH_SIZE = 10;
const CONCURRENCY = 4;
/**
 * A high-priority message waits at most for the batches already received: each of the poller's
 * lanes holds one batch at a time and polls the high queue before the normal one, so at most
 * one normal batch per lane is delivered between a high message's send and its delivery. An
 * ordering bound, the same on any machine; the wait in milliseconds is printed, not asserted.
 */
const NORMAL_AHEAD_BOUND = CONCURRENCY * BATCH_SIZE;

const transient = () => new GatewayError('all_targets_failed', 'every target answered 503');
const lambdaContext = (remainingMs: number, requestId: string) =>
  ({ awsRequestId: requestId, functionName: 'worker', getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

describe('the task worker against fauxqs and DynamoDB Local', () => {
  let dynamo: DynamoLocal;
  let emulator: LocalSqs;

  before(async () => {
    [dynamo, emulator] = await Promise.all([startDynamoLocal(), startLocalSqs({ env: { AWS_REGION: 'us-east-1' } })]);
  });
  after(async () => {
    await emulator?.close();
    await dynamo?.stop();
  });

  /** Submits tasks, runs a poller feeding the worker until `done` holds for them, then stops it. */
  async function runUntil(
    queues: LocalSqs,
    handler: ReturnType<typeof worker>,
    done: (tasks: Task[]) => boolean,
    ids: string[],
    pollerOptions: { functionTimeoutMs?: number; visibilityTimeoutSeconds?: number; batchWindowMs?: number } = {},
  ) {
    const { store } = taskService(dynamo, queues);
    const batches: PolledBatch[] = [];
    const poller = await startSqsPoller({
      sqs: queues.sqs,
      queues: [queues.queues.high.url, queues.queues.normal.url],
      handler,
      functionTimeoutMs: pollerOptions.functionTimeoutMs ?? 5_000,
      visibilityTimeoutSeconds: pollerOptions.visibilityTimeoutSeconds ?? 10,
      batchWindowMs: pollerOptions.batchWindowMs ?? 0,
      idlePollMs: 20,
      onBatch: (batch) => batches.push(batch),
    });
    try {
      const tasks = await waitFor(
        async () => {
          const current = await Promise.all(ids.map((id) => store.get({ tenant: 'acme', id })));
          return current.every((task) => task !== undefined) && done(current as Task[]) ? (current as Task[]) : undefined;
        },
        15_000,
        'the tasks to settle',
      );
      return { tasks, batches, stats: poller.stats };
    } finally {
      await poller.stop();
    }
  }

  it('calls the upstream once when the same message is handled by two workers at once', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service, store } = taskService(dynamo, queues);
    const { execute, calls } = scriptedExecutor(['ok'], { latencyMs: 300 });
    const handler = worker(dynamo, queues, execute);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest } });

    // Two deliveries of one message: the first receive makes it visible again at once.
    const [first] = await receiveAll(queues, queues.queues.normal.url, 0);
    const [second] = await receiveAll(queues, queues.queues.normal.url, 30);
    assert.ok(first && second);
    assert.equal(first.MessageId, second.MessageId);
    const arn = queues.queues.normal.arn;
    const responses = (await Promise.all([
      handler({ Records: [toSqsRecord(first, arn)] }, lambdaContext(5_000, 'invocation-a')),
      handler({ Records: [toSqsRecord(second, arn)] }, lambdaContext(5_000, 'invocation-b')),
    ])) as SQSBatchResponse[];

    assert.equal(calls.length, 1);
    // One invocation ran it; the other saw the claim and handed its copy back for later.
    assert.deepEqual(
      responses.map((response) => response.batchItemFailures.length).sort(),
      [0, 1],
    );
    const task = await store.get({ tenant: 'acme', id });
    assert.equal(task?.status, 'succeeded');
    assert.equal(task?.attempts, 1);
    assert.deepEqual(task?.result, { id: `chatcmpl-${id}`, object: 'chat.completion', call: 1 });
  });

  it('re-runs a task whose worker died mid-task once its lease and visibility expire, ending with one result', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    // The first run never returns: the invocation is abandoned at its timeout, like a killed worker.
    const { execute, calls } = scriptedExecutor(['hang', 'ok']);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest } });

    const { tasks, batches } = await runUntil(queues, worker(dynamo, queues, execute), ([task]) => task!.status === 'succeeded', [id], {
      functionTimeoutMs: 600,
      visibilityTimeoutSeconds: 1,
    });

    // The stuck invocation deleted nothing: its message came back when its visibility ended.
    assert.deepEqual(batches[0]!.failedIds, batches[0]!.messageIds);
    assert.equal(batches[1]!.outcome, 'returned', 'the re-run ends within its function timeout');
    assert.equal(calls.length, 2);
    assert.deepEqual(
      calls.map((call) => call.receiveCount),
      [1, 2],
    );
    assert.equal(tasks[0]!.attempts, 2);
    assert.deepEqual(tasks[0]!.result, { id: `chatcmpl-${id}`, object: 'chat.completion', call: 2 });
    assert.equal(await messagesIn(queues, queues.queues.normal.url), 0);
  });

  it('succeeds after N transient failures, one receive per attempt', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    const { execute, calls } = scriptedExecutor([transient(), transient(), transient(), 'ok']);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest } });

    const { tasks } = await runUntil(queues, worker(dynamo, queues, execute), ([task]) => task!.status === 'succeeded', [id]);

    assert.deepEqual(
      calls.map((call) => call.receiveCount),
      [1, 2, 3, 4],
    );
    assert.equal(tasks[0]!.attempts, 4);
    assert.deepEqual(tasks[0]!.lastError, { code: 'all_targets_failed', message: 'every target answered 503' });
    assert.equal(tasks[0]!.costUsd, 0.001);
    assert.equal(await messagesIn(queues, queues.queues.normal.url), 0);
  });

  it('fails a task at once on a permanent failure: one call, message deleted', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    const { execute, calls } = scriptedExecutor([new GatewayError('invalid_api_key', 'the provider key was refused')]);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest, priority: 'high' } });

    const { tasks } = await runUntil(queues, worker(dynamo, queues, execute), ([task]) => task!.status === 'failed', [id]);

    assert.equal(calls.length, 1);
    assert.deepEqual(tasks[0]!.error, { code: 'invalid_api_key', message: 'the provider key was refused' });
    assert.equal(await messagesIn(queues, queues.queues.high.url), 0);
  });

  it('dead-letters after maxReceiveCount receives; a redrive runs it again', async () => {
    const queues = await freshQueues(emulator.endpoint, 3);
    const { service, store } = taskService(dynamo, queues);
    const failing = scriptedExecutor([transient()]);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest } });

    const { tasks } = await runUntil(queues, worker(dynamo, queues, failing.execute), ([task]) => task!.status === 'dead_lettered', [id]);

    assert.equal(failing.calls.length, 3);
    assert.deepEqual(tasks[0]!.error, { code: 'all_targets_failed', message: 'every target answered 503' });
    // The message reaches the DLQ on the receive after the last (a poller would make it).
    await receiveAll(queues, queues.queues.normal.url);
    const dead = await receiveAll(queues, queues.queues.dlq.url, 0);
    assert.deepEqual(dead.map((message) => JSON.parse(message.Body!)), [{ tenant: 'acme', taskId: id }]);

    const redriven = await redriveDlq({ sqs: queues.sqs, dlqUrl: queues.queues.dlq.url, targetUrl: queues.queues.normal.url });
    assert.deepEqual(redriven, { mode: 'copy', moved: 1 });
    const healthy = scriptedExecutor(['ok']);
    const again = await runUntil(queues, worker(dynamo, queues, healthy.execute), ([task]) => task!.status === 'succeeded', [id]);
    assert.equal(healthy.calls.length, 1);
    assert.equal(again.tasks[0]!.attempts, 4);
    assert.equal((await store.get({ tenant: 'acme', id }))?.status, 'succeeded');
  });

  it('fails a poison message alone, never its batch', async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service } = taskService(dynamo, queues);
    const { execute } = scriptedExecutor(['ok']);
    const ids: string[] = [];
    for (let index = 0; index < 3; index++) ids.push((await service.submit({ tenant: 'acme', body: { request: chatRequest } })).id);
    const { MessageId: poisonId } = await queues.sqs.send(
      new SendMessageCommand({ QueueUrl: queues.queues.normal.url, MessageBody: 'this is not a task message' }),
    );

    const { batches } = await runUntil(queues, worker(dynamo, queues, execute), (tasks) => tasks.every((task) => task.status === 'succeeded'), ids);

    assert.equal(batches[0]!.messageIds.length, 4);
    assert.deepEqual(batches[0]!.failedIds, [poisonId]);
  });

  it('defers a task while its circuit is open instead of using up a receive', async () => {
    // One receive allowed: any failure that used one up would dead-letter the task.
    const queues = await freshQueues(emulator.endpoint, 1);
    const { service } = taskService(dynamo, queues);
    const open = new GatewayError('all_targets_unavailable', "every target's circuit is open; retry in 1 s", { headers: { 'retry-after': '1' } });
    const { execute, calls } = scriptedExecutor([open, 'ok']);
    const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest } });

    const { tasks } = await runUntil(queues, worker(dynamo, queues, execute), ([task]) => task!.status === 'succeeded', [id]);

    // The deferred copy is a fresh message: its receive count starts over.
    assert.deepEqual(
      calls.map((call) => call.receiveCount),
      [1, 1],
    );
    assert.ok(calls[1]!.at - calls[0]!.at >= 900, `deferred ${calls[1]!.at - calls[0]!.at} ms`);
    assert.equal(tasks[0]!.attempts, 2);
    assert.equal(await messagesIn(queues, queues.queues.dlq.url), 0);
  });

  it(`delivers each high-priority task ahead of all but ${NORMAL_AHEAD_BOUND} of ${NORMAL_TASKS} queued normal tasks`, async () => {
    const queues = await freshQueues(emulator.endpoint);
    const { service, store } = taskService(dynamo, queues);
    const { execute, calls } = scriptedExecutor(['ok'], { latencyMs: 5 });
    // One log, in the order things happened: a high task's submit, and every record delivered.
    const log: Array<{ kind: 'submitted'; taskId: string } | { kind: 'delivered'; taskId: string; high: boolean }> = [];
    const handler = worker(dynamo, queues, execute);
    const logged: SqsHandler = (event, context) => {
      for (const record of event.Records) {
        const { taskId } = JSON.parse(record.body) as { taskId: string };
        log.push({ kind: 'delivered', taskId, high: record.eventSourceARN === queues.queues.high.arn });
      }
      return handler(event, context);
    };
    const submitHigh = async () => {
      const { id } = await service.submit({ tenant: 'acme', body: { request: chatRequest, priority: 'high' } });
      log.push({ kind: 'submitted', taskId: id });
      return id;
    };

    // The backlog is written in bulk (the submit path has its own tests): 25 tasks per
    // BatchWriteItem and 10 messages per SendMessageBatch, as if 1,000 submits had just landed.
    const seeding = Date.now();
    await seedBacklog(dynamo, queues, NORMAL_TASKS);
    // One high task waits with the whole backlog before the first poll; the rest arrive while it drains.
    const highIds = [await submitHigh()];

    const started = Date.now();
    const poller = await startSqsPoller({
      sqs: queues.sqs,
      queues: [queues.queues.high.url, queues.queues.normal.url],
      handler: logged,
      batchSize: BATCH_SIZE,
      concurrency: CONCURRENCY,
      visibilityTimeoutSeconds: 30,
      functionTimeoutMs: 10_000,
      idlePollMs: 10,
    });
    try {
      while (highIds.length < HIGH_TASKS) {
        highIds.push(await submitHigh());
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      await waitFor(async () => (calls.length >= NORMAL_TASKS + HIGH_TASKS ? true : undefined), 60_000, 'the backlog to drain');
    } finally {
      await poller.stop();
    }
    const drainMs = Date.now() - started;

    assert.equal(new Set(calls.map((call) => call.taskId)).size, NORMAL_TASKS + HIGH_TASKS, 'every task ran once');
    // Normal records delivered after each high task was submitted and before it was delivered.
    const normalAhead = highIds.map((id) => {
      const submitted = log.findIndex((entry) => entry.kind === 'submitted' && entry.taskId === id);
      const delivered = log.findIndex((entry) => entry.kind === 'delivered' && entry.taskId === id);
      assert.ok(delivered >= 0, `high task ${id} was never delivered`);
      return log.slice(submitted + 1, delivered).filter((entry) => entry.kind === 'delivered' && !entry.high).length;
    });
    const normalDeliveredAfterFirstHigh = log
      .slice(log.findIndex((entry) => entry.kind === 'delivered' && entry.taskId === highIds[0]))
      .filter((entry) => entry.kind === 'delivered' && !entry.high).length;

    // Wall-clock figures, for the record only (the bench is where speed is judged).
    const waits = (priority: string) => calls.filter((call) => call.priority === priority).map((call) => call.waitedMs);
    const highWaits = waits('high');
    const normalWaits = waits('normal');
    const summary = {
      seeded_ms: started - seeding,
      drained_ms: drainMs,
      tasks_per_s: Math.round((calls.length / drainMs) * 1000),
      normal_delivered_ahead_of_high: { max: Math.max(...normalAhead), bound: NORMAL_AHEAD_BOUND },
      high_wait_ms: { p50: percentile(highWaits, 50), p95: percentile(highWaits, 95), max: Math.max(...highWaits) },
      normal_wait_ms: { p50: percentile(normalWaits, 50), p95: percentile(normalWaits, 95) },
    };
    console.log(`# priority: ${JSON.stringify(summary)}`);

    assert.equal(highWaits.length, HIGH_TASKS);
    assert.ok(
      normalAhead.every((count) => count <= NORMAL_AHEAD_BOUND),
      `normal records delivered ahead of a waiting high task: ${JSON.stringify(normalAhead)}`,
    );
    // The bound means something: the first high task overtook (nearly) the whole backlog.
    assert.ok(normalDeliveredAfterFirstHigh >= NORMAL_TASKS - NORMAL_AHEAD_BOUND, `${normalDeliveredAfterFirstHigh} normal after the first high`);
    const high = await Promise.all(highIds.map((id) => store.get({ tenant: 'acme', id })));
    assert.deepEqual(new Set(high.map((task) => task?.status)), new Set(['succeeded']));
  });
});
