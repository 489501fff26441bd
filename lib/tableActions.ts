import type { TableId } from '../shared/stores/dynamo/tables.js';

/**
 * The DynamoDB actions each table's code sends from the functions, and nothing more: no
 * stream reads, no BatchWrite, no DescribeTable, and Scan only where a function scans. Read
 * from the stores in shared/** (the command each sends is named beside it); a new command in
 * a store needs its action here, or it fails with AccessDenied in AWS (and the infra tests
 * pin these lists). The keys CLI and `npm start`'s sweeper run as the operator, not as a
 * function, so their commands (PutItem on keys, Scan on tasks) are not listed.
 */
export const TABLE_ACTIONS: Readonly<Record<TableId, readonly string[]>> = {
  // DynamoBreakerStore: Get, Update.
  breakers: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // DynamoSpendLedger: Update; SpendOverview (admin console): Get, Update.
  spend: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // Powertools' DynamoDBPersistenceLayer: GetItem, PutItem, UpdateItem, DeleteItem.
  idempotency: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  // KeyResolver: Get; admin console: list and find by prefix (Scan), create (Put), rotate and revoke (Update).
  keys: ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  // FleetRateLimiter, DynamoLoopGuard, DynamoToolCallQuota, DynamoTokenBucket: Update.
  rateLimits: ['dynamodb:UpdateItem'],
  // ResponseCache, DynamoStaleResponses: Get, Put.
  cache: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  // DynamoTaskStore: Get, Put, Update, Query (a tenant's tasks by index).
  tasks: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
  // DynamoResponseRecords: Get, Put, Delete.
  responses: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  // ConnectionRecords: BatchGet, Get, Put, Update, Delete.
  connections: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  // DynamoApprovalStore: Get, Put, Update, Query (pending ones by status index).
  approvals: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
};

/** Actions that only read: what a `read` grant keeps of a table's {@link TABLE_ACTIONS}. */
export const READ_ONLY_ACTIONS: ReadonlySet<string> = new Set(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan']);
