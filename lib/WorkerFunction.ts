import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BreakwaterNodejsFunction, type BreakwaterFunctionOptions } from './BreakwaterNodejsFunction.js';
import { DEFAULT_WORKER_ENTRY } from './paths.js';

/**
 * Default: 2 minutes. A task is one chat completion under the gateway's own deadline (27 s
 * by default) plus a callback with a few retries; a batch of ten runs them side by side.
 * The queues' visibility timeout is six times this, so keep it modest: a worker that dies
 * mid-task has its message come back only after that visibility timeout.
 */
export const DEFAULT_WORKER_TIMEOUT = Duration.minutes(2);
/** Lambda's floor for an SQS event source's maximum concurrency. */
export const MIN_MAX_CONCURRENCY = 2;
/** Lambda's ceiling for an SQS event source's maximum concurrency. */
export const MAX_MAX_CONCURRENCY = 1000;

export interface WorkerFunctionProps extends BreakwaterFunctionOptions {
  /** Handler entry file. Default: <repo>/functions/worker/handler.ts */
  readonly entry?: string;
  /** Default: {@link DEFAULT_WORKER_TIMEOUT} */
  readonly timeout?: Duration;
}

export interface WorkerQueueSource {
  readonly queue: IQueue;
  /** Concurrent Lambda invocations this queue may drive (2..1000). */
  readonly maxConcurrency: number;
}

/**
 * The SQS worker Lambda: the same bundle settings and runtime as the gateway, fed by the task
 * queues with partial batch failure reporting.
 */
export class WorkerFunction extends BreakwaterNodejsFunction {
  constructor(scope: Construct, id: string, props: WorkerFunctionProps = {}) {
    super(scope, id, props, {
      defaultEntry: DEFAULT_WORKER_ENTRY,
      defaultTimeout: DEFAULT_WORKER_TIMEOUT,
      description: 'Breakwater: asynchronous task worker (SQS)',
      serviceName: 'breakwater-worker',
      missingEntryMessage: (entry) =>
        `Breakwater worker entry not found at ${entry}; it handles the task queues. ` +
        'Create functions/worker/handler.ts or pass the workerEntry stack prop.',
    });
  }

  /**
   * Feeds the worker from `source.queue`: batches of ten, failed items reported one by one
   * (a poison message never fails its batch), and at most `maxConcurrency` invocations so a
   * backlog cannot outrun the providers' rate limits. Also grants the consume permissions,
   * ChangeMessageVisibility included (the retry middleware sets its own redelivery delay).
   */
  addQueue(source: WorkerQueueSource): void {
    const { maxConcurrency } = source;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < MIN_MAX_CONCURRENCY || maxConcurrency > MAX_MAX_CONCURRENCY) {
      throw new Error(
        `maxConcurrency must be an integer from ${MIN_MAX_CONCURRENCY} to ${MAX_MAX_CONCURRENCY} (Lambda's limits), got ${maxConcurrency}`,
      );
    }
    // On the alias: a release shifts queue traffic between versions like API traffic.
    this.alias.addEventSource(new SqsEventSource(source.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency }));
  }
}
