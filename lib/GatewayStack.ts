import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { QUEUE_ENV } from '../shared/queue/queueEnv.js';
import { TABLES } from '../shared/stores/dynamo/tables.js';
import { grantBedrockInvoke } from './bedrockAccess.js';
import { readConfigNeeds } from './configNeeds.js';
import { GatewayApi } from './GatewayApi.js';
import { GatewayFunction } from './GatewayFunction.js';
import { DEFAULT_SECRET_PREFIX, ProviderSecrets } from './ProviderSecrets.js';
import { pascalTableId, StateTables, TABLE_ACCESS, type TableGrants } from './StateTables.js';
import { MAX_RECEIVE_COUNT, TaskQueues } from './TaskQueues.js';
import { WorkerFunction } from './WorkerFunction.js';

/** Defaults for the event sources' maximum concurrency: high drains fast, normal stays gentle. */
export const DEFAULT_HIGH_MAX_CONCURRENCY = 20;
export const DEFAULT_NORMAL_MAX_CONCURRENCY = 5;

/** Env vars with each dead-letter queue's URL (the redrive CLI and the worker read them). */
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
 * Least privilege per function. The gateway reads keys (the CLI writes them) and runs every
 * fleet-wide guarantee; the worker runs the same engine on queued tasks but never
 * authenticates a key, so the keys table is out of its reach.
 */
export const GATEWAY_TABLE_GRANTS: TableGrants = {
  ...ENGINE_TABLE_GRANTS,
  keys: TABLE_ACCESS.READ,
  // Stored Responses API answers: only the door that serves /v1/responses reads or writes them.
  responses: TABLE_ACCESS.READ_WRITE,
};
export const WORKER_TABLE_GRANTS: TableGrants = { ...ENGINE_TABLE_GRANTS };

/** Stack output names the CLI reads (table names, queue URLs and ARNs). */
export const OUTPUTS = {
  tableName: (tableId: string) => `${pascalTableId(tableId)}TableName`,
  QUEUE_HIGH_URL: 'QueueHighUrl',
  QUEUE_NORMAL_URL: 'QueueNormalUrl',
  QUEUE_HIGH_ARN: 'QueueHighArn',
  QUEUE_NORMAL_ARN: 'QueueNormalArn',
  DLQ_HIGH_URL: 'DeadLetterQueueHighUrl',
  DLQ_NORMAL_URL: 'DeadLetterQueueNormalUrl',
  DLQ_HIGH_ARN: 'DeadLetterQueueHighArn',
  DLQ_NORMAL_ARN: 'DeadLetterQueueNormalArn',
  SECRET_PREFIX: 'SecretPrefix',
} as const;

export interface GatewayStackProps extends StackProps {
  /**
   * Routing config shipped in the Lambda bundle (/var/task/breakwater.config.json).
   * Relative paths resolve against the repo root. Default: <repo>/breakwater.config.json
   * Its providers' credentials become secrets; a bedrock provider grants bedrock:InvokeModel.
   */
  readonly configPath?: string;
  /** Handler entry file. Default: <repo>/functions/gateway/handler.ts */
  readonly entry?: string;
  /** Lambda memory in MB. Default: 1024 */
  readonly memorySize?: number;
  /**
   * Gateway function timeout; every route's streaming integration gets at least as long.
   * Default: the config's `settings.max_request_ms` + `lambda_margin_ms` + 29 s (5 min 30 s
   * with the defaults).
   */
  readonly gatewayTimeout?: Duration;
  /** Retention for the function and access log groups. Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** API Gateway stage throttling (requests per second). Default: 100 */
  readonly throttlingRateLimit?: number;
  /** API Gateway stage burst limit. Default: 200 */
  readonly throttlingBurstLimit?: number;
  /** Create the account-level API Gateway CloudWatch role. Default: true */
  readonly apiGatewayCloudWatchRole?: boolean;
  /** Worker entry file. Default: <repo>/functions/worker/handler.ts */
  readonly workerEntry?: string;
  /** Worker memory in MB. Default: 1024 */
  readonly workerMemorySize?: number;
  /** Worker timeout; the queues' visibility timeout is six times it. Default: 2 minutes */
  readonly workerTimeout?: Duration;
  /** Concurrent worker invocations for the high-priority queue (2..1000). Default: 20 */
  readonly highPriorityMaxConcurrency?: number;
  /** Concurrent worker invocations for the normal-priority queue (2..1000). Default: 5 */
  readonly normalPriorityMaxConcurrency?: number;
  /**
   * Prefix of every secret's name, so two deployments in one account keep apart.
   * Default: 'breakwater/'
   */
  readonly secretPrefix?: string;
}

/**
 * Breakwater: API Gateway REST API -> the gateway Lambda; SQS task queues -> the worker Lambda;
 * DynamoDB for fleet-wide state; Secrets Manager for provider credentials.
 */
export class GatewayStack extends Stack {
  readonly gateway: GatewayFunction;
  readonly worker: WorkerFunction;
  readonly api: GatewayApi;
  readonly tables: StateTables;
  readonly queues: TaskQueues;
  readonly secrets: ProviderSecrets;

