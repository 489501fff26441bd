import type { Environment } from 'aws-cdk-lib';

/**
 * A deployment stage (dev, staging, prod...): one pair of stacks per stage, every name that
 * must be unique in an account (stacks, tables, secrets, metrics) scoped by it, so stages
 * share an account without colliding and a destroyed stage can be deployed again.
 */
export interface Stage {
  /** Lower-case name, e.g. 'dev' or 'prod'. */
  readonly name: string;
  /** Production: termination protection, canary releases, reserved concurrency by default. */
  readonly production: boolean;
  /** Prefix of stack names: `Breakwater-<Stage>` → `Breakwater-Prod-State`, `Breakwater-Prod-Gateway`. */
  readonly stackPrefix: string;
  /** Prefix of every secret's name: `breakwater/<stage>/`. */
  readonly secretPrefix: string;
  /** Prefix of every physical table name: `breakwater-<stage>-`. */
  readonly tablePrefix: string;
  /** CloudWatch namespace of the functions' own metrics (EMF): `Breakwater/<stage>`. */
  readonly metricsNamespace: string;
  /** Tags on every resource of the stage's stacks. */
  readonly tags: Readonly<Record<string, string>>;
}

export const DEFAULT_STAGE = 'dev';
/** Stages treated as production unless the `production` context says otherwise. */
export const PRODUCTION_STAGES: ReadonlySet<string> = new Set(['prod', 'production']);
/** Short, lower case, starting with a letter: it ends up in table, secret and stack names. */
const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

export function stageFor(name: string = DEFAULT_STAGE, production: boolean = PRODUCTION_STAGES.has(name)): Stage {
  if (!STAGE_NAME.test(name)) {
    throw new Error(`stage "${name}" must be 1-20 characters of a-z, 0-9 and '-', starting with a letter`);
  }
  const title = name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return {
    name,
    production,
    stackPrefix: `Breakwater-${title}`,
    secretPrefix: `breakwater/${name}/`,
    tablePrefix: `breakwater-${name}-`,
    metricsNamespace: `Breakwater/${name}`,
    tags: { application: 'breakwater', stage: name },
  };
}

/** Reads context values as `cdk -c key=value` gives them (strings) or as cdk.json does (JSON). */
export interface ContextReader {
  tryGetContext(key: string): unknown;
}

/** The context keys `bin/app.ts` reads; each is documented in the README's deploy section. */
export const CONTEXT = {
  STAGE: 'stage',
  PRODUCTION: 'production',
  ACCOUNT: 'account',
  REGION: 'region',
  CONFIG_PATH: 'configPath',
  ALLOW_INSECURE_CONFIG: 'allowInsecureConfig',
  ALARM_EMAIL: 'alarmEmail',
  GATEWAY_MEMORY: 'gatewayMemoryMb',
  WORKER_MEMORY: 'workerMemoryMb',
  GATEWAY_RESERVED_CONCURRENCY: 'gatewayReservedConcurrency',
  WORKER_RESERVED_CONCURRENCY: 'workerReservedConcurrency',
  LATENCY_SLO_MS: 'latencySloMs',
  WAF_RATE_LIMIT: 'wafRateLimitPer5Min',
  API_GATEWAY_CLOUDWATCH_ROLE: 'apiGatewayCloudWatchRole',
  APP_CONFIG: 'appConfig',
  DOMAIN_NAME: 'domainName',
  CERTIFICATE_ARN: 'certificateArn',
  BASE_PATH: 'basePath',
} as const;

/** `-c domainName=... -c certificateArn=... [-c basePath=...]`: the API's custom domain, or none. */
export function domainFrom(node: ContextReader): { domainName: string; certificateArn: string; basePath?: string } | undefined {
  const domainName = contextString(node, CONTEXT.DOMAIN_NAME);
  const certificateArn = contextString(node, CONTEXT.CERTIFICATE_ARN);
  const basePath = contextString(node, CONTEXT.BASE_PATH);
  if (domainName === undefined) {
    if (certificateArn !== undefined || basePath !== undefined) throw new Error('certificateArn and basePath need domainName');
    return undefined;
  }
  if (certificateArn === undefined) throw new Error(`domainName "${domainName}" needs certificateArn (a regional ACM certificate for it)`);
  return { domainName, certificateArn, ...(basePath !== undefined ? { basePath: basePath.replace(/^\/+|\/+$/g, '') } : {}) };
}

export function contextString(node: ContextReader, key: string): string | undefined {
  const value = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`context "${key}" must be a string, got ${JSON.stringify(value)}`);
  return value;
}

export function contextNumber(node: ContextReader, key: string): number | undefined {
  const value = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number) || number < 0) throw new Error(`context "${key}" must be a whole number, got ${JSON.stringify(value)}`);
  return number;
}

export function contextBoolean(node: ContextReader, key: string): boolean | undefined {
  const value = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context "${key}" must be true or false, got ${JSON.stringify(value)}`);
}

/**
 * Account and region from `-c account=... -c region=...`, else the CLI's defaults (the profile's
 * account and region). Never a region written into the code: a template is region-agnostic
 * until the deployer chooses.
 */
export function environmentFrom(node: ContextReader, env: NodeJS.ProcessEnv = process.env): Environment | undefined {
  const account = contextString(node, CONTEXT.ACCOUNT) ?? env.CDK_DEFAULT_ACCOUNT;
  const region = contextString(node, CONTEXT.REGION) ?? env.CDK_DEFAULT_REGION;
  return account || region ? { account, region } : undefined;
}

/** The stage from `-c stage=<name>` (default dev); `-c production=true|false` overrides the guess. */
export function stageFrom(node: ContextReader): Stage {
  return stageFor(contextString(node, CONTEXT.STAGE) ?? DEFAULT_STAGE, contextBoolean(node, CONTEXT.PRODUCTION));
}

