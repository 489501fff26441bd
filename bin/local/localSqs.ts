import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { createSqsClient } from '../../shared/queue/createSqsClient';
import { DEFAULT_MAX_RECEIVE_COUNT, QUEUE_ENV } from '../../shared/queue/queueEnv';

export interface LocalSqsOptions {
  /** Receives the queue URLs and endpoint. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Queue names are `<prefix>-high`, `<prefix>-normal`, `<prefix>-dlq`. @default 'breakwater-tasks' */
  prefix?: string;
  /** @default 5 (also exported as BREAKWATER_QUEUE_MAX_RECEIVE_COUNT for the worker) */
  maxReceiveCount?: number;
  /**
   * The queues' own visibility timeout; the poller passes its own on every receive.
   * @default 30
   */
  visibilityTimeoutSeconds?: number;
}

export interface LocalSqsQueue {
  url: string;
  arn: string;
}

export interface LocalSqs {
  endpoint: string;
  /** True when fauxqs runs in this process; false when `AWS_ENDPOINT_URL_SQS` named another. */
  embedded: boolean;
  /** Where the embedded fauxqs listens (always 127.0.0.1); undefined when not embedded. */
  listening?: AddressInfo;
  sqs: SQSClient;
  queues: { high: LocalSqsQueue; normal: LocalSqsQueue; dlq: LocalSqsQueue };
  maxReceiveCount: number;
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

/**
 * The queues behind `npm start`: fauxqs in this process on a free loopback port (unless
 * `AWS_ENDPOINT_URL_SQS` names another emulator), with the high and normal task queues both
 * redriving to one DLQ after `maxReceiveCount` receives, as the stack sets them up. The endpoint
 * and queue URLs are exported to `env` so the handlers' SQS clients find them.
 */
export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const env = options.env ?? process.env;
  const prefix = options.prefix ?? 'breakwater-tasks';
  const maxReceiveCount = options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  let endpoint = env.AWS_ENDPOINT_URL_SQS;
  let stop = async () => {};
  const embedded = endpoint === undefined;
  let listening: AddressInfo | undefined;
  if (embedded) {
    // Not startFauxqs: it always listens on 0.0.0.0, which would put an unauthenticated queue
    // (task payloads, a purge action) on every network this machine is on. The same app, on
    // loopback only, like every other local service. `host` only shapes the queue URLs.
    const app = buildApp({ logger: false, host: 'localhost' });
    await app.listen({ port: 0, host: LOOPBACK });
    listening = app.server.address() as AddressInfo;
    endpoint = `http://${LOOPBACK}:${listening.port}`;
    stop = () => app.close();
  }

  const sqs = createSqsClient({ endpoint, region: env.AWS_REGION ?? 'us-east-1', requestTimeoutMs: 25_000 });
  const create = async (name: string, attributes: Record<string, string>): Promise<LocalSqsQueue> => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn! };
  };
  const visibility = String(options.visibilityTimeoutSeconds ?? 30);
  // Fourteen days: a dead letter should wait for someone to look at it.
  const dlq = await create(`${prefix}-dlq`, { MessageRetentionPeriod: '1209600' });
  const redrive = JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount });
  const high = await create(`${prefix}-high`, { VisibilityTimeout: visibility, RedrivePolicy: redrive });
  const normal = await create(`${prefix}-normal`, { VisibilityTimeout: visibility, RedrivePolicy: redrive });

  env.AWS_ENDPOINT_URL_SQS = endpoint;
  env[QUEUE_ENV.HIGH_URL] = high.url;
  env[QUEUE_ENV.NORMAL_URL] = normal.url;
  env[QUEUE_ENV.DLQ_URL] = dlq.url;
  env[QUEUE_ENV.MAX_RECEIVE_COUNT] = String(maxReceiveCount);
  env.AWS_REGION ??= 'us-east-1';
  // Emulators take any credentials; set dummies so the SDK never looks for real ones.
  env.AWS_ACCESS_KEY_ID ??= 'local';
  env.AWS_SECRET_ACCESS_KEY ??= 'local';

  return {
    endpoint: endpoint!,
    embedded,
    ...(listening === undefined ? {} : { listening }),
    sqs,
    queues: { high, normal, dlq },
    maxReceiveCount,
    close: async () => {
      sqs.destroy();
      await stop();
    },
  };
}
