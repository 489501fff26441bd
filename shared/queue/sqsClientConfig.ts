import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import { awsEndpointOptions } from '../stores/awsEndpoint';
import { storeClientConfig } from '../stores/boundedCalls';

export interface SqsClientOptions {
  /** Overrides the endpoint; unset, `AWS_ENDPOINT_URL_SQS` is read (the local emulator sets it). */
  endpoint?: string;
  region?: string;
  /**
   * The longest one call may take, its retries included. Long polls need more than their
   * `WaitTimeSeconds`.
   * @default 5_000 — a submit must not wait on a queue that does not answer
   */
  requestTimeoutMs?: number;
}

/**
 * The SQS client's config and its per-call bound. Kept apart from the SDK's value imports, so
 * {@link lazySqsClient} can build a client without loading the SDK before the first call.
 * With an explicit endpoint (fauxqs, another emulator) the endpoint is used for every call
 * instead of the host inside each queue URL, which is a name there, not an address.
 */
export function sqsClientConfig(options: SqsClientOptions = {}): { config: SQSClientConfig; callTimeoutMs: number } {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_SQS;
  const callTimeoutMs = options.requestTimeoutMs ?? 5_000;
  return {
    callTimeoutMs,
    config: {
      // fauxqs builds queue ARNs and URLs from a real-looking region.
      ...awsEndpointOptions(endpoint, options.region, 'us-east-1'),
      ...(endpoint !== undefined ? { useQueueUrlAsEndpoint: false } : {}),
      // Up to three attempts, but never past the call's bound: a fast failure is retried, a
      // queue that does not answer costs the caller `requestTimeoutMs` once.
      ...storeClientConfig({ connectionTimeoutMs: 1_000, attemptTimeoutMs: callTimeoutMs, callTimeoutMs, maxAttempts: 3 }),
    },
  };
}
