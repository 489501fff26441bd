import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfigFile, type CompiledConfig } from '../../shared/config';
// Straight from the files: the AppConfig provider is imported only when the stack turned it on.
import { appConfigSourceFromEnv } from '../../shared/config/appConfigFromEnv';
import { rebuildOnChange } from '../../shared/config/rebuildOnChange';
import { createLogger } from '../../shared/logging';
import { createSecretsManagerClient, PrefixedSecretSource, SecretsManagerSource } from '../../shared/credentials';
import { createServices } from '../../shared/gateway/createServices';
// Straight from the files, not the shared/queue barrel: its other modules import the SQS SDK.
import { lazySqsClient } from '../../shared/queue/lazySqsClient';
import { QUEUE_ENV, taskQueueUrlsFromEnv } from '../../shared/queue/queueEnv';
import { systemClock } from '../../shared/resilience';
import { loadTracing } from '../../shared/telemetry';
import { createDynamoClients, tableNamesFromEnv } from '../../shared/stores/dynamo';
import { createGatewayHandler, type GatewayStreamingHandler } from './createHandler';

// Cold start: the config is read and validated once; a bad config fails the first invocation
// loudly instead of serving with half a config. Secrets are fetched meanwhile, in parallel.
// Every line redacted: the credentials read below are cut out (shared/redaction).
const logger = createLogger({ serviceName: 'breakwater-gateway' });
// The stack sets a namespace per stage (Breakwater/<stage>); npm start keeps 'Breakwater'.
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Breakwater', serviceName: 'breakwater-gateway' });
const secretsClient = createSecretsManagerClient();
const secrets = new PrefixedSecretSource(new SecretsManagerSource({ logger, client: secretsClient }), process.env.BREAKWATER_SECRET_PREFIX ?? '');
const configPath = process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json';
// With AppConfig delivery on (the stack sets its env vars), the config comes from AppConfig
// (the bundled file if that fails), is re-read at most once a minute, and the whole handler is
// rebuilt when it changed: a new config needs no redeploy. Off, the bundled file, read once.
const appConfig = await appConfigSourceFromEnv({ fallbackPath: configPath, clock: systemClock, logger });
const initialConfig = appConfig ? (await appConfig.current()).config : await loadConfigFile(configPath);
void secrets.prefetch(initialConfig.credentialNames);
const tracing = await loadTracing('breakwater-gateway');
// Secret reads as subsegments too, captured in place: the cold-start prefetch above has no trace to join anyway.
tracing?.captureClient(secretsClient);
// Every DynamoDB call is a subsegment of the request's trace (store latency shows per request).
const dynamo = createDynamoClients({ instrument: tracing?.captureClient });
const tables = tableNamesFromEnv();
// Tasks are on wherever the stack (or npm start) gave the gateway its queues.
// A submit's SendMessage is a subsegment of its request's trace, as the worker's calls are.
const queues = process.env[QUEUE_ENV.HIGH_URL] ? { sqs: lazySqsClient({ instrument: tracing?.captureClient }), urls: taskQueueUrlsFromEnv() } : undefined;

function handlerFor(config: CompiledConfig): GatewayStreamingHandler {
  // A new config may name new credentials: warm them as the cold start does.
  if (config !== initialConfig) void secrets.prefetch(config.credentialNames);
  return createGatewayHandler({
    config,
    secrets,
    logger,
    metrics,
    tracing,
    services: createServices({ dynamo, tables, config, clock: systemClock, logger, metrics, secrets, queues }),
  });
}

export const handler: GatewayStreamingHandler = appConfig ? await reloadingHandler(rebuildOnChange(appConfig, handlerFor)) : handlerFor(initialConfig);

/** A streaming handler that serves each invocation with the handler built on the current config. */
async function reloadingHandler(current: () => Promise<GatewayStreamingHandler>): Promise<GatewayStreamingHandler> {
  await current(); // built at cold start, as without AppConfig
  const { awslambda } = globalThis as unknown as { awslambda: { streamifyResponse(handler: GatewayStreamingHandler): GatewayStreamingHandler } };
  return awslambda.streamifyResponse(async (event, responseStream, context) => (await current())(event, responseStream, context));
}
