import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfigFile } from '../../shared/config';
import { createLogger } from '../../shared/logging';
import { PrefixedSecretSource, SecretsManagerSource } from '../../shared/credentials';
import { createServices } from '../../shared/gateway/createServices';
// Straight from the files, not the shared/queue barrel: its other modules import the SQS SDK.
import { lazySqsClient } from '../../shared/queue/lazySqsClient';
import { QUEUE_ENV, taskQueueUrlsFromEnv } from '../../shared/queue/queueEnv';
import { systemClock } from '../../shared/resilience';
import { loadTracing } from '../../shared/telemetry';
import { createDynamoClients, tableNamesFromEnv } from '../../shared/stores/dynamo';
import { createGatewayHandler } from './createHandler';

// Cold start: the config is read and validated once; a bad config fails the first invocation
// loudly instead of serving with half a config. Secrets are fetched meanwhile, in parallel.
// Every line redacted: the credentials read below are cut out (shared/redaction).
const logger = createLogger({ serviceName: 'breakwater-gateway' });
// The stack sets a namespace per stage (Breakwater/<stage>); npm start keeps 'Breakwater'.
const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Breakwater', serviceName: 'breakwater-gateway' });
const secrets = new PrefixedSecretSource(new SecretsManagerSource({ logger }), process.env.BREAKWATER_SECRET_PREFIX ?? '');
const config = await loadConfigFile(process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json');
void secrets.prefetch(config.credentialNames);

export const handler = createGatewayHandler({
  config,
  secrets,
  logger,
  metrics,
  tracing: await loadTracing('breakwater-gateway'),
  services: createServices({
    dynamo: createDynamoClients(),
    tables: tableNamesFromEnv(),
    config,
    clock: systemClock,
    logger,
    metrics,
    secrets,
    // Tasks are on wherever the stack (or npm start) gave the gateway its queues.
    queues: process.env[QUEUE_ENV.HIGH_URL] ? { sqs: lazySqsClient(), urls: taskQueueUrlsFromEnv() } : undefined,
  }),
});
