import { SQSClient } from '@aws-sdk/client-sqs';
import { boundCalls } from '../stores/boundedCalls';
import { sqsClientConfig, type SqsClientOptions } from './sqsClientConfig';

export type { SqsClientOptions } from './sqsClientConfig';

/**
 * An SQS client whose every call ends within `requestTimeoutMs` (and the current request's
 * deadline). For a caller that may never use it, {@link lazySqsClient} defers loading the SDK.
 */
export function createSqsClient(options: SqsClientOptions = {}): SQSClient {
  const { config, callTimeoutMs } = sqsClientConfig(options);
  return boundCalls(new SQSClient(config), 'SQS', callTimeoutMs);
}
