import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createWorkerHandler } from '../../../functions/worker/createWorkerHandler';
import { GatewayError } from '../../../shared/errors';
import { encodeTaskMessage } from '../../../shared/queue';
import { MemoryTaskStore, type ExecuteTask, type Task } from '../../../shared/tasks';
import { ENGINE_METRIC_NAMES, TASK_METRICS } from '../../../shared/telemetry/metricNames';
import { fakeClock, scriptedRandom } from '../../support/fakeClock';
import { queuedTask } from '../../support/taskFixture';
import { captureEmf, dimensionSetsOf, enabledMetrics, metricNamesOf, type EmfLine } from './emfCapture';

const QUEUE_URL = 'http://sqs.us-east-1.localhost:4566/000000000000/breakwater-tasks-normal';
const MAX_RECEIVES = 5;

const newTask = (now: number): Task => queuedTask(now);

function record(messageId: string, body: string, receiveCount = 1): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: '000000000000', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:breakwater-tasks-normal',
    awsRegion: 'us-east-1',
  };
}
const taskRecord = (task: Task, receiveCount = 1) => record(`m-${task.id}`, encodeTaskMessage({ tenant: task.tenant, taskId: task.id }), receiveCount);
const context = { awsRequestId: 'req-1', functionName: 'worker', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

/** The sum of a metric over the lines (Powertools lists repeats of a name in one line). */
const total = (lines: EmfLine[], name: string) => lines.flatMap((line) => [line[name] ?? []].flat() as number[]).reduce((a, b) => a + b, 0);

describe('worker metrics: tasks completed, failed, moved to the DLQ, and store unavailability', () => {
  const sqs = mockClient(SQSClient);
  const savedDisabled = process.env.POWERTOOLS_METRICS_DISABLED;
  let emf: ReturnType<typeof captureEmf>;

  before(() => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  });
  after(() => {
    if (savedDisabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = savedDisabled;
  });
  beforeEach(() => {
    sqs.reset();
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: 'new' });
    emf = captureEmf();
  });
  afterEach(() => emf.restore());

  function worker(executeTask: ExecuteTask, tasks = new MemoryTaskStore()) {
    const handler = createWorkerHandler({
      tasks,
      sqs: new SQSClient({ region: 'us-east-1' }),
      queueUrls: [QUEUE_URL],
      executeTask,
      clock: fakeClock(),
      random: scriptedRandom(0.5),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: enabledMetrics('breakwater-worker'),
      maxReceiveCount: MAX_RECEIVES,
      stopBeforeTimeoutMs: 1_000,
      concurrency: 1,
    });
    return { tasks, invoke: (records: SQSRecord[]) => handler({ Records: records } satisfies SQSEvent, context) };
  }

  it('counts a success, a permanent failure and a task dead-lettered on its last receive, in the batch line', async () => {
    const { tasks, invoke } = worker(async (task) => {
      if (task.request.model === 'bad') throw new GatewayError('invalid_request', 'no');
      if (task.request.model === 'flaky') throw new GatewayError('all_targets_failed', 'down');
      return { body: 'ok' };
    });
    const now = Date.now();
    const ok = newTask(now);
    const bad = { ...newTask(now), request: { model: 'bad', messages: [] } };
    const flaky = { ...newTask(now), request: { model: 'flaky', messages: [] } };
    for (const task of [ok, bad, flaky]) await tasks.create(task);

    await invoke([taskRecord(ok), taskRecord(bad), taskRecord(flaky, MAX_RECEIVES), record('poison', 'not json', MAX_RECEIVES), record('poison-early', 'not json', 1)]);

    assert.equal((await tasks.get(flaky))?.status, 'dead_lettered');
    const counts = emf.lines.filter((line) => metricNamesOf(line).includes(TASK_METRICS.COMPLETED));
    assert.equal(counts.length, 1, 'one line for the batch');
    assert.deepEqual(dimensionSetsOf(counts[0]!), ['service']);
    assert.equal(counts[0]!.service, 'breakwater-worker');
    assert.equal(total(emf.lines, TASK_METRICS.COMPLETED), 1);
    assert.equal(total(emf.lines, TASK_METRICS.FAILED), 2, 'the permanent failure and the dead-lettered task');
    // The dead-lettered task and the malformed message on its last receive; not the early one.
    assert.equal(total(emf.lines, TASK_METRICS.DEAD_LETTER_MOVES), 2);
  });

  it('a task store that cannot be reached, and a spend store failing the task, each emit StoreUnavailable with its store', async () => {
    const tasks = new MemoryTaskStore();
    const task = newTask(Date.now());
    await tasks.create(task);
    const down = Object.assign(Object.create(tasks) as MemoryTaskStore, {
      claim: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
      },
    });
    await worker(async () => ({ body: 'ok' }), down).invoke([taskRecord(task)]);
    await worker(async () => {
      throw new GatewayError('budget_unavailable', 'the spend ledger is unavailable');
    }, tasks).invoke([taskRecord(task)]);

    const unavailable = emf.lines.filter((line) => metricNamesOf(line).includes(ENGINE_METRIC_NAMES.STORE_UNAVAILABLE));
    assert.deepEqual(
      unavailable.map((line) => [line.store, line[ENGINE_METRIC_NAMES.STORE_UNAVAILABLE]]),
      [
        ['tasks', 1],
        ['spend', 1],
      ],
    );
    for (const line of unavailable) assert.deepEqual(dimensionSetsOf(line), ['service', 'service,store']);
  });
});
