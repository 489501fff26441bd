import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { addBreakwaterStage } from '../lib/BreakwaterStage.js';
import { CONTEXT, contextBoolean, contextNumber, contextString, domainFrom, environmentFrom, stageFrom } from '../lib/stage.js';

// One stage per synth: `cdk deploy --all -c stage=prod` → Breakwater-Prod-State and
// Breakwater-Prod-Gateway. Every -c key is listed in lib/stage.ts's CONTEXT and the README.
const app = new App();
const stage = stageFrom(app.node);
const number = (key: string) => contextNumber(app.node, key);
const latencyP99Ms = number(CONTEXT.LATENCY_SLO_MS);

addBreakwaterStage(app, {
  stage,
  env: environmentFrom(app.node),
  // Relative paths resolve against the repo root.
  configPath: contextString(app.node, CONTEXT.CONFIG_PATH),
  allowInsecureConfig: contextBoolean(app.node, CONTEXT.ALLOW_INSECURE_CONFIG),
  alarmEmail: contextString(app.node, CONTEXT.ALARM_EMAIL),
  gatewayMemoryMb: number(CONTEXT.GATEWAY_MEMORY),
  workerMemoryMb: number(CONTEXT.WORKER_MEMORY),
  gatewayReservedConcurrency: number(CONTEXT.GATEWAY_RESERVED_CONCURRENCY),
  workerReservedConcurrency: number(CONTEXT.WORKER_RESERVED_CONCURRENCY),
  wafRateLimitPer5Min: number(CONTEXT.WAF_RATE_LIMIT),
  apiGatewayCloudWatchRole: contextBoolean(app.node, CONTEXT.API_GATEWAY_CLOUDWATCH_ROLE),
  slo: latencyP99Ms !== undefined ? { latencyP99Ms } : undefined,
  // Off by default: a first deploy runs on the bundled config; -c appConfig=true delivers it through AppConfig.
  gateway: { appConfig: contextBoolean(app.node, CONTEXT.APP_CONFIG) ?? false, domain: domainFrom(app.node) },
});

// cdk-nag's AwsSolutions and Serverless rules: a finding not acknowledged with a reason
// (lib/nagSuppressions.ts) fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));

app.synth();
