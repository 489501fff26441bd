import { DynamoKeyStore } from '../../shared/keys';
import { createDynamoClients, TABLES, type DynamoClients } from '../../shared/stores/dynamo';

export interface StoreTarget {
  endpoint?: string;
  tableName: string;
}

/**
 * Where the CLI's keys live: `--table`, else `BREAKWATER_TABLE_KEYS`, else the local name; the
 * endpoint from `AWS_ENDPOINT_URL_DYNAMODB` (what `npm start` prints), else AWS itself with the
 * region and profile from the environment.
 */
export function storeTarget(env: NodeJS.ProcessEnv, table?: string): StoreTarget {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB?.trim() || undefined;
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    tableName: table ?? (env[TABLES.keys.envVar]?.trim() || TABLES.keys.localName),
  };
}

export function openKeyStore(target: StoreTarget): { store: DynamoKeyStore; clients: DynamoClients } {
  const clients = createDynamoClients({ endpoint: target.endpoint });
  return { store: new DynamoKeyStore({ doc: clients.doc, tableName: target.tableName }), clients };
}
