import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { createLogger } from '../../shared/logging';
import { publishMetrics } from '../../shared/middleware/publishMetrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  deferralsOf,
  jitteredRedelivery,
  parseTaskMessage,
  processSqsBatch,
  receiveCountOf,
  RedeliveryError,
  type RedeliveryAction,
  type RedeliveryBackoffOptions,
} from '../../shared/queue';
import { systemClock, systemRandom, type Clock, type RandomSource } from '../../shared/resilience';
import { TASK_METRICS } from '../../shared/telemetry/metricNames';
import { TaskRunner, type ExecuteTask, type Task, type TaskOutcome, type TaskStore } from '../../shared/tasks';

export interface WorkerHandlerDeps {
  tasks: TaskStore;
  sqs: Pick<SQSClient, 'send'>;
  /** The queues this function consumes (high, normal): for visibility changes and deferrals. */
  queueUrls: readonly string[];
  /** Runs a task's request through the gateway engine. */
  executeTask: ExecuteTask;
  clock?: Clock;
  /** Draws the redelivery jitter. @default Math.random */
  random?: RandomSource;
  logger?: Logger;
  /**
   * Flushed after each batch (breaker, budget, task and redelivery metrics recorded while it ran).
   * With `addMetric` and `singleMetric` too, the tasks' own are recorded (TasksCompleted...).
   */
  metrics?: Pick<Metrics, 'hasStoredMetrics' | 'publishStoredMetrics'> & Partial<Pick<Metrics, 'addMetric' | 'singleMetric'>>;
  /** @default 5 — must equal the queues' redrive policy `maxReceiveCount` */
  maxReceiveCount?: number;
  /** @default 24 — see {@link TaskRunnerOptions.maxDeferrals} */
  maxDeferrals?: number;
  /** @default 5 s base, 15 min cap */
  backoff?: Partial<RedeliveryBackoffOptions>;
  /** @default 2_000 — see {@link TaskRunnerOptions.leaseMarginMs} */
  leaseMarginMs?: number;
  /**
   * No record is started with less than this left before the function's timeout; the rest go
   * back untouched. A record started just above it gets about this long for its upstream call
   * (the engine's deadline follows the remaining time), so it should cover a typical completion.
   * Must be well below the function timeout, or no record is ever started.
   * @default 10_000
   */
  stopBeforeTimeoutMs?: number;
  /**
   * Records still running this close to the timeout are reported failed and the batch returns,
   * keeping the records already done.
   * @default 1_000
   */
  returnBeforeTimeoutMs?: number;
  /**
   * Records of a batch run at once. Each is an upstream call that mostly waits on the network.
   * @default 10 — SQS's default batch size: a whole default batch at once
   */
  concurrency?: number;
  /** After a task reaches a final status: the callback sender hooks in here. */
  onFinished?: (task: Task) => Promise<void>;
  onRedelivery?: (action: RedeliveryAction) => void;
}

/**
 * The SQS-triggered worker: a list of middlewares around the task runner. Each record is
 * handled alone and reported alone (partial batch failures, with `ReportBatchItemFailures` on
 * the event source); failed records come back with a jittered delay.
 *
 * A malformed message (not a task message) is reported failed and left untouched: it comes
 * back after the queue's visibility timeout and lands in the DLQ after `maxReceiveCount`
 * receives, where it can be looked at; it never fails its batch's other records.
 */
export function createWorkerHandler(deps: WorkerHandlerDeps) {
  const logger = deps.logger ?? createLogger({ serviceName: 'breakwater-worker' });
  const clock = deps.clock ?? systemClock;
  const runner = new TaskRunner({
    store: deps.tasks,
    execute: deps.executeTask,
    clock,
    logger,
    maxReceiveCount: deps.maxReceiveCount,
    maxDeferrals: deps.maxDeferrals,
    leaseMarginMs: deps.leaseMarginMs,
    onFinished: deps.onFinished,
    metrics: deps.metrics?.addMetric && deps.metrics.singleMetric ? (deps.metrics as Pick<Metrics, 'addMetric' | 'singleMetric'>) : undefined,
  });
  const maxReceiveCount = deps.maxReceiveCount ?? 5;

  const handleRecord = async (record: SQSRecord, context: Context): Promise<TaskOutcome> => {
    const message = parseTaskMessage(record.body);
    if (!message) {
      logger.warn('malformed task message', { message_id: record.messageId, receive_count: receiveCountOf(record) });
      // Its last receive: the queue moves it to the DLQ next.
      if (receiveCountOf(record) >= maxReceiveCount) deps.metrics?.addMetric?.(TASK_METRICS.DEAD_LETTER_MOVES, MetricUnit.Count, 1);
      throw new RedeliveryError('malformed task message', { kind: 'untouched' });
    }
    return runner.run({
      message,
      messageId: record.messageId,
      receiveCount: receiveCountOf(record),
      deferrals: deferralsOf(record),
      lambdaContext: context,
    });
  };

  return (
    // Middy's own early timeout would fail every record of the batch, the finished ones too;
    // processSqsBatch returns before the timeout with each record's own result instead.
    middy<SQSEvent, SQSBatchResponse>({ timeoutEarlyInMillis: 0 })
      .use(injectLambdaContext(logger, { resetKeys: true }))
      .use(deps.metrics ? [publishMetrics(deps.metrics)] : [])
      // Turns the per-record settled results into `batchItemFailures`; its `after` runs last.
      .use(
        sqsPartialBatchFailure({
          logger: (reason: unknown, record: SQSRecord) =>
            logger.debug('record reported failed', { message_id: record.messageId, reason: (reason as Error | undefined)?.message }),
        }),
      )
      .use(
        jitteredRedelivery({
          sqs: deps.sqs,
          queueUrls: deps.queueUrls,
          backoff: deps.backoff,
          random: deps.random ?? systemRandom,
          clock,
          logger,
          onRedelivery: deps.onRedelivery,
        }),
      )
      // The handler returns one settled result per record; the middlewares above turn them into
      // the SQSBatchResponse Lambda reads, hence the cast.
      .handler(
        async (event, context) =>
          (await processSqsBatch(event.Records, (record) => handleRecord(record, context), {
            context,
            stopBeforeTimeoutMs: deps.stopBeforeTimeoutMs ?? 10_000,
            returnBeforeTimeoutMs: deps.returnBeforeTimeoutMs ?? 1_000,
            concurrency: deps.concurrency ?? 10,
          })) as unknown as SQSBatchResponse,
      )
  );
}
