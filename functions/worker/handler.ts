import type { CompiledConfig } from '../../shared/config';
import { rebuildOnChange } from '../../shared/config/rebuildOnChange';
import { GatewayApp } from '../../shared/gateway';
import { createServices } from '../../shared/gateway/createServices';
import { createSqsClient, maxReceiveCountFromEnv, taskQueueUrlsFromEnv } from '../../shared/queue';
import { systemClock, systemRandom } from '../../shared/resilience';
import { DynamoTaskStore } from '../../shared/tasks';
import { functionMetrics } from '../../shared/telemetry/functionMetrics';
import { recordSpend, type CompletionFacts } from '../../shared/telemetry/requestMetrics';
import { startFunction } from '../startFunction';
import { createWorkerHandler } from './createWorkerHandler';
import { executeTaskWith } from './executeTaskWith';
import { sendCallbackWith } from './sendCallback';

// Cold start (config, secrets, tracing, DynamoDB: functions/startFunction.ts); tables and queues
// are read once, and a missing queue URL fails loudly here. With AppConfig delivery on, the
// handler is rebuilt when the config changed (see functions/gateway/handler.ts).
const { logger, metrics, secrets, appConfig, initialConfig, tracing, dynamo, tables } = await startFunction('breakwater-worker');
// Each task's spend and tokens on a line of their own (the tenant as a dimension), as the gateway's per request.
const spendMetrics = functionMetrics('breakwater-worker');
const recordTaskSpend = (facts: CompletionFacts) => recordSpend(spendMetrics, systemClock.now(), facts);
const observer = tracing?.observer;
// SQS calls as subsegments of each invocation's trace, as DynamoDB's.
const queueUrls = taskQueueUrlsFromEnv();
const sqs = tracing ? tracing.captureClient(createSqsClient()) : createSqsClient();

const tasks = new DynamoTaskStore(dynamo.doc, tables.tasks);

function handlerFor(config: CompiledConfig) {
  // A new config may name new credentials: warm them as the cold start does.
  if (config !== initialConfig) void secrets.prefetch(config.credentialNames);
  // The same engine as the gateway's; the worker does not use the key store or the task API.
  const { keyResolver: _keys, tasks: _tasks, ...services } = createServices({ dynamo, tables, config, clock: systemClock, logger, metrics });
  const app = new GatewayApp({ config, secrets, services, clock: systemClock, random: systemRandom, logger, metrics, observer });
  return createWorkerHandler({
    tasks,
    sqs,
    queueUrls: [queueUrls.high, queueUrls.normal],
    executeTask: executeTaskWith(app.completions, config, systemClock, recordTaskSpend),
    onFinished: sendCallbackWith({ config, secrets, logger, clock: systemClock, random: systemRandom }),
    logger,
    metrics,
    maxReceiveCount: maxReceiveCountFromEnv(),
  });
}

type WorkerHandler = ReturnType<typeof handlerFor>;

export const handler: WorkerHandler = appConfig ? await reloadingHandler(rebuildOnChange(appConfig, handlerFor)) : handlerFor(initialConfig);

/** A handler that serves each batch with the handler built on the current config. */
async function reloadingHandler(current: () => Promise<WorkerHandler>): Promise<WorkerHandler> {
  await current(); // built at cold start, as without AppConfig
  return (async (...args: Parameters<WorkerHandler>) => (await current())(...args)) as WorkerHandler;
}
