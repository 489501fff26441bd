import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { LocalSqs } from '../../bin/local/localSqs';
import { startSqsPoller, type SqsPoller, type SqsPollerOptions } from '../../bin/local/sqsPoller';
import { createWorkerHandler, type WorkerHandlerDeps } from '../../functions/worker/createWorkerHandler';
import { executeTaskWith } from '../../functions/worker/executeTaskWith';
import { sendCallbackWith } from '../../functions/worker/sendCallback';
import { compileConfig, type BreakwaterConfigInput } from '../../shared/config';
import type { SecretSource } from '../../shared/credentials';
import { GatewayApp } from '../../shared/gateway';
import { createServices } from '../../shared/gateway/createServices';
import { createSqsClient, parseTaskMessage } from '../../shared/queue';
import { systemClock, systemRandom } from '../../shared/resilience';
import { createDynamoClients } from '../../shared/stores/dynamo';
import { DynamoTaskStore } from '../../shared/tasks';
import type { DynamoLocal } from './dynamoLocal';
import { startStatefulGateway, type StatefulGateway } from './startStatefulGateway';

/**
 * The task pipeline assembled in one process the way the stack deploys it: the gateway's real
 * Lambda handler (with `/v1/tasks` on) behind the local API Gateway server, and the worker
 * Lambda (built like functions/worker/handler.ts, with its dependencies injected) fed by the
 * local event source mapping. Both share one fauxqs and one DynamoDB Local.
 */

const silent = () => new Logger({ serviceName: 'breakwater-test', logLevel: 'SILENT' });

export interface TaskGatewayOptions {
  config: BreakwaterConfigInput;
  dynamo: DynamoLocal;
  queues: LocalSqs;
  secrets: SecretSource;
  /** @default a SILENT logger */
  logger?: Logger;
}

export interface TaskGateway extends StatefulGateway {
  /** `SendMessage` calls the gateway's own SQS client made: what the task API enqueued. */
  sends(): number;
}

/** The gateway with services from `createServices` given the queues, as functions/gateway/handler.ts builds them. */
export async function startTaskGateway(options: TaskGatewayOptions): Promise<TaskGateway> {
  // The gateway's own client (a separate container from the worker), counting what it sends.
  const sqs = createSqsClient({ endpoint: options.queues.endpoint });
  let sends = 0;
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageCommand' || context.commandName === 'SendMessageBatchCommand') sends++;
      return next(args);
    },
    { step: 'initialize', name: 'countTaskSends' },
  );
  const gateway = await startStatefulGateway({
    config: options.config,
    dynamo: options.dynamo,
    secrets: options.secrets,
    logger: options.logger,
    // The services createServices builds when the handler has queues: built once more, with them.
    overrideServices: (_built, context) =>
      createServices({
        dynamo: context.clients,
        tables: context.tables,
        config: context.config,
        clock: context.clock,
        logger: context.logger,
        queues: { sqs, urls: { high: options.queues.queues.high.url, normal: options.queues.queues.normal.url } },
      }),
  });
  return {
    ...gateway,
    sends: () => sends,
    close: async () => {
      await gateway.close();
      sqs.destroy();
    },
  };
}

export interface TaskWorkerOptions {
  config: BreakwaterConfigInput;
  dynamo: DynamoLocal;
  queues: LocalSqs;
  secrets: SecretSource;
  logger?: Logger;
  /** Over the test defaults below (immediate redeliveries, short timeouts). */
  worker?: Partial<WorkerHandlerDeps>;
  poller?: Partial<Omit<SqsPollerOptions, 'sqs' | 'queues' | 'handler'>>;
}

/** One record handed to the worker: which task, on which receive. */
export interface WorkerDelivery {
  taskId: string;
  tenant: string;
  receiveCount: number;
  /** The queue it came from (`eventSourceARN`): the high or the normal one. */
  queueArn: string;
  /**
   * Once the invocation returned: `deleted` when the record was not reported failed (the event
   * source deletes it), `returned` when it was (it comes back after its visibility timeout).
   */
  settled?: 'deleted' | 'returned';
}

