import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsEndpointOptions } from '../awsEndpoint';

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
  const client = new DynamoDBClient({
    ...awsEndpointOptions(options.endpoint, options.region),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { client, doc };
}
