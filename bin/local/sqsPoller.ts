import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { systemClock, type Clock } from '../../shared/resilience/clock';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | undefined>;

export interface SqsPollerOptions {
  sqs: Pick<SQSClient, 'send'>;
  /**
   * Queue URLs in priority order: a queue is polled only when every queue before it came back
   * empty, so a backlog on a later queue never delays an earlier one's messages by more than
   * the batches already running.
   */
  queues: readonly string[];
  handler: SqsHandler;
  /** Most records per invocation, like the event source's BatchSize. @default 10 */
  batchSize?: number;
  /**
   * How long to keep gathering records once some arrived, like MaximumBatchingWindowInSeconds.
   * @default 0 — invoke with whatever the first receive returned
   */
  batchWindowMs?: number;
  /** The visibility timeout each receive sets, as the event source uses the queue's. @default 30 */
  visibilityTimeoutSeconds?: number;
  /**
   * The invocation is abandoned after this (nothing deleted: its messages come back when their
   * visibility ends), like a Lambda timeout. The fake context's remaining time counts down to it.
   * @default 30_000
   */
  functionTimeoutMs?: number;
  /** Invocations at once, like the event source's concurrency. @default 2 */
  concurrency?: number;
  /** Pause after every queue came back empty. @default 50 */
  idlePollMs?: number;
  clock?: Clock;
  logger?: Pick<Logger, 'warn' | 'debug'>;
  /** After every invocation (tests, benchmarks). */
  onBatch?: (batch: PolledBatch) => void;
}

export interface PolledBatch {
  queueUrl: string;
  messageIds: string[];
  failedIds: string[];
  outcome: 'returned' | 'threw' | 'timed_out';
  durationMs: number;
}

export interface SqsPollerStats {
  batches: number;
  received: number;
  deleted: number;
  failed: number;
  timedOut: number;
}

export interface SqsPoller {
  readonly stats: SqsPollerStats;
  /** Stops polling and waits for the running invocations (each at most `functionTimeoutMs`). */
  stop(): Promise<void>;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Feeds a Lambda SQS handler the way the event source mapping does: receives with the
 * system attributes (ApproximateReceiveCount...), builds SQSEvent records, invokes the handler
 * with a context whose remaining time counts down, deletes the records not listed in
 * `batchItemFailures` and leaves those for redelivery. A handler that throws or times out
 * deletes nothing: the whole batch comes back, as on AWS.
 */
export async function startSqsPoller(options: SqsPollerOptions): Promise<SqsPoller> {
  const { sqs, handler } = options;
  const clock = options.clock ?? systemClock;
  const batchSize = options.batchSize ?? 10;
  const batchWindowMs = options.batchWindowMs ?? 0;
  const visibilityTimeout = options.visibilityTimeoutSeconds ?? 30;
  const functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
  const idlePollMs = options.idlePollMs ?? 50;
  const stats: SqsPollerStats = { batches: 0, received: 0, deleted: 0, failed: 0, timedOut: 0 };
  const stopping = new AbortController();

  const arns = new Map<string, string>();
  for (const url of options.queues) {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    arns.set(url, Attributes?.QueueArn ?? `arn:aws:sqs:local:000000000000:${url.slice(url.lastIndexOf('/') + 1)}`);
  }

  const receive = async (queueUrl: string, max: number): Promise<Message[]> => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: 0,
        VisibilityTimeout: visibilityTimeout,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return Messages;
  };

  const collect = async (queueUrl: string): Promise<Message[]> => {
    const messages = await receive(queueUrl, batchSize);
    if (messages.length === 0 || batchWindowMs <= 0) return messages;
    const until = clock.now() + batchWindowMs;
    while (messages.length < batchSize && clock.now() < until && !stopping.signal.aborted) {
      const more = await receive(queueUrl, batchSize - messages.length);
      messages.push(...more);
      if (more.length === 0) await pause(Math.min(idlePollMs, until - clock.now()));
    }
    return messages;
  };

  const pause = async (ms: number) => {
    if (ms <= 0) return;
    await clock.sleep(ms, stopping.signal).catch(() => undefined);
  };

  const invoke = async (queueUrl: string, messages: Message[]) => {
    const started = clock.now();
    const deadline = started + functionTimeoutMs;
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, arns.get(queueUrl)!)) };
    const ids = event.Records.map((record) => record.messageId);
    let timer: NodeJS.Timeout | undefined;
    let outcome: PolledBatch['outcome'] = 'returned';
    let failedIds: string[] = ids;
    try {
      const result = await Promise.race([
        handler(event, fakeContext(deadline, clock)),
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMED_OUT), functionTimeoutMs);
        }),
      ]);
      if (result === TIMED_OUT) {
        outcome = 'timed_out';
        stats.timedOut++;
        options.logger?.warn('worker invocation timed out; its messages come back after their visibility timeout', { queue: queueUrl });
      } else {
        failedIds = failuresOf(result, ids);
      }
    } catch (error) {
      outcome = 'threw';
      options.logger?.warn('worker invocation failed; the whole batch comes back', { queue: queueUrl, error_name: (error as Error).name });
    } finally {
      clearTimeout(timer);
    }

    const failed = new Set(failedIds);
    const done = messages.filter((message) => !failed.has(message.MessageId!));
    for (let index = 0; index < done.length; index += 10) {
      const chunk = done.slice(index, index + 10);
      await sqs
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((message, position) => ({ Id: String(position), ReceiptHandle: message.ReceiptHandle! })),
          }),
        )
        .catch((error: Error) => options.logger?.warn('delete failed; the messages will be redelivered', { error_name: error.name }));
    }
    stats.batches++;
    stats.received += messages.length;
    stats.deleted += done.length;
    stats.failed += failed.size;
    options.onBatch?.({ queueUrl, messageIds: ids, failedIds: [...failed], outcome, durationMs: clock.now() - started });
  };

  const lane = async () => {
    while (!stopping.signal.aborted) {
      let served = false;
      try {
        for (const queueUrl of options.queues) {
          const messages = await collect(queueUrl);
          if (messages.length === 0) continue;
          await invoke(queueUrl, messages);
          served = true;
          break;
        }
      } catch (error) {
        options.logger?.warn('poll failed', { error_name: (error as Error).name });
      }
      if (!served) await pause(idlePollMs);
    }
  };

  const lanes = Array.from({ length: Math.max(1, options.concurrency ?? 2) }, lane);
  return {
    stats,
    stop: async () => {
      stopping.abort();
      await Promise.all(lanes);
    },
  };
}

/**
 * `batchItemFailures` as Lambda reads it: none (or no response) means all succeeded; an id
 * that is not in the batch fails the whole batch.
 */
function failuresOf(response: SQSBatchResponse | void | undefined, ids: readonly string[]): string[] {
  const failures = response?.batchItemFailures ?? [];
  const known = new Set(ids);
  if (failures.some((failure) => !known.has(failure.itemIdentifier))) return [...ids];
  return failures.map((failure) => failure.itemIdentifier);
}

/** A received message as the event source mapping hands it to the function. */
export function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '0',
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '0',
    },
    messageAttributes: toLambdaAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}

function toLambdaAttributes(attributes: Message['MessageAttributes']): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    out[name] = {
      dataType: value.DataType ?? 'String',
      stringValue: value.StringValue,
      binaryValue: value.BinaryValue === undefined ? undefined : Buffer.from(value.BinaryValue).toString('base64'),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return out;
}

function fakeContext(deadline: number, clock: Clock): Context {
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'breakwater-worker-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:breakwater-worker-local',
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: '/aws/lambda/breakwater-worker-local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - clock.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
