/**
 * `npm start`: the gateway's Lambda handler served on 127.0.0.1 the way API Gateway would,
 * with the shipped demo config on the simulated provider, so it works with no AWS account
 * and no API key.
 */
import { isConfigError } from './local/isConfigError';
import { startApiGatewayServer } from './local/apiGatewayServer';
import { startLocalDynamo } from './local/localDynamo';

const port = Number(process.env.PORT ?? 8787);
const configPath = process.env.BREAKWATER_CONFIG ?? 'breakwater.config.json';
process.env.BREAKWATER_CONFIG = configPath;
process.env.POWERTOOLS_SERVICE_NAME ??= 'breakwater-gateway';
// Lambda runs Node 22; on a Node 20 laptop the AWS SDK's upgrade notice is just noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

try {
  // The state store first: the handler's clients read its endpoint from the environment.
  const dynamo = await startLocalDynamo();
  // The very module Lambda runs: it reads and validates BREAKWATER_CONFIG at import.
  const { handler } = await import('../functions/gateway/handler');
  const { loadConfigFile } = await import('../shared/config');
  const config = await loadConfigFile(configPath);
  const server = await startApiGatewayServer({ handler, port });
  const demoKey = [...config.tenants.values()][0]?.keys[0] ?? '<a key from your config>';

  console.error(
    [
      '',
      `Breakwater gateway listening on ${server.url}  (config: ${configPath})`,
      `  demo key: ${demoKey}`,
      `  state:    DynamoDB at ${dynamo.endpoint}${dynamo.embedded ? ' (in-process dynalite; set AWS_ENDPOINT_URL_DYNAMODB to use another store)' : ''}`,
      `  try:      curl -s ${server.url}/v1/chat/completions -H 'authorization: Bearer ${demoKey}' \\`,
      `              -H 'content-type: application/json' -d '{"model":"any","messages":[{"role":"user","content":"hello"}]}'`,
      '  Ctrl-C stops it.',
      '',
    ].join('\n'),
  );

  const stop = async (signal: string) => {
    console.error(`\n${signal}: stopping`);
    await server.close();
    await dynamo.close();
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
