/**
 * Every DynamoDB table Breakwater uses, described once: the CDK stack, `npm start`'s local
 * store and the tests all create tables from this list, so they cannot drift apart.
 * One string partition key per table and no transactions (dynalite lacks them): every
 * fleet-wide guarantee is a single conditional write.
 */
export interface TableSpec {
  /** Env var the functions read the table's name from. */
  envVar: string;
  /** Name used locally and when the env var is unset. */
  localName: string;
  partitionKey: string;
  /** Attribute holding an epoch-seconds expiry, when items expire. */
  ttlAttribute?: string;
  /** Spend is money: keep point-in-time recovery on. */
  pointInTimeRecovery?: boolean;
  /** Global secondary indexes, every attribute projected (a listing reads whole items). */
  indexes?: readonly IndexSpec[];
}

/** A global secondary index: a string partition key and a sort key. */
export interface IndexSpec {
  name: string;
  partitionKey: string;
  sortKey: { name: string; type: 'S' | 'N' };
}

export const TABLES = {
  /** Circuit-breaker state per target, shared by the fleet. */
  breakers: { envVar: 'BREAKWATER_TABLE_BREAKERS', localName: 'breakwater-breakers', partitionKey: 'pk' },
  /** Spend per tenant per window (day, month) and per end user per hour. */
  spend: {
    envVar: 'BREAKWATER_TABLE_SPEND',
    localName: 'breakwater-spend',
    partitionKey: 'pk',
    ttlAttribute: 'expires_at',
    pointInTimeRecovery: true,
  },
  /** Idempotency records, in Powertools' layout (`id`, `expiration`). */
  idempotency: {
    envVar: 'BREAKWATER_TABLE_IDEMPOTENCY',
    localName: 'breakwater-idempotency',
    partitionKey: 'id',
    ttlAttribute: 'expiration',
  },
  /** Virtual keys by SHA-256 hash of the key; the plain key is never stored. */
  keys: { envVar: 'BREAKWATER_TABLE_KEYS', localName: 'breakwater-keys', partitionKey: 'pk', ttlAttribute: 'expires_at' },
  /** Per-key request and token counters per minute window (rpm / tpm limits). */
  rateLimits: {
    envVar: 'BREAKWATER_TABLE_RATE_LIMITS',
    localName: 'breakwater-rate-limits',
    partitionKey: 'pk',
    ttlAttribute: 'expires_at',
  },
  /** Cached responses per tenant and canonical request. */
  cache: { envVar: 'BREAKWATER_TABLE_CACHE', localName: 'breakwater-cache', partitionKey: 'pk', ttlAttribute: 'expires_at' },
  /**
   * Asynchronous tasks per tenant (`task#<tenant>#<id>`): status, claim lease, result. The
   * `by-tenant` index lists a tenant's tasks newest first (`GET /v1/tasks`).
   */
  tasks: {
    envVar: 'BREAKWATER_TABLE_TASKS',
    localName: 'breakwater-tasks',
    partitionKey: 'pk',
    ttlAttribute: 'expires_at',
    indexes: [{ name: 'by-tenant', partitionKey: 'tenant', sortKey: { name: 'created_at', type: 'N' } }],
  },
  /** Stored Responses API answers per tenant (`response#<tenant>#<id>`), for `previous_response_id`; 30 days. */
  responses: {
    envVar: 'BREAKWATER_TABLE_RESPONSES',
    localName: 'breakwater-responses',
    partitionKey: 'pk',
    ttlAttribute: 'expires_at',
  },
  /**
   * End users' OAuth connections to tool services (`conn#<tenant>#<user>#<service>`, tokens
   * encrypted) and the pending states of connects in progress (`state#<nonce>`, expiring).
   */
  connections: { envVar: 'BREAKWATER_TABLE_CONNECTIONS', localName: 'breakwater-connections', partitionKey: 'pk', ttlAttribute: 'expires_at' },
  /**
   * Tool calls held for a person's approval (`approval#<id>`): the call, the decision and the
   * service's answer. The `by-status` index lists what waits for a decision.
   */
  approvals: {
    envVar: 'BREAKWATER_TABLE_APPROVALS',
    localName: 'breakwater-approvals',
    partitionKey: 'pk',
    ttlAttribute: 'ttl_at',
    pointInTimeRecovery: true,
    indexes: [{ name: 'by-status', partitionKey: 'status', sortKey: { name: 'created_at', type: 'N' } }],
  },
} as const satisfies Record<string, TableSpec>;

export type TableId = keyof typeof TABLES;
export type TableNames = Record<TableId, string>;

/** Table names from the environment (set by the stack), else the local names. */
export function tableNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TableNames {
  return Object.fromEntries(
    Object.entries(TABLES).map(([id, spec]) => [id, env[spec.envVar] ?? spec.localName]),
  ) as TableNames;
}
