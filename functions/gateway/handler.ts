import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfigFile } from '../../shared/config';
import { PrefixedSecretSource, SecretsManagerSource } from '../../shared/credentials';
import { createServices } from '../../shared/gateway/createServices';
import { createSqsClient, QUEUE_ENV, taskQueueUrlsFromEnv } from '../../shared/queue';
import { systemClock } from '../../shared/resilience';
import { loadTracing } from '../../shared/telemetry';
import { createDynamoClients, tableNamesFromEnv } from '../../shared/stores/dynamo';
import { createGatewayHandler } from './createHandler';

// Cold start: the config is read and validated once; a bad config fails the first invocation
// loudly instead of serving with half a config. Secrets are fetched meanwhile, in parallel.
const logger = new Logger({ serviceName: 'breakwater-gateway' });
const metrics = new Metrics({ namespace: 'Breakwater', serviceName: 'breakwater-gateway' });
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
    // Tasks are on wherever the stack (or npm start) gave the gateway its queues.
    queues: process.env[QUEUE_ENV.HIGH_URL] ? { sqs: createSqsClient(), urls: taskQueueUrlsFromEnv() } : undefined,
  }),
});
