import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AppConfigDelivery, type AppConfigRollout } from './AppConfigDelivery.js';
import { QUEUE_ENV } from '../shared/queue/queueEnv.js';
import { BEDROCK_GRANT_ENV } from '../shared/config/bedrockGrant.js';
import { REFUSE_INSECURE_CONFIG_ENV } from '../shared/config/insecureConfigFindings.js';
import { grantBedrockInvoke, readBedrockGrantValue, readBedrockResources } from './bedrockAccess.js';
import { DEFAULT_CONFIG_PATH, fromRepoRoot } from './paths.js';
import { CanaryRelease, type ReleaseStyle } from './CanaryRelease.js';
import { GatewayApi, type GatewayApiProps, type MethodThrottle } from './GatewayApi.js';
import { GatewayDashboard } from './GatewayDashboard.js';
import { GatewayFunction } from './GatewayFunction.js';
import { GATEWAY_OUTPUTS, MAX_OUTPUT_VALUE_CHARS } from './gatewayOutputs.js';
import { OperatorPolicy } from './OperatorPolicy.js';
import { suppressGatewayFindings } from './nagSuppressions.js';
import { SloAlarms, type SloTargets } from './SloAlarms.js';
import type { StateStack } from './StateStack.js';
import { TABLE_ACCESS, type TableGrants } from './StateTables.js';
import { MAX_RECEIVE_COUNT } from './TaskQueues.js';
import { WorkerFunction } from './WorkerFunction.js';

export { OUTPUTS } from './StateStack.js';

/** Defaults for the event sources' maximum concurrency: high drains fast, normal stays gentle. */
export const DEFAULT_HIGH_MAX_CONCURRENCY = 20;
export const DEFAULT_NORMAL_MAX_CONCURRENCY = 5;

/**
 * Env vars with each dead-letter queue's URL, read by the `breakwater dlq` CLI from the
 * operator's shell (the stack's outputs). The functions never touch the DLQs, so they do not get them.
 */
export const DLQ_ENV = {
  HIGH_URL: 'BREAKWATER_QUEUE_DLQ_HIGH_URL',
  NORMAL_URL: 'BREAKWATER_QUEUE_DLQ_NORMAL_URL',
} as const;
export const SECRET_PREFIX_ENV = 'BREAKWATER_SECRET_PREFIX';

/** The tables the resilience engine touches, in the gateway and the worker alike. */
const ENGINE_TABLE_GRANTS: TableGrants = {
  breakers: TABLE_ACCESS.READ_WRITE,
  spend: TABLE_ACCESS.READ_WRITE,
  idempotency: TABLE_ACCESS.READ_WRITE,
  cache: TABLE_ACCESS.READ_WRITE,
  rateLimits: TABLE_ACCESS.READ_WRITE,
  tasks: TABLE_ACCESS.READ_WRITE,
};
/**
 * Least privilege per function. The gateway reads keys (the CLI and the admin API write them) and runs every
 * fleet-wide guarantee; the worker runs the same engine on queued tasks but never
 * authenticates a key, so the keys table is out of its reach.
 */
export const GATEWAY_TABLE_GRANTS: TableGrants = {
  ...ENGINE_TABLE_GRANTS,
  // Read for every request's key; written only by the admin API (keys created, rotated, revoked in the console).
  keys: TABLE_ACCESS.READ_WRITE,
  // Stored Responses API answers: only the door that serves /v1/responses reads or writes them.
  responses: TABLE_ACCESS.READ_WRITE,
  // The tool proxy's: users' OAuth connections and calls held for approval.
  connections: TABLE_ACCESS.READ_WRITE,
  approvals: TABLE_ACCESS.READ_WRITE,
};
export const WORKER_TABLE_GRANTS: TableGrants = { ...ENGINE_TABLE_GRANTS };

