import { SQSClient } from '@aws-sdk/client-sqs';

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
  const local = endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])/.test(endpoint);
  return new SQSClient({
    endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'us-east-1' : undefined),
    // Emulators accept any credentials; real AWS uses the function's role.
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    ...(endpoint !== undefined ? { useQueueUrlAsEndpoint: false } : {}),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: options.requestTimeoutMs ?? 5_000 },
  });
}
