import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { loadConfigFile } from '../../shared/config';
import { isConfigError } from '../../shared/config/ConfigError';
import { isKeyStoreError, type KeyStore } from '../../shared/keys';
import { createSqsClient } from '../../shared/queue';
import { createDynamoClients } from '../../shared/stores/dynamo';
import { DynamoApprovalStore } from '../../shared/tools/approvals';
import { approvalsCommand } from './approvalsCommand';
import { deployedTenants } from './deployedTenants';
import { dlqCommand } from './dlqCommand';
import { keysCommand, type CliIo } from './keysCommand';
import { openKeyStore, storeTarget, type StoreTarget } from './openKeyStore';
import { tableNameFromStack } from './stackTables';
import { MAIN_USAGE } from './usage';
import { isUsageError, UsageError } from './UsageError';

export const EXIT_CODES = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export interface CliDeps {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  /** @default a DynamoKeyStore on the target */
  storeFor?(target: StoreTarget): KeyStore;
  /** @default Date.now */
  now?(): number;
}

/** The whole CLI: arguments in, exit code out. Exit 2 for bad usage, 1 when the operation failed. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const { io, env } = deps;
  const [command, ...rest] = argv;
  let target: StoreTarget | undefined;
  /** What a failure is named against: the key store, or the queues. */
  let where = 'the key store';
  const cleanups: Array<() => void> = [];
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  /** A client for `--stage`'s look-ups (region and profile from the environment), destroyed at the end. */
  const awsClient = <T extends { destroy(): void }>(create: (config: { region?: string }) => T): T => {
    const client = create(region ? { region } : {});
    cleanups.push(() => client.destroy());
    return client;
  };
  /** `--stage`: the table's name from the stage's state stack outputs. */
  const tableOfStage = (stage: string, tableId: 'keys' | 'approvals'): Promise<string> =>
    tableNameFromStack(awsClient((config) => new CloudFormationClient(config)), stage, tableId);
  try {
    if (command === undefined) {
      io.err(MAIN_USAGE);
      return EXIT_CODES.USAGE;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      io.out(MAIN_USAGE);
      return EXIT_CODES.OK;
    }
    if (command === 'dlq') {
      where = `the SQS endpoint ${env.AWS_ENDPOINT_URL_SQS?.trim() || '(AWS)'}`;
      return await dlqCommand(rest, {
        io,
        env,
        sqs: () => {
          const sqs = createSqsClient({ endpoint: env.AWS_ENDPOINT_URL_SQS });
          cleanups.push(() => sqs.destroy());
          return sqs;
        },
      });
    }
    if (command === 'approvals') {
      return await approvalsCommand(rest, {
        io,
        env,
        now: deps.now ?? Date.now,
        openStore: async (where) => {
          const table = 'stage' in where ? await tableOfStage(where.stage, 'approvals') : where.table;
          target = { ...storeTarget(env), tableName: table };
          const clients = createDynamoClients({ endpoint: target.endpoint });
          cleanups.push(() => clients.client.destroy());
          return new DynamoApprovalStore(clients.doc, table);
        },
      });
    }
    if (command !== 'keys') {
      io.err(`error: unknown command "${command}"\n\n${MAIN_USAGE}`);
      return EXIT_CODES.USAGE;
    }
    return await keysCommand(rest, {
      io,
      now: deps.now ?? Date.now,
      configTenants: async ({ configPath: path, stage }) => {
        // A deployed stage is checked against what it serves with, not a local file that may be another stage's.
        if (path === undefined && stage !== undefined) {
          return deployedTenants(
            { cloudFormation: awsClient((config) => new CloudFormationClient(config)), appConfigData: () => awsClient((config) => new AppConfigDataClient(config)) },
            stage,
          );
        }
        const file = path ?? (env.BREAKWATER_CONFIG?.trim() || 'breakwater.config.json');
        try {
          return { path: file, tenants: new Set((await loadConfigFile(file)).tenants.keys()) };
        } catch (error) {
          if (!isConfigError(error)) throw error;
          throw new UsageError(`the tenant cannot be checked against the gateway's config: ${error.message} (pass --config <file> or set BREAKWATER_CONFIG)`);
        }
      },
      openStore: async ({ table, stage }) => {
        target = storeTarget(env, stage === undefined ? table : await tableOfStage(stage, 'keys'));
        if (deps.storeFor) return deps.storeFor(target);
        const { store, clients } = openKeyStore(target);
        cleanups.push(() => clients.client.destroy());
        return store;
      },
    });
  } catch (error) {
    if (isUsageError(error)) {
      io.err(`error: ${error.message}${error.usage ? `\n\n${error.usage}` : ''}`);
      return EXIT_CODES.USAGE;
    }
    io.err(`error: ${describeFailure(error, target, where)}`);
    return EXIT_CODES.FAILED;
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
}

/** One line an operator can act on; AWS errors are named with the table and endpoint used. */
function describeFailure(error: unknown, target: StoreTarget | undefined, fallbackWhere: string): string {
  if (isKeyStoreError(error)) return error.message;
  const { name, message } = error as Error;
  const where = target ? `table "${target.tableName}" at ${target.endpoint ?? 'AWS'}` : fallbackWhere;
  if (name === 'ResourceNotFoundException') {
    return `${where} does not exist: set BREAKWATER_TABLE_KEYS or --table (and AWS_ENDPOINT_URL_DYNAMODB for a local store)`;
  }
  const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: NodeJS.ErrnoException }).cause?.code;
  if (code === 'ECONNREFUSED' || name === 'TimeoutError') {
    const variable = target ? 'AWS_ENDPOINT_URL_DYNAMODB' : 'AWS_ENDPOINT_URL_SQS';
    return `cannot reach ${where} (${code ?? name}); is "npm start" running, and is ${variable} its endpoint?`;
  }
  if (name === 'CredentialsProviderError' || name === 'UnrecognizedClientException' || name === 'ExpiredTokenException') {
    return `AWS rejected the credentials for ${where}: ${message} (check AWS_PROFILE / AWS_REGION)`;
  }
  return `${name ?? 'Error'} on ${where}: ${message}`;
}