export interface GatewayStackProps extends StackProps {
  /** The stage's state: tables, queues, secrets and alarm topic (cross-stack references). */
  readonly state: StateStack;
  /**
   * Routing config shipped in the Lambda bundle (/var/task/breakwater.config.json).
   * Relative paths resolve against the repo root. Give the state stack the same one.
   * @default <repo>/breakwater.config.json
   */
  readonly configPath?: string;
  /** Handler entry file. Default: <repo>/functions/gateway/handler.ts */
  readonly entry?: string;
  /** Lambda memory in MB. @default 512 (DEFAULT_MEMORY_MB) */
  readonly memorySize?: number;
  /**
   * Gateway function timeout; every route's streaming integration gets at least as long.
   * Default: the config's `settings.max_request_ms` + `lambda_margin_ms` + 29 s (5 min 30 s
   * with the defaults).
   */
  readonly gatewayTimeout?: Duration;
  /**
   * Executions reserved for the gateway (and its ceiling).
   * @default undefined — no reservation
   */
  readonly gatewayReservedConcurrency?: number;
  /** Retention for the function and access log groups. Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** API Gateway stage throttling (requests per second). Default: 100 */
  readonly throttlingRateLimit?: number;
  /** API Gateway stage burst limit. Default: 200 */
  readonly throttlingBurstLimit?: number;
  /** Per-method throttling over the stage's. @default GatewayApi's DEFAULT_METHOD_THROTTLING */
  readonly methodThrottling?: Readonly<Record<string, MethodThrottle>>;
  /**
   * Create the account-level API Gateway CloudWatch role (an account-wide setting: turn off if
   * the account already has one). Default: true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
  /** A custom domain for the API, mapped at `basePath` (see GatewayApi); the execute-api endpoint is then disabled. */
  readonly domain?: GatewayApiProps['domain'];
  /** WAFv2 per-IP rate limit per 5 minutes, or `false` for no web ACL. @default 2000 */
  readonly wafRateLimitPer5Min?: number | false;
  /** Name of the API Gateway stage (the first path segment of the URL). @default 'prod' */
  readonly apiStageName?: string;
  /** REST API name. @default 'breakwater-gateway' */
  readonly restApiName?: string;
  /** Worker entry file. Default: <repo>/functions/worker/handler.ts */
  readonly workerEntry?: string;
  /** Worker memory in MB. @default 512 (DEFAULT_MEMORY_MB) */
  readonly workerMemorySize?: number;
  /**
   * Worker timeout; give the state stack the same (its queues' visibility timeout is six times it).
   * @default 2 minutes
   */
  readonly workerTimeout?: Duration;
  /**
   * Executions reserved for the worker; at least the two queues' maximum concurrencies together.
   * @default undefined — no reservation
   */
  readonly workerReservedConcurrency?: number;
  /** Concurrent worker invocations for the high-priority queue (2..1000). Default: 20 */
  readonly highPriorityMaxConcurrency?: number;
  /** Concurrent worker invocations for the normal-priority queue (2..1000). Default: 5 */
  readonly normalPriorityMaxConcurrency?: number;
  /** CloudWatch namespace of the functions' own metrics. @default 'Breakwater' */
  readonly metricsNamespace?: string;
  /** The alarms' thresholds. @default SloAlarms' DEFAULT_SLO_TARGETS */
  readonly slo?: Partial<SloTargets>;
  /**
   * How a new version reaches traffic: 'canary' (10% for 5 minutes, rolled back by the alarms)
   * or 'allAtOnce' (still rolled back by the alarms).
   * @default 'canary'
   */
  readonly release?: ReleaseStyle;
  /**
   * Deliver the routing config through AWS AppConfig (validated, rolled out linearly, rolled
   * back by the gateway's and the worker's rollback alarms) instead of only the bundled file,
   * which stays the functions' fallback. The AppConfig environment is named after `apiStageName`.
   * @default false
   */
  readonly appConfig?: boolean;
  /** How a config version rolls out through AppConfig. @default AppConfigDelivery's DEFAULT_APPCONFIG_ROLLOUT */
  readonly appConfigRollout?: Partial<AppConfigRollout>;
  /**
   * The functions refuse a config version fetched from AppConfig with simulated providers or
   * plain tenant keys, as synth refuses such a bundled file in production (lib/productionConfig.ts).
   * @default false — BreakwaterStage sets it on a production stage unless allowInsecureConfig
   */
  readonly refuseInsecureConfig?: boolean;
}

/**
 * Breakwater's stateless half: API Gateway REST API (with WAF) → the gateway Lambda; SQS task
 * queues → the worker Lambda; both behind a `live` alias that CodeDeploy shifts on release,
 * with the SLO alarms and the dashboard. Replacing anything here never touches data: that
 * lives in the {@link StateStack}.
 */
