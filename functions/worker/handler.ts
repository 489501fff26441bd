import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfigFile } from '../../shared/config';
import { createLogger } from '../../shared/logging';
import { PrefixedSecretSource, SecretsManagerSource } from '../../shared/credentials';
import { GatewayApp } from '../../shared/gateway';
import { createServices } from '../../shared/gateway/createServices';
import { createSqsClient, maxReceiveCountFromEnv, taskQueueUrlsFromEnv } from '../../shared/queue';
import { systemClock, systemRandom } from '../../shared/resilience';
import { createDynamoClients, tableNamesFromEnv } from '../../shared/stores/dynamo';
import { DynamoTaskStore } from '../../shared/tasks';
import { loadTracing } from '../../shared/telemetry';
import { createWorkerHandler } from './createWorkerHandler';
import { executeTaskWith } from './executeTaskWith';
import { sendCallbackWith } from './sendCallback';

// Cold start: config, tables and queues are read once; a missing queue URL fails loudly here.
// Every line redacted: the credentials read below are cut out (shared/redaction).
const logger = createLogger({ serviceName: 'breakwater-worker' });
// The stack sets a namespace per stage (Breakwater/<stage>); npm start keeps 'Breakwater'.
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Breakwater', serviceName: 'breakwater-worker' });
const secrets = new PrefixedSecretSource(new SecretsManagerSource({ logger }), process.env.BREAKWATER_SECRET_PREFIX ?? '');
const config = await loadConfigFile(process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json');
void secrets.prefetch(config.credentialNames);
const dynamo = createDynamoClients();
const tables = tableNamesFromEnv();
const queueUrls = taskQueueUrlsFromEnv();
const sqs = createSqsClient();

// The same engine as the gateway's; the worker does not use the key store or the task API.
const { keyResolver: _keys, tasks: _tasks, ...services } = createServices({ dynamo, tables, config, clock: systemClock, logger, metrics });
const app = new GatewayApp({
  config,
  secrets,
  services,
  clock: systemClock,
  random: systemRandom,
  logger,
  metrics,
  observer: (await loadTracing('breakwater-worker'))?.observer,
});

export const handler = createWorkerHandler({
  tasks: new DynamoTaskStore(dynamo.doc, tables.tasks),
  sqs,
  queueUrls: [queueUrls.high, queueUrls.normal],
  executeTask: executeTaskWith(app.completions, config, systemClock),
  onFinished: sendCallbackWith({ config, secrets, logger, clock: systemClock, random: systemRandom }),
  logger,
  metrics,
  maxReceiveCount: maxReceiveCountFromEnv(),
});