export interface TaskWorker {
  /** Every task record the event source handed to the worker, in order. */
  readonly deliveries: WorkerDelivery[];
  deliveriesOf(taskId: string): WorkerDelivery[];
  /** Starts the event source (the poller); a no-op while it runs. */
  start(): Promise<void>;
  /** Stops the event source and waits for the invocations in flight. */
  stop(): Promise<void>;
  close(): Promise<void>;
  readonly poller: SqsPoller | undefined;
}

/** The worker Lambda as functions/worker/handler.ts builds it, on the test's stores, queues and secrets. */
export async function startTaskWorker(options: TaskWorkerOptions): Promise<TaskWorker> {
  const config = compileConfig(options.config);
  const logger = options.logger ?? silent();
  const dynamo = createDynamoClients({ endpoint: options.dynamo.endpoint });
  const { tables } = options.dynamo;
  // The same engine as the gateway's; the worker does not use the key store or the task API.
  const { keyResolver: _keys, tasks: _tasks, ...services } = createServices({ dynamo, tables, config, clock: systemClock, logger });
  const app = new GatewayApp({ config, secrets: options.secrets, services, clock: systemClock, random: systemRandom, logger });
  const { queues } = options;

  const handler = createWorkerHandler({
    tasks: new DynamoTaskStore(dynamo.doc, tables.tasks),
    sqs: queues.sqs,
    queueUrls: [queues.queues.high.url, queues.queues.normal.url],
    executeTask: executeTaskWith(app.completions, config, systemClock),
    onFinished: sendCallbackWith({ config, secrets: options.secrets, logger, clock: systemClock, random: systemRandom }),
    logger,
    maxReceiveCount: queues.maxReceiveCount,
    // A transient failure comes back at once: full jitter over a 0 s base is 0 s.
    backoff: { baseSeconds: 0, capSeconds: 1 },
    random: () => 0,
    leaseMarginMs: 500,
    stopBeforeTimeoutMs: 2_000,
    returnBeforeTimeoutMs: 500,
    ...options.worker,
  });

  const deliveries: WorkerDelivery[] = [];
  const observed = async (event: SQSEvent, context: Parameters<typeof handler>[1]) => {
    const seen = new Map<string, WorkerDelivery>();
    for (const record of event.Records) {
      const message = parseTaskMessage(record.body);
      if (!message) continue;
      const delivery: WorkerDelivery = {
        taskId: message.taskId,
        tenant: message.tenant,
        receiveCount: Number(record.attributes.ApproximateReceiveCount),
        queueArn: record.eventSourceARN,
      };
      deliveries.push(delivery);
      seen.set(record.messageId, delivery);
    }
    const response = await handler(event, context);
    const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    for (const [messageId, delivery] of seen) delivery.settled = failed.has(messageId) ? 'returned' : 'deleted';
    return response;
  };

  let poller: SqsPoller | undefined;
  const start = async () => {
    if (poller) return;
    poller = await startSqsPoller({
      sqs: queues.sqs as Pick<SQSClient, 'send'>,
      queues: [queues.queues.high.url, queues.queues.normal.url],
      handler: observed,
      idlePollMs: 20,
      concurrency: 2,
      functionTimeoutMs: 20_000,
      visibilityTimeoutSeconds: 30,
      ...options.poller,
    });
  };
  const stop = async () => {
    const running = poller;
    poller = undefined;
    await running?.stop();
  };
  await start();

  return {
    deliveries,
    deliveriesOf: (taskId) => deliveries.filter((delivery) => delivery.taskId === taskId),
    start,
    stop,
    close: async () => {
      await stop();
      dynamo.client.destroy();
    },
    get poller() {
      return poller;
    },
  };
}
