import { createDynamoClients, type DynamoClients } from '../../shared/stores/dynamo';

/** Where nothing listens: every call fails at once with a connection error. */
export const DEAD_DYNAMO_ENDPOINT = 'http://127.0.0.1:1';

/** DynamoDB clients for a state store that is down. Destroy them in `after`. */
export const deadDynamoClients = (): DynamoClients => createDynamoClients({ endpoint: DEAD_DYNAMO_ENDPOINT });
