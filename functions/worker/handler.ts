import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfigFile, type CompiledConfig } from '../../shared/config';
// Straight from the files: the AppConfig provider is imported only when the stack turned it on.
import { appConfigSourceFromEnv } from '../../shared/config/appConfigFromEnv';
import { rebuildOnChange } from '../../shared/config/rebuildOnChange';
import { createLogger } from '../../shared/logging';
import { createSecretsManagerClient, PrefixedSecretSource, SecretsManagerSource } from '../../shared/credentials';
import { GatewayApp } from '../../shared/gateway';
import { createServices } from '../../shared/gateway/createServices';
import { createSqsClient, maxReceiveCountFromEnv, taskQueueUrlsFromEnv } from '../../shared/queue';
import { systemClock, systemRandom } from '../../shared/resilience';
import { createDynamoClients, tableNamesFromEnv } from '../../shared/stores/dynamo';
import { DynamoTaskStore } from '../../shared/tasks';
import { loadTracing } from '../../shared/telemetry';
import { recordSpend, type CompletionFacts } from '../../shared/telemetry/requestMetrics';
import { createWorkerHandler } from './createWorkerHandler';
import { executeTaskWith } from './executeTaskWith';
import { sendCallbackWith } from './sendCallback';

// Cold start: config, tables and queues are read once; a missing queue URL fails loudly here.
// Every line redacted: the credentials read below are cut out (shared/redaction).
const logger = createLogger({ serviceName: 'breakwater-worker' });
// The stack sets a namespace per stage (Breakwater/<stage>); npm start keeps 'Breakwater'.
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Breakwater', serviceName: 'breakwater-worker' });
// Each task's spend and tokens on a line of their own (the tenant as a dimension), as the gateway's per request.
const spendMetrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Breakwater', serviceName: 'breakwater-worker' });
const recordTaskSpend = (facts: CompletionFacts) => recordSpend(spendMetrics, systemClock.now(), facts);
const secretsClient = createSecretsManagerClient();
const secrets = new PrefixedSecretSource(new SecretsManagerSource({ logger, client: secretsClient }), process.env.BREAKWATER_SECRET_PREFIX ?? '');
const configPath = process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json';
// With AppConfig delivery on, the config comes from AppConfig (the bundled file if that fails)
// and the handler is rebuilt when it changed (see functions/gateway/handler.ts). Off, the bundled file.
const appConfig = await appConfigSourceFromEnv({ fallbackPath: configPath, clock: systemClock, logger });
const initialConfig = appConfig ? (await appConfig.current()).config : await loadConfigFile(configPath);
void secrets.prefetch(initialConfig.credentialNames);
const tracing = await loadTracing('breakwater-worker');
// Secret reads as subsegments too, captured in place: the cold-start prefetch above has no trace to join anyway.
tracing?.captureClient(secretsClient);
const observer = tracing?.observer;
// DynamoDB and SQS calls as subsegments of each invocation's trace.
const dynamo = createDynamoClients({ instrument: tracing?.captureClient });
const tables = tableNamesFromEnv();
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
