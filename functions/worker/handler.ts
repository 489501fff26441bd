import { loadConfigFile } from '../../shared/config';
import { GatewayError } from '../../shared/errors';
import { createSqsClient, maxReceiveCountFromEnv, taskQueueUrlsFromEnv } from '../../shared/queue';
import { createDynamoClients, tableNamesFromEnv } from '../../shared/stores/dynamo';
import { DynamoTaskStore, type ExecuteTask } from '../../shared/tasks';
import { createWorkerHandler } from './createWorkerHandler';

// Cold start: config, tables and queues are read once; a missing queue URL fails loudly here.
const config = await loadConfigFile(process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json');
const { doc } = createDynamoClients();
const queueUrls = taskQueueUrlsFromEnv();

/**
 * The seam to the gateway engine (routing, breakers, budgets, credentials), wired by the
 * gateway's owners. Until then a task fails transiently: it is retried and, in the end,
 * dead-lettered, where a redrive picks it up once the engine is wired.
 */
const executeTask: ExecuteTask = async () => {
  void config;
  throw new GatewayError('internal_error', 'the worker is not wired to the gateway engine yet');
};

export const handler = createWorkerHandler({
  tasks: new DynamoTaskStore(doc, tableNamesFromEnv().tasks),
  sqs: createSqsClient(),
  queueUrls: [queueUrls.high, queueUrls.normal],
  executeTask,
  maxReceiveCount: maxReceiveCountFromEnv(),
});
