import { SQSClient } from '@aws-sdk/client-sqs';
import { awsEndpointOptions } from '../stores/awsEndpoint';

export interface SqsClientOptions {
  /** Overrides the endpoint; unset, `AWS_ENDPOINT_URL_SQS` is read (the local emulator sets it). */
  endpoint?: string;
  region?: string;
  /**
   * Per-request socket timeout. Long polls need more than their `WaitTimeSeconds`.
   * @default 5_000 — a submit must not wait on a queue that does not answer
   */
  requestTimeoutMs?: number;
}

/**
 * An SQS client. With an explicit endpoint (fauxqs, another emulator) the endpoint is used for
 * every call instead of the host inside each queue URL, which is a name there, not an address.
 */
export function createSqsClient(options: SqsClientOptions = {}): SQSClient {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS;
  return new SQSClient({
    // fauxqs builds queue ARNs and URLs from a real-looking region.
    ...awsEndpointOptions(endpoint, options.region, 'us-east-1'),
    ...(endpoint !== undefined ? { useQueueUrlAsEndpoint: false } : {}),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: options.requestTimeoutMs ?? 5_000 },
  });
}
