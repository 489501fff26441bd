export { createDynamoClients, DYNAMO_TIMEOUTS, type DynamoClientOptions, type DynamoClients } from './createClients';
export { ensureTables } from './ensureTables';
export { TABLES, tableNamesFromEnv, type TableId, type TableNames, type TableSpec } from './tables';
