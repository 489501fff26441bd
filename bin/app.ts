import { App } from 'aws-cdk-lib';
import { GatewayStack } from '../lib/GatewayStack.js';

const app = new App();

const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

// `cdk synth -c configPath=path/to/other.config.json` ships a different routing
// config (relative paths resolve against the repo root).
const configPath: unknown = app.node.tryGetContext('configPath');

new GatewayStack(app, 'Breakwater', {
  // Environment-agnostic unless the CLI resolved an account/region.
  env: account || region ? { account, region } : undefined,
  configPath: typeof configPath === 'string' && configPath !== '' ? configPath : undefined,
});

app.synth();
