import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { createDynamoClients, ensureTables, tableNamesFromEnv } from '../../shared/stores/dynamo';

export interface LocalDynamo {
  endpoint: string;
  /** True when we started dynalite; false when an outside endpoint was given. */
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * The state store behind `npm start`: in-process dynalite (pure JS, starts in milliseconds)
 * unless `AWS_ENDPOINT_URL_DYNAMODB` names another one (DynamoDB Local, or a store shared by
 * several local instances). Either way the tables are created if missing, and the endpoint is
 * exported so the handler's AWS SDK clients, and the CLI, find it.
 */
export async function startLocalDynamo(env: NodeJS.ProcessEnv = process.env): Promise<LocalDynamo> {
  let endpoint = env.AWS_ENDPOINT_URL_DYNAMODB;
  let close = async () => {};
  const embedded = endpoint === undefined;
  if (embedded) {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  }
  env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  env.AWS_REGION ??= 'local';
  // Emulators take any credentials; set dummies so the SDK never looks for real ones.
  env.AWS_ACCESS_KEY_ID ??= 'local';
  env.AWS_SECRET_ACCESS_KEY ??= 'local';

  const { client } = createDynamoClients({ endpoint });
  await ensureTables(client, tableNamesFromEnv(env));
  client.destroy();
  return { endpoint: endpoint!, embedded, close };
}
