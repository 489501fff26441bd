import type { SQSClient } from '@aws-sdk/client-sqs';
import { boundCalls } from '../stores/boundedCalls';
import { sqsClientConfig, type SqsClientOptions } from './sqsClientConfig';

/**
 * {@link createSqsClient}'s client, but the SDK is imported on the first `send`, not at cold
 * start: the gateway sends only when a client submits a task, and most invocations never do.
 * The import is dynamic on the package itself so a bundler leaves it out of the start-up path.
 */
export function lazySqsClient(
  options: SqsClientOptions & {
    /** Wraps the client once built, e.g. X-Ray's capture, so each send is a subsegment. @default none */
    instrument?: (client: SQSClient) => SQSClient;
  } = {},
): Pick<SQSClient, 'send'> {
  let client: Promise<SQSClient> | undefined;
  const connect = (): Promise<SQSClient> =>
    (client ??= import('@aws-sdk/client-sqs').then(({ SQSClient }) => {
      const { config, callTimeoutMs } = sqsClientConfig(options);
      const raw = new SQSClient(config);
      return boundCalls(options.instrument ? options.instrument(raw) : raw, 'SQS', callTimeoutMs);
    }));
  const send = (async (...args: Parameters<SQSClient['send']>) => {
    const sqs = await connect();
    return (sqs.send as (...a: Parameters<SQSClient['send']>) => unknown)(...args);
  }) as SQSClient['send'];
  return { send };
}
