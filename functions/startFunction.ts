import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { loadConfigFile, type CompiledConfig } from '../shared/config';
import type { AppConfigSource } from '../shared/config/appConfigSource';
// Straight from the files: the AppConfig provider is imported only when the stack turned it on.
import { appConfigSourceFromEnv } from '../shared/config/appConfigFromEnv';
import { createSecretsManagerClient, PrefixedSecretSource, SecretsManagerSource } from '../shared/credentials';
import { createLogger } from '../shared/logging';
import { systemClock } from '../shared/resilience';
import { createDynamoClients, tableNamesFromEnv, type DynamoClients, type TableNames } from '../shared/stores/dynamo';
import { loadTracing, type Tracing } from '../shared/telemetry';
import { functionMetrics } from '../shared/telemetry/functionMetrics';

/** What both functions build once per container, before their first invocation. */
export interface FunctionStart {
  logger: Logger;
  metrics: Metrics;
  secrets: PrefixedSecretSource;
  /** Present when the stack turned AppConfig delivery on. */
  appConfig?: AppConfigSource;
  initialConfig: CompiledConfig;
  tracing?: Tracing;
  dynamo: DynamoClients;
  tables: TableNames;
}

/**
 * The cold start the gateway and the worker share. The config is read and validated once (a bad
 * config fails the first invocation loudly instead of serving with half a config); with AppConfig
 * delivery on it comes from AppConfig (the bundled file if that fails) and the caller rebuilds its
 * handler when it changes. The config's secrets are fetched meanwhile, in parallel. Every log line
 * is redacted (shared/redaction); Secrets Manager and DynamoDB calls are X-Ray subsegments (the
 * secrets client captured in place: the cold-start prefetch has no trace to join anyway).
 */
export async function startFunction(serviceName: string): Promise<FunctionStart> {
  const logger = createLogger({ serviceName });
  const metrics = functionMetrics(serviceName);
  const secretsClient = createSecretsManagerClient();
  const secrets = new PrefixedSecretSource(new SecretsManagerSource({ logger, client: secretsClient }), process.env.BREAKWATER_SECRET_PREFIX ?? '');
  const configPath = process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json';
  const appConfig = await appConfigSourceFromEnv({ fallbackPath: configPath, clock: systemClock, logger });
  const initialConfig = appConfig ? (await appConfig.current()).config : await loadConfigFile(configPath);
  void secrets.prefetch(initialConfig.credentialNames);
  const tracing = await loadTracing(serviceName);
  tracing?.captureClient(secretsClient);
  const dynamo = createDynamoClients({ instrument: tracing?.captureClient });
  return { logger, metrics, secrets, appConfig, initialConfig, tracing, dynamo, tables: tableNamesFromEnv() };
}
