/**
 * `npx tsx bench/tasks.bench.ts`: asynchronous tasks through the local stack `npm start` runs
 * (in-process dynalite and fauxqs, the SQS poller, the real worker handler), with a fake
 * upstream of fixed latency in place of the gateway engine.
 *
 *  1. Submit: tasks/s through TaskService (conditional put, SendMessage, enqueued mark).
 *  2. Drain: a backlog of normal tasks worked off; tasks/s through queue and worker.
 *  3. Mixed: a steady stream (10 % high priority) while the worker keeps up, and queue wait
 *     (submit to claim) p50/p95 per priority; then the same stream on top of a normal backlog,
 *     where priority is what keeps the high wait short.
 *
 * Environment knobs:
 *   BENCH_TASKS        backlog size for submit and drain      (default 2000)
 *   BENCH_RATE         mixed-phase submits per second          (default 50)
 *   BENCH_MIXED_S      mixed-phase duration in seconds          (default 5)
 *   BENCH_UPSTREAM_MS  fake upstream latency                    (default 20)
 *   BENCH_LANES        concurrent worker invocations            (default 4)
 *   BENCH_BATCH        records per invocation                   (default 10)
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { performance } from 'node:perf_hooks';
import { startLocalDynamo } from '../bin/local/localDynamo';
import { startLocalSqs } from '../bin/local/localSqs';
import { startSqsPoller } from '../bin/local/sqsPoller';
import { createWorkerHandler } from '../functions/worker/createWorkerHandler';
import { SqsTaskQueue } from '../shared/queue';
import { systemClock } from '../shared/resilience';
import { createDynamoClients, tableNamesFromEnv } from '../shared/stores/dynamo';
import { DynamoTaskStore, TaskService, type ExecuteTask, type TaskPriority } from '../shared/tasks';

const numberEnv = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const TASKS = numberEnv('BENCH_TASKS', 2000);
const RATE = numberEnv('BENCH_RATE', 50);
const MIXED_S = numberEnv('BENCH_MIXED_S', 5);
const UPSTREAM_MS = numberEnv('BENCH_UPSTREAM_MS', 20);
const LANES = numberEnv('BENCH_LANES', 4);
const BATCH = numberEnv('BENCH_BATCH', 10);

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const silent = new Logger({ logLevel: 'SILENT' });
const request = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'Say hello in one word.' }], max_tokens: 8 };

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
};
const round = (value: number): number | string => (Number.isNaN(value) ? '-' : Math.round(value * 10) / 10);

const env: NodeJS.ProcessEnv = { AWS_REGION: 'us-east-1' };
const dynamo = await startLocalDynamo(env);
const sqsLocal = await startLocalSqs({ env, visibilityTimeoutSeconds: 60 });
const { doc } = createDynamoClients({ endpoint: dynamo.endpoint, region: 'us-east-1' });
const store = new DynamoTaskStore(doc, tableNamesFromEnv(env).tasks);
const queue = new SqsTaskQueue(sqsLocal.sqs, { high: sqsLocal.queues.high.url, normal: sqsLocal.queues.normal.url });
const service = new TaskService({ store, queue, clock: systemClock, logger: silent });

/** Queue wait per priority, taken at the first call of each task (submit → claim). */
const waits: Record<TaskPriority, number[]> = { high: [], normal: [] };
let executed = 0;
const executeTask: ExecuteTask = async (task) => {
  if (task.attempts === 1) waits[task.priority].push(Date.now() - task.createdAt);
  await new Promise((resolve) => setTimeout(resolve, UPSTREAM_MS));
  executed++;
  return { body: { id: `chatcmpl-${task.id}`, object: 'chat.completion', choices: [] }, costUsd: 0 };
};
const handler = createWorkerHandler({
  tasks: store,
  sqs: sqsLocal.sqs,
  queueUrls: [sqsLocal.queues.high.url, sqsLocal.queues.normal.url],
  executeTask,
  logger: silent,
  concurrency: BATCH,
  stopBeforeTimeoutMs: 1_000,
});
const startPoller = () =>
  startSqsPoller({
    sqs: sqsLocal.sqs,
    queues: [sqsLocal.queues.high.url, sqsLocal.queues.normal.url],
    handler,
    batchSize: BATCH,
    concurrency: LANES,
    functionTimeoutMs: 30_000,
    visibilityTimeoutSeconds: 60,
    idlePollMs: 10,
  });

async function waitUntilExecuted(count: number): Promise<void> {
  while (executed < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function submitMany(count: number, priorityOf: (index: number) => TaskPriority, concurrency = 20): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        await service.submit({ tenant: 'bench', body: { request, priority: priorityOf(index) } });
      }
    }),
  );
  return performance.now() - started;
}

/** Submits at a steady rate for the phase's duration, one high in ten. */
async function steadyStream(): Promise<number> {
  const total = Math.round(RATE * MIXED_S);
  const started = performance.now();
  const pending: Array<Promise<unknown>> = [];
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(service.submit({ tenant: 'bench', body: { request, priority: index % 10 === 0 ? 'high' : 'normal' } }));
  }
  await Promise.all(pending);
  return total;
}

const rows: Array<Record<string, string | number>> = [];
const waitRow = (phase: string, tasks: number, ms: number) => {
  rows.push({
    phase,
    tasks,
    'tasks/s': round((tasks / ms) * 1000),
    'high p50 ms': round(percentile(waits.high, 50)),
    'high p95 ms': round(percentile(waits.high, 95)),
    'normal p50 ms': round(percentile(waits.normal, 50)),
    'normal p95 ms': round(percentile(waits.normal, 95)),
  });
};

try {
  console.error(`tasks bench: ${TASKS} tasks, upstream ${UPSTREAM_MS} ms, ${LANES} invocations × ${BATCH} records (dynalite + fauxqs in process)`);

  // 1 + 2. Submit a backlog, then drain it.
  const submitMs = await submitMany(TASKS, () => 'normal');
  rows.push({ phase: 'submit (TaskService)', tasks: TASKS, 'tasks/s': round((TASKS / submitMs) * 1000) });
  let poller = await startPoller();
  let started = performance.now();
  await waitUntilExecuted(TASKS);
  waitRow('drain backlog', TASKS, performance.now() - started);
  await poller.stop();

  // 3a. A steady stream the worker keeps up with.
  waits.high = [];
  waits.normal = [];
  executed = 0;
  poller = await startPoller();
  started = performance.now();
  const streamed = await steadyStream();
  await waitUntilExecuted(streamed);
  waitRow(`steady ${RATE}/s, 10 % high`, streamed, performance.now() - started);
  await poller.stop();

  // 3b. The same stream on top of a normal backlog: high work must not queue behind it.
  waits.high = [];
  waits.normal = [];
  executed = 0;
  await submitMany(TASKS, () => 'normal');
  waits.normal = [];
  poller = await startPoller();
  started = performance.now();
  const streamedOnBacklog = await steadyStream();
  await waitUntilExecuted(TASKS + streamedOnBacklog);
  waitRow(`steady ${RATE}/s over a ${TASKS} backlog`, TASKS + streamedOnBacklog, performance.now() - started);
  await poller.stop();

  console.table(rows);
} finally {
  await sqsLocal.close();
  await dynamo.close();
}
