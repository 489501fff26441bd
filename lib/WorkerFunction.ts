import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { createBreakwaterNodejsFunction, requireWhenBundling, type LogLevel } from './BreakwaterNodejsFunction.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_WORKER_ENTRY, fromRepoRoot } from './paths.js';

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

export interface WorkerFunctionProps {
  /** Handler entry file. Default: <repo>/functions/worker/handler.ts */
  readonly entry?: string;
  /** Routing config shipped in the bundle, as for the gateway. Default: <repo>/breakwater.config.json */
  readonly configPath?: string;
  /** Default: 1024 */
  readonly memorySize?: number;
  /** Default: {@link DEFAULT_WORKER_TIMEOUT} */
  readonly timeout?: Duration;
  /** Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Default: INFO */
  readonly logLevel?: LogLevel;
  /** Extra environment variables (merged over the defaults). */
  readonly environment?: Record<string, string>;
  /** See GatewayFunctionProps.bundleAwsSdk. Default: false */
  readonly bundleAwsSdk?: boolean;
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
export class WorkerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: WorkerFunctionProps = {}) {
    super(scope, id);

    const entry = fromRepoRoot(props.entry ?? DEFAULT_WORKER_ENTRY);
    const configPath = fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH);
    this.timeout = props.timeout ?? DEFAULT_WORKER_TIMEOUT;

    requireWhenBundling(
      this,
      entry,
      `Breakwater worker entry not found at ${entry}; it handles the task queues. ` +
        'Create functions/worker/handler.ts or pass the workerEntry stack prop.',
    );
    requireWhenBundling(
      this,
      configPath,
      `Breakwater routing config not found at ${configPath}; it is copied into the Lambda bundle. ` +
        'Create it or pass the configPath stack prop.',
    );

    const created = createBreakwaterNodejsFunction(this, {
      description: 'Breakwater: asynchronous task worker (SQS)',
      entry,
      configPath,
      serviceName: 'breakwater-worker',
      memorySize: props.memorySize ?? 1024,
      timeout: this.timeout,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      environment: props.environment,
      bundleAwsSdk: props.bundleAwsSdk,
    });
    this.function = created.function;
    this.logGroup = created.logGroup;
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
    this.function.addEventSource(
      new SqsEventSource(source.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency }),
    );
  }
}
