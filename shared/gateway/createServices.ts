import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createAdminStores, dlqUrlsFromEnv } from '../admin/AdminStores';
import { CircuitBreakers } from '../breaker/CircuitBreakers';
import { DynamoBreakerStore } from '../breaker/DynamoBreakerStore';
import { DynamoSpendLedger } from '../budget/DynamoSpendLedger';
import { PriceTable } from '../budget/prices';
import { SpendGuard } from '../budget/SpendGuard';
import type { CompiledConfig } from '../config';
import { ResponseCache } from '../cache/ResponseCache';
import { IdempotentExecutor } from '../idempotency/IdempotentExecutor';
import { DynamoKeyStore } from '../keys/DynamoKeyStore';
import { KeyResolver } from '../keys/KeyResolver';
import { FleetRateLimiter } from '../ratelimit/FleetRateLimiter';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SqsTaskQueue } from '../queue/SqsTaskQueue';
import type { TaskQueueUrls } from '../queue/queueEnv';
import type { Clock } from '../resilience';
import { DynamoResponseRecords } from '../responses/DynamoResponseRecords';
import { ResponseStore } from '../responses/ResponseStore';
import { DynamoTaskStore } from '../tasks/DynamoTaskStore';
import { TaskService } from '../tasks/TaskService';
import { DynamoApprovalStore } from '../tools/approvals';
import { DynamoLoopGuard, DynamoStaleResponses, DynamoTokenBucket } from '../tools/limits';
import { DynamoToolCallQuota } from '../tools/quota';
import { createConnections } from '../tools/connections/createConnections';
import type { SecretSource } from '../credentials/SecretSource';
import type { DynamoClients, TableNames } from '../stores/dynamo';
import type { GatewayServices } from './GatewayServices';

export interface ServicesInput {
  dynamo: DynamoClients;
  tables: TableNames;
  config: CompiledConfig;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  /** How long a breaker read is trusted per container. @default 1_000 */
  breakerCacheTtlMs?: number;
  /** How long a key lookup is trusted per container (at most 30 s). @default 30_000 */
  keyCacheTtlMs?: number;
  /** The task queues; without them there is no `/v1/tasks`. */
  queues?: {
    sqs: Pick<SQSClient, 'send'>;
    urls: TaskQueueUrls;
    /** The dead-letter queues the admin API shows and redrives. @default dlqUrlsFromEnv(process.env) */
    dlqUrls?: readonly string[];
  };
  /** OAuth app secrets and the token data key; without them there are no user connections (`/v1/connections`). */
  secrets?: SecretSource;
}

/** Every fleet-wide service on DynamoDB, built once per container (their caches live here). */
export function createServices(input: ServicesInput): GatewayServices {
  const { dynamo, tables, config, clock, logger, metrics } = input;
  return {
    breakers: new CircuitBreakers({
      store: new DynamoBreakerStore(dynamo.doc, tables.breakers),
      clock,
      logger,
      metrics,
      cacheTtlMs: input.breakerCacheTtlMs,
    }),
    spend: new SpendGuard({
      ledger: new DynamoSpendLedger(dynamo.doc, tables.spend),
      prices: new PriceTable({ overrides: config.prices, logger }),
      clock,
      logger,
      metrics,
    }),
    idempotency: new IdempotentExecutor({ client: dynamo.client, tableName: tables.idempotency, logger }),
    cache: new ResponseCache({ doc: dynamo.doc, tableName: tables.cache, clock, logger }),
    rateLimiter: new FleetRateLimiter({ doc: dynamo.doc, tableName: tables.rateLimits, logger, metrics, clock }),
    keyResolver: new KeyResolver({
      store: new DynamoKeyStore({ doc: dynamo.doc, tableName: tables.keys, clock }),
      cacheTtlMs: input.keyCacheTtlMs,
      clock,
    }),
    responses: new ResponseStore({ records: new DynamoResponseRecords(dynamo.doc, tables.responses), clock, logger }),
    loopGuard: new DynamoLoopGuard({ doc: dynamo.doc, tableName: tables.rateLimits, clock, logger }),
    toolQuota: new DynamoToolCallQuota({ doc: dynamo.doc, tableName: tables.rateLimits, clock, logger }),
    toolRateGate: new DynamoTokenBucket({
      doc: dynamo.doc,
      tableName: tables.rateLimits,
      shapeOf: (service) => {
        const limit = config.services.get(service)?.rate_limit;
        return limit && { ratePerSecond: limit.requests_per_second, burst: limit.burst ?? Math.max(1, Math.ceil(limit.requests_per_second)) };
      },
      clock,
      logger,
    }),
    approvalStore: new DynamoApprovalStore(dynamo.doc, tables.approvals),
    admin: createAdminStores({
      dynamo,
      tables,
      clock,
      queues: input.queues && { sqs: input.queues.sqs, dlqUrls: input.queues.dlqUrls ?? dlqUrlsFromEnv(process.env), redriveTo: input.queues.urls.normal },
    }),
    staleResponses: new DynamoStaleResponses({ doc: dynamo.doc, tableName: tables.cache, clock, logger }),
    connections: input.secrets
      ? createConnections({
          doc: dynamo.doc,
          tableName: tables.connections,
          services: config.services,
          secrets: input.secrets,
          clock,
          logger,
          publicBaseUrl: config.settings.public_base_url,
        })
      : undefined,
    tasks: input.queues
      ? new TaskService({
          store: new DynamoTaskStore(dynamo.doc, tables.tasks),
          queue: new SqsTaskQueue(input.queues.sqs, input.queues.urls),
          clock,
          logger,
        })
      : undefined,
  };
}
