import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoClientOptions {
  /** Overrides the endpoint; the SDK also honours `AWS_ENDPOINT_URL_DYNAMODB` on its own. */
  endpoint?: string;
  region?: string;
}

export interface DynamoClients {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
}

/**
 * DynamoDB clients tuned for a request path: short timeouts and a single SDK retry, because a
 * state store that does not answer within a second must not hold a request hostage — each
 * caller has a stated degraded mode instead (fail closed, in-container fallback...).
 */
export function createDynamoClients(options: DynamoClientOptions = {}): DynamoClients {
  const local = options.endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost)/.test(options.endpoint);
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    // Emulators accept any credentials; real AWS uses the function's role.
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { client, doc };
}
