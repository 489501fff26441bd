/**
 * `npm start`: the gateway's Lambda handler served on 127.0.0.1 the way API Gateway would,
 * with the shipped demo config on the simulated provider, so it works with no AWS account
 * and no API key. State lives in in-process dynalite (or AWS_ENDPOINT_URL_DYNAMODB), secrets
 * come from a local Secrets Manager endpoint fed by BREAKWATER_SECRET_* or .breakwater/secrets.json,
 * and tasks go through in-process fauxqs queues to the worker handler, fed by a poller that acts
 * as Lambda's SQS event source mapping would.
 */
import { isConfigError } from '../shared/config/ConfigError';
import { localRedriveCommand } from './cli/dlqCommand';
import { gatewayTimeouts } from '../lib/gatewayTimeouts';
import { startApiGatewayServer } from './local/apiGatewayServer';
import { installAwsLambdaGlobal } from './local/lambdaStreaming';
import { startLocalDynamo } from './local/localDynamo';
import { ensureLocalTokenKey } from './local/ensureLocalTokenKey';
import { startLocalSecretsManager } from './local/localSecretsManager';
import { startLocalSqs } from './local/localSqs';
import { startSqsPoller } from './local/sqsPoller';

const port = Number(process.env.PORT ?? 8787);
const configPath = process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json';
process.env.BREAKWATER_CONFIG = configPath;
process.env.POWERTOOLS_SERVICE_NAME ??= 'breakwater-gateway';
// Metrics are CloudWatch EMF lines: on a laptop they are noise. POWERTOOLS_METRICS_DISABLED=false shows them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// Lambda runs Node 22; on a Node 20 laptop the AWS SDK's upgrade notice is just noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

try {
  // Emulators first: the handler's AWS SDK clients read their endpoints from the environment.
  const secretsManager = await startLocalSecretsManager();
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsManager.endpoint;
  // The data key sealing end users' OAuth tokens (`/v1/connections`): a random one at first start.
  await ensureLocalTokenKey({
    secretName: `${process.env.BREAKWATER_SECRET_PREFIX ?? ''}${process.env.BREAKWATER_TOOL_TOKEN_KEY_SECRET ?? 'tool-token-key'}`,
  });
  const dynamo = await startLocalDynamo();
  const queues = await startLocalSqs();

  const { loadConfigFile } = await import('../shared/config');
  const config = await loadConfigFile(configPath);
  const { DynamoKeyStore, seedKeys } = await import('../shared/keys');
  const { createDynamoClients, tableNamesFromEnv } = await import('../shared/stores/dynamo');
  const store = new DynamoKeyStore({ doc: createDynamoClients().doc, tableName: tableNamesFromEnv().keys });
  // The config file's keys are seeds: once stored they are ordinary keys (revocable, listable).
  await seedKeys(store, config.tenants.values());

  // The very module Lambda runs: it reads and validates BREAKWATER_CONFIG at import, and creates
  // a response-streaming handler, which needs the runtime's `awslambda` global: ours, here.
  installAwsLambdaGlobal();
  const { handler } = await import('../functions/gateway/handler');
  // The deployed function's timeout (lib/gatewayTimeouts.ts), so deadlines behave as on AWS.
  const { functionTimeoutMs } = gatewayTimeouts(config.settings);
  const server = await startApiGatewayServer({ handler, port, functionTimeoutMs });
  const { handler: worker } = await import('../functions/worker/handler');
  // As the stack's event sources: batches of 10, high priority first, a 2-minute function.
  const poller = await startSqsPoller({
    sqs: queues.sqs,
    queues: [queues.queues.high.url, queues.queues.normal.url],
    handler: worker,
    batchSize: 10,
    functionTimeoutMs: 120_000,
    visibilityTimeoutSeconds: 720,
  });
  // A task whose message was lost (the send failed after the task was stored) is re-sent by a
  // sweep; on AWS this is for a scheduled function, which the stack does not wire yet.
  const { DynamoTaskStore, sweepStaleTasks, STALE_QUEUED_AFTER_MS } = await import('../shared/tasks');
  const { SqsTaskQueue } = await import('../shared/queue');
  const { systemClock } = await import('../shared/resilience');
  const sweepOptions = {
    store: new DynamoTaskStore(createDynamoClients().doc, tableNamesFromEnv().tasks),
    queue: new SqsTaskQueue(queues.sqs, { high: queues.queues.high.url, normal: queues.queues.normal.url }),
    clock: systemClock,
    logger: { info: () => {}, warn: (...args: unknown[]) => console.error(...args) },
  };
  const sweeper = setInterval(() => {
    sweepStaleTasks(sweepOptions).catch((error: unknown) => console.error('task sweep failed', (error as Error).name));
  }, STALE_QUEUED_AFTER_MS / 2);
  sweeper.unref();
  const demoKey = [...config.tenants.values()].find((tenant) => tenant.keys.length > 0)?.keys[0] ?? '<a key from your config>';
  // The operator console's key: a fresh admin key each start, living a day, never in the config file.
  const consoleTenant = [...config.tenants.keys()][0];
  const adminKey = consoleTenant
    ? (await store.create({ tenant: consoleTenant, name: 'npm start console', policy: { role: 'admin' }, expiresInSeconds: 86_400 })).key
    : '<none: the config has no tenant>';

  console.error(
    [
      '',
      `Breakwater gateway listening on ${server.url}  (config: ${configPath})`,
      `  demo key: ${demoKey}`,
      `  console:  ${server.url}/console  (admin key, valid 24 h: ${adminKey})`,
      `  try:      curl -s ${server.url}/v1/chat/completions -H 'authorization: Bearer ${demoKey}' \\`,
      `              -H 'content-type: application/json' -d '{"model":"any","messages":[{"role":"user","content":"hello"}]}'`,
      `  state:    DynamoDB at ${dynamo.endpoint}${dynamo.embedded ? ' (in-process dynalite)' : ''}`,
      `  keys:     AWS_ENDPOINT_URL_DYNAMODB=${dynamo.endpoint} npx breakwater keys create --tenant demo --config ${configPath}`,
      `  secrets:  Secrets Manager at ${secretsManager.endpoint} (BREAKWATER_SECRET_<NAME> or .breakwater/secrets.json)`,
      `  tasks:    POST ${server.url}/v1/tasks; queues at ${queues.endpoint}`,
      `            redrive: ${localRedriveCommand({ endpoint: queues.endpoint, dlqUrl: queues.queues.dlq.url, targetUrl: queues.queues.normal.url })}`,
      '  Ctrl-C stops it.',
      '',
    ].join('\n'),
  );

  const stop = async (signal: string) => {
    console.error(`\n${signal}: stopping`);
    clearInterval(sweeper);
    await server.close();
    await poller.stop();
    await queues.close();
    await dynamo.close();
    await secretsManager.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  if (isConfigError(error)) {
    console.error(error.message);
    process.exit(1);
  }
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error(`port ${port} is in use; set PORT to another one`);
    process.exit(1);
  }
  throw error;
}
