import type { Logger } from '@aws-lambda-powertools/logger';
import { createLogger } from '../../shared/logging';
import { startApiGatewayServer, type RunningServer } from '../../bin/local/apiGatewayServer';
import { installAwsLambdaGlobal } from '../../bin/local/lambdaStreaming';
import { createGatewayHandler, type GatewayStreamingHandler } from '../../functions/gateway/createHandler';
import { compileConfig, type BreakwaterConfigInput, type CompiledConfig } from '../../shared/config';
import type { SecretSource } from '../../shared/credentials';
import type { GatewayServices } from '../../shared/gateway';
import { createServices } from '../../shared/gateway/createServices';
import { DynamoKeyStore, seedKeys } from '../../shared/keys';
import { systemClock, type Clock, type RandomSource } from '../../shared/resilience';
import { createDynamoClients, type DynamoClients, type TableNames } from '../../shared/stores/dynamo';
import { upstreamSecrets } from './e2eHarness';

/** What a test may swap in after `createServices` built the real ones (a spend guard on a dead store...). */
export interface ServicesContext {
  clients: DynamoClients;
  tables: TableNames;
  config: CompiledConfig;
  clock: Clock;
  logger: Logger;
}

export interface StatefulGatewayOptions {
  config: BreakwaterConfigInput;
  /** The one DynamoDB (Local) of the test file: its endpoint and table names. */
  dynamo: { endpoint: string; tables: TableNames };
  /** @default the e2e upstream secret */
  secrets?: SecretSource;
  /** Given to the handler and to every service. @default systemClock */
  clock?: Clock;
  random?: RandomSource;
  /** @default a SILENT Powertools logger */
  logger?: Logger;
  functionTimeoutMs?: number;
  /** createServices' `keyCacheTtlMs` (how long a key look-up is trusted per container). */
  keyCacheTtlMs?: number;
  /** createServices' `breakerCacheTtlMs`. */
  breakerCacheTtlMs?: number;
  /** Services given outright: `createServices` is not called. */
  services?: GatewayServices;
  /** Adjusts what `createServices` built (ignored with `services`). */
  overrideServices?: (built: GatewayServices, context: ServicesContext) => GatewayServices;
  /**
   * Copies the config file's keys into the key store first, as `npm start` does: with a key
   * store, the gateway authenticates only through it.
   * @default true
   */
  seedConfigKeys?: boolean;
}

export interface StatefulGateway extends RunningServer {
  config: CompiledConfig;
  services: GatewayServices;
  /** This gateway's own DynamoDB clients: each gateway is a separate container. */
  clients: DynamoClients;
  /** A key store on the same table, for creating, revoking and rotating keys in tests. */
  keys: DynamoKeyStore;
  /** The Lambda handler behind the server, to invoke with events no HTTP client would send. */
  handler: GatewayStreamingHandler;
}

/**
 * The real Lambda handler behind the real local server with every fleet-wide service built by
 * `createServices` on the test's DynamoDB. Each call is one "container": its own clients,
 * caches and in-memory counters, sharing only the tables with the others.
 */
export async function startStatefulGateway(options: StatefulGatewayOptions): Promise<StatefulGateway> {
  const config = compileConfig(options.config);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ serviceName: 'breakwater-test', logLevel: 'SILENT' });
  const clients = createDynamoClients({ endpoint: options.dynamo.endpoint });
  const { tables } = options.dynamo;
  const keys = new DynamoKeyStore({ doc: clients.doc, tableName: tables.keys, clock });
  if (options.seedConfigKeys ?? true) await seedKeys(keys, config.tenants.values());

  let services = options.services;
  if (!services) {
    const built = createServices({
      dynamo: clients,
      tables,
      config,
      clock,
      logger,
      keyCacheTtlMs: options.keyCacheTtlMs,
      breakerCacheTtlMs: options.breakerCacheTtlMs,
    });
    services = options.overrideServices ? options.overrideServices(built, { clients, tables, config, clock, logger }) : built;
  }

  installAwsLambdaGlobal();
  const handler = createGatewayHandler({
    config,
    secrets: options.secrets ?? upstreamSecrets,
    services,
    clock,
    random: options.random,
    logger,
  });
  const server = await startApiGatewayServer({ handler, port: 0, functionTimeoutMs: options.functionTimeoutMs });
  return {
    ...server,
    config,
    services,
    clients,
    keys,
    handler,
    close: async () => {
      await server.close();
      clients.client.destroy();
    },
  };
}
