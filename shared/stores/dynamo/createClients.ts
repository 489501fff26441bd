import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsEndpointOptions } from '../awsEndpoint';
import { boundCalls, storeClientConfig, type StoreTimeouts } from '../boundedCalls';

export interface DynamoClientOptions {
  /** Overrides the endpoint; the SDK also honours `AWS_ENDPOINT_URL_DYNAMODB` on its own. */
  endpoint?: string;
  region?: string;
  /** Overrides {@link DYNAMO_TIMEOUTS} (set-up tools creating tables may wait longer). */
  timeouts?: Partial<StoreTimeouts>;
  /**
   * Wraps the raw client before the document client is built on it: X-Ray's
   * `tracer.captureAWSv3Client`, so every call shows as a subsegment of the request.
   */
  instrument?: (client: DynamoDBClient) => DynamoDBClient;
}

export interface DynamoClients {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
}

/**
 * A request path's bounds on DynamoDB. One attempt may take 2 s (single-digit milliseconds is
 * the norm; 2 s is a store in trouble), and the whole call ends at 2 s too: the second attempt
 * only fits after a fast failure (a keep-alive socket the server reset), which is what the SDK
 * retry is for. A timed-out write is not sent again, so an ADD is not applied twice by us.
 */
export const DYNAMO_TIMEOUTS: StoreTimeouts = {
  connectionTimeoutMs: 1_000,
  attemptTimeoutMs: 2_000,
  callTimeoutMs: 2_000,
  maxAttempts: 2,
};

/**
 * DynamoDB clients tuned for a request path: every call ends within {@link DYNAMO_TIMEOUTS}
 * and within the current request's deadline, because a state store that does not answer must
 * not hold a request hostage — each caller has a stated degraded mode instead (fail closed,
 * in-container fallback...).
 */
export function createDynamoClients(options: DynamoClientOptions = {}): DynamoClients {
  const timeouts = { ...DYNAMO_TIMEOUTS, ...options.timeouts };
  const raw = new DynamoDBClient({ ...awsEndpointOptions(options.endpoint, options.region), ...storeClientConfig(timeouts) });
  const client = boundCalls(
    options.instrument ? options.instrument(raw) : raw,
    'DynamoDB',
    timeouts.callTimeoutMs,
  );
  const doc = boundCalls(
    DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    'DynamoDB',
    timeouts.callTimeoutMs,
  );
  return { client, doc };
}
