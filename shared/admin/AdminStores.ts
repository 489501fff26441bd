import type { SQSClient } from '@aws-sdk/client-sqs';
import type { BreakerStore } from '../breaker/BreakerStore';
import { DynamoBreakerStore } from '../breaker/DynamoBreakerStore';
import { DynamoKeyStore, type KeyStore } from '../keys/DynamoKeyStore';
import type { Clock } from '../resilience/clock';
import type { DynamoClients, TableNames } from '../stores/dynamo';
import { DeadLetters } from './DeadLetters';
import { SpendOverview } from './SpendOverview';

/** What the admin API reads and writes beyond the request path's own services. */
export interface AdminStores {
  keys: KeyStore;
  /** The breakers table itself, not a container's cached view: the console shows the fleet's state. */
  breakers: BreakerStore;
  spend: SpendOverview;
  /** Absent without task queues: the DLQ view says so. */
  deadLetters?: DeadLetters;
}

export interface AdminStoresInput {
  dynamo: DynamoClients;
  tables: TableNames;
  clock: Pick<Clock, 'now'>;
  /** The task DLQs; see {@link DeadLetters}. */
  queues?: { sqs: Pick<SQSClient, 'send'>; dlqUrls: readonly string[]; redriveTo?: string };
}

export function createAdminStores(input: AdminStoresInput): AdminStores {
  const { dynamo, tables, clock, queues } = input;
  return {
    keys: new DynamoKeyStore({ doc: dynamo.doc, tableName: tables.keys, clock }),
    breakers: new DynamoBreakerStore(dynamo.doc, tables.breakers),
    spend: new SpendOverview(dynamo.doc, tables.spend),
    deadLetters: queues && queues.dlqUrls.length > 0 ? new DeadLetters(queues) : undefined,
  };
}

/** The DLQ URLs a gateway was given: `BREAKWATER_QUEUE_DLQ_URL` (npm start) or the stack's one per priority. */
export function dlqUrlsFromEnv(env: NodeJS.ProcessEnv): string[] {
  const single = env.BREAKWATER_QUEUE_DLQ_URL;
  if (single) return [single];
  return [env.BREAKWATER_QUEUE_DLQ_HIGH_URL, env.BREAKWATER_QUEUE_DLQ_NORMAL_URL].filter((url): url is string => !!url);
}