  constructor(scope: Construct, id: string, props: GatewayStackProps = {}) {
    super(scope, id, {
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway (API Gateway + Lambda, SQS task worker, DynamoDB state)',
      ...props,
    });

    this.gateway = new GatewayFunction(this, 'Gateway', {
      entry: props.entry,
      configPath: props.configPath,
      memorySize: props.memorySize,
      timeout: props.gatewayTimeout,
      logRetention: props.logRetention,
    });
    this.worker = new WorkerFunction(this, 'Worker', {
      entry: props.workerEntry,
      configPath: props.configPath,
      memorySize: props.workerMemorySize,
      timeout: props.workerTimeout,
      logRetention: props.logRetention,
    });
    const gatewayFn = this.gateway.function;
    const workerFn = this.worker.function;

    this.tables = new StateTables(this, 'State');
    this.tables.grantTo(gatewayFn, GATEWAY_TABLE_GRANTS);
    this.tables.grantTo(workerFn, WORKER_TABLE_GRANTS);

    const needs = readConfigNeeds(this.gateway.configPath);
    this.secrets = new ProviderSecrets(this, 'Secrets', { needs, prefix: props.secretPrefix ?? DEFAULT_SECRET_PREFIX });
    for (const fn of [gatewayFn, workerFn]) {
      this.secrets.grantCredentialsRead(fn);
      fn.addEnvironment(SECRET_PREFIX_ENV, this.secrets.prefix);
      if (needs.bedrock) grantBedrockInvoke(fn);
    }
    this.secrets.grantCallbackSigningRead(workerFn);

    this.queues = new TaskQueues(this, 'Tasks', { workerTimeout: this.worker.timeout });
    this.worker.addQueue({
      queue: this.queues.high.queue,
      maxConcurrency: props.highPriorityMaxConcurrency ?? DEFAULT_HIGH_MAX_CONCURRENCY,
    });
    this.worker.addQueue({
      queue: this.queues.normal.queue,
      maxConcurrency: props.normalPriorityMaxConcurrency ?? DEFAULT_NORMAL_MAX_CONCURRENCY,
    });
    for (const queue of this.queues.queues) queue.grantSendMessages(gatewayFn);
    for (const fn of [gatewayFn, workerFn]) {
      fn.addEnvironment(QUEUE_ENV.HIGH_URL, this.queues.high.queue.queueUrl);
      fn.addEnvironment(QUEUE_ENV.NORMAL_URL, this.queues.normal.queue.queueUrl);
      fn.addEnvironment(DLQ_ENV.HIGH_URL, this.queues.high.deadLetterQueue.queueUrl);
      fn.addEnvironment(DLQ_ENV.NORMAL_URL, this.queues.normal.deadLetterQueue.queueUrl);
    }
    workerFn.addEnvironment(QUEUE_ENV.MAX_RECEIVE_COUNT, String(MAX_RECEIVE_COUNT));

    this.api = new GatewayApi(this, 'Api', {
      handler: gatewayFn,
      integrationTimeout: Duration.millis(this.gateway.timeouts.integrationTimeoutMs),
      throttlingRateLimit: props.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit,
      accessLogRetention: props.logRetention,
      cloudWatchRole: props.apiGatewayCloudWatchRole,
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
    for (const [tableId, table] of Object.entries(this.tables.tables)) {
      new CfnOutput(this, OUTPUTS.tableName(tableId), {
        description: `DynamoDB table "${tableId}" (${TABLES[tableId as keyof typeof TABLES].envVar})`,
        value: table.tableName,
      });
    }
    const queueOutputs: Array<[string, string, string]> = [
      [OUTPUTS.QUEUE_HIGH_URL, this.queues.high.queue.queueUrl, 'High-priority task queue URL'],
      [OUTPUTS.QUEUE_NORMAL_URL, this.queues.normal.queue.queueUrl, 'Normal-priority task queue URL'],
      [OUTPUTS.QUEUE_HIGH_ARN, this.queues.high.queue.queueArn, 'High-priority task queue ARN'],
      [OUTPUTS.QUEUE_NORMAL_ARN, this.queues.normal.queue.queueArn, 'Normal-priority task queue ARN'],
      [OUTPUTS.DLQ_HIGH_URL, this.queues.high.deadLetterQueue.queueUrl, 'High-priority dead-letter queue URL'],
      [OUTPUTS.DLQ_NORMAL_URL, this.queues.normal.deadLetterQueue.queueUrl, 'Normal-priority dead-letter queue URL'],
      [OUTPUTS.DLQ_HIGH_ARN, this.queues.high.deadLetterQueue.queueArn, 'High-priority DLQ ARN (StartMessageMoveTask source)'],
      [OUTPUTS.DLQ_NORMAL_ARN, this.queues.normal.deadLetterQueue.queueArn, 'Normal-priority DLQ ARN (StartMessageMoveTask source)'],
    ];
    for (const [outputId, value, description] of queueOutputs) new CfnOutput(this, outputId, { description, value });
    new CfnOutput(this, OUTPUTS.SECRET_PREFIX, {
      description: 'Prefix of the provider credential secrets (set them with aws secretsmanager put-secret-value)',
      value: this.secrets.prefix,
    });
  }
}