export class GatewayStack extends Stack {
  readonly gateway: GatewayFunction;
  readonly worker: WorkerFunction;
  readonly api: GatewayApi;
  readonly alarms: SloAlarms;
  readonly dashboard: GatewayDashboard;
  /** Present when the `appConfig` prop is on. */
  readonly appConfig?: AppConfigDelivery;
  /** What `breakwater keys`, `approvals` and `dlq redrive` need on this stage, for the operators' role or group. */
  readonly operatorPolicy: OperatorPolicy;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, {
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway (API Gateway + Lambda, SQS task worker)',
      ...props,
    });
    const { state } = props;

    this.gateway = new GatewayFunction(this, 'Gateway', {
      entry: props.entry,
      configPath: props.configPath,
      memorySize: props.memorySize,
      timeout: props.gatewayTimeout,
      logRetention: props.logRetention,
      reservedConcurrency: props.gatewayReservedConcurrency,
      metricsNamespace: props.metricsNamespace,
    });
    const highMax = props.highPriorityMaxConcurrency ?? DEFAULT_HIGH_MAX_CONCURRENCY;
    const normalMax = props.normalPriorityMaxConcurrency ?? DEFAULT_NORMAL_MAX_CONCURRENCY;
    if (props.workerReservedConcurrency !== undefined && props.workerReservedConcurrency < highMax + normalMax) {
      // Below that, SQS pollers would be throttled by Lambda and messages bounced towards the DLQ.
      throw new Error(
        `workerReservedConcurrency (${props.workerReservedConcurrency}) must be at least the queues' maximum concurrencies together (${highMax} + ${normalMax})`,
      );
    }
    this.worker = new WorkerFunction(this, 'Worker', {
      entry: props.workerEntry,
      configPath: props.configPath,
      memorySize: props.workerMemorySize,
      timeout: props.workerTimeout,
      logRetention: props.logRetention,
      reservedConcurrency: props.workerReservedConcurrency,
      metricsNamespace: props.metricsNamespace,
    });
    if (props.workerTimeout && props.workerTimeout.toSeconds() * 6 > state.queues.visibilityTimeout.toSeconds()) {
      throw new Error('the state stack was given a shorter workerTimeout than the worker: pass both the same one');
    }
    const gatewayFn = this.gateway.function;
    const workerFn = this.worker.function;

    // Only the models the config names (lib/bedrockAccess.ts), none without a Bedrock target.
    const bedrockResources = state.needs.bedrock ? readBedrockResources(fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH)) : [];
    state.tables.grantTo(gatewayFn, GATEWAY_TABLE_GRANTS);
    state.tables.grantTo(workerFn, WORKER_TABLE_GRANTS);
    for (const fn of [gatewayFn, workerFn]) {
      state.secrets.grantCredentialsRead(fn);
      fn.addEnvironment(SECRET_PREFIX_ENV, state.secrets.prefix);
      grantBedrockInvoke(fn, bedrockResources);
    }
    state.secrets.grantCallbackSigningRead(workerFn);
    state.secrets.grantToolTokenKeyRead(gatewayFn);

    const { high, normal } = state.queues;
    this.worker.addQueue({ queue: high.queue, maxConcurrency: highMax });
    this.worker.addQueue({ queue: normal.queue, maxConcurrency: normalMax });
    for (const queue of state.queues.queues) queue.grantSendMessages(gatewayFn);
    for (const fn of [gatewayFn, workerFn]) {
      fn.addEnvironment(QUEUE_ENV.HIGH_URL, high.queue.queueUrl);
      fn.addEnvironment(QUEUE_ENV.NORMAL_URL, normal.queue.queueUrl);
    }
    workerFn.addEnvironment(QUEUE_ENV.MAX_RECEIVE_COUNT, String(MAX_RECEIVE_COUNT));

    this.api = new GatewayApi(this, 'Api', {
      handler: this.gateway.alias,
      integrationTimeout: Duration.millis(this.gateway.timeouts.integrationTimeoutMs),
      stageName: props.apiStageName,
      restApiName: props.restApiName,
      throttlingRateLimit: props.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit,
      methodThrottling: props.methodThrottling,
      accessLogRetention: props.logRetention,
      cloudWatchRole: props.apiGatewayCloudWatchRole,
      webAcl: props.wafRateLimitPer5Min === false ? false : { rateLimitPer5Min: props.wafRateLimitPer5Min },
      domain: props.domain,
    });

    this.alarms = new SloAlarms(this, 'Alarms', {
      topic: state.alarmTopic,
      api: this.api.api,
      gateway: this.gateway.alias,
      worker: this.worker.alias,
      queues: state.queues,
      targets: props.slo,
      metricsNamespace: props.metricsNamespace,
    });
    if (props.appConfig) {
      this.appConfig = new AppConfigDelivery(this, 'Config', {
        configPath: this.gateway.configPath,
        applicationName: this.stackName,
        environmentName: props.apiStageName ?? 'prod',
        rollbackAlarms: [...this.alarms.gatewayRollbackAlarms, ...this.alarms.workerRollbackAlarms],
        functions: [gatewayFn, workerFn],
        rollout: props.appConfigRollout,
      });
      // What a version pushed later is held to: this stage's rule, and the Bedrock models IAM allows.
      const bedrockGrant = readBedrockGrantValue(fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH));
      for (const fn of [gatewayFn, workerFn]) {
        if (props.refuseInsecureConfig === true) fn.addEnvironment(REFUSE_INSECURE_CONFIG_ENV, 'true');
        if (bedrockGrant !== undefined) fn.addEnvironment(BEDROCK_GRANT_ENV, bedrockGrant);
      }
      new CfnOutput(this, GATEWAY_OUTPUTS.APPCONFIG_APPLICATION_ID, { description: 'AppConfig application of the routing config', value: this.appConfig.application.applicationId });
      new CfnOutput(this, GATEWAY_OUTPUTS.APPCONFIG_ENVIRONMENT_ID, { description: 'AppConfig environment the functions read', value: this.appConfig.environment.environmentId });
      new CfnOutput(this, GATEWAY_OUTPUTS.APPCONFIG_PROFILE_ID, { description: 'AppConfig configuration profile of the routing config', value: this.appConfig.configuration.configurationProfileId });
      new CfnOutput(this, GATEWAY_OUTPUTS.APPCONFIG_DEPLOYMENT_STRATEGY_ID, {
        description: 'AppConfig deployment strategy for a new config version (linear, baked, rolled back on the alarms)',
        value: this.appConfig.deploymentStrategy.deploymentStrategyId,
      });
    }
    const release = new CanaryRelease(this, 'Release', {
      functions: {
        Gateway: { alias: this.gateway.alias, rollbackAlarms: this.alarms.gatewayRollbackAlarms },
        Worker: { alias: this.worker.alias, rollbackAlarms: this.alarms.workerRollbackAlarms },
      },
      style: props.release ?? 'canary',
    });
    this.dashboard = new GatewayDashboard(this, 'Dashboard', {
      dashboardName: `${this.stackName}-slo`,
      api: this.api.api,
      gateway: this.gateway.alias,
      worker: this.worker.alias,
      queues: state.queues,
      alarms: this.alarms,
      metricsNamespace: props.metricsNamespace ?? 'Breakwater',
    });

    new CfnOutput(this, 'GatewayUrl', {
      description: 'Invoke URL of the API stage',
      value: this.api.url,
    });
    new CfnOutput(this, 'OpenAIBaseUrl', {
      description: 'baseURL for OpenAI SDK clients',
      value: this.api.openAiBaseUrl,
    });
    new CfnOutput(this, 'GatewayFunctionName', {
      description: 'Name of the gateway Lambda function',
      value: gatewayFn.functionName,
    });
    new CfnOutput(this, 'WorkerFunctionName', {
      description: 'Name of the task worker Lambda function',
      value: workerFn.functionName,
    });

    this.operatorPolicy = new OperatorPolicy(this, 'Operator', {
      keysTable: state.tables.tables.keys,
      approvalsTable: state.tables.tables.approvals,
      queues: state.queues,
      stackNames: [state.stackName, this.stackName],
      configurationArn: this.appConfig?.configurationArn,
    });
    new CfnOutput(this, GATEWAY_OUTPUTS.OPERATOR_POLICY_ARN, {
      description: 'Managed policy for operators (breakwater keys, approvals, dlq redrive): attach it to their role or group',
      value: this.operatorPolicy.policy.managedPolicyArn,
    });
    // `keys create --stage` refuses a tenant the deployed config lacks; with AppConfig it reads the config itself.
    const tenants = state.needs.tenants.join(',');
    if (!this.appConfig && tenants.length > 0 && tenants.length <= MAX_OUTPUT_VALUE_CHARS) {
      new CfnOutput(this, GATEWAY_OUTPUTS.CONFIG_TENANTS, { description: 'Tenants of the bundled routing config', value: tenants });
    }

    suppressGatewayFindings({
      gatewayFunction: this.gateway,
      workerFunction: this.worker,
      api: this.api,
      release,
      secrets: state.secrets,
      needs: state.needs,
      bedrockResources,
      operatorPolicy: this.operatorPolicy,
    });
  }
}
