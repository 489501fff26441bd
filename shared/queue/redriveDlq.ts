import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEFERRALS_ATTRIBUTE } from './sqsRecord';

export interface RedriveDlqOptions {
  sqs: Pick<SQSClient, 'send'>;
  dlqUrl: string;
  /** Where the messages go; unset, SQS's move task returns each to the queue it came from. */
  targetUrl?: string;
  /**
   * `move_task`: SQS's StartMessageMoveTask (asynchronous, done by SQS).
   * `copy`: receive, send to the target, delete, until the DLQ is empty (emulators lack the move
   * task; needs `targetUrl`).
   * @default 'auto' — the move task, falling back to `copy` where the API is not supported
   */
  mode?: 'auto' | 'move_task' | 'copy';
  /** Messages in flight while copying. @default 30 */
  visibilityTimeoutSeconds?: number;
}

export type RedriveDlqResult =
  | { mode: 'move_task'; taskHandle: string }
  | { mode: 'copy'; moved: number };

/** The error names SQS and emulators answer an unknown action with. */
const UNSUPPORTED = new Set(['InvalidAction', 'UnsupportedOperation', 'UnknownOperationException', 'InvalidParameterValue']);

/**
 * Sends the DLQ's messages back to be worked on: `npx breakwater dlq redrive`. A redriven task
 * message finds its task `dead_lettered`, which the worker may claim again.
 */
export async function redriveDlq(options: RedriveDlqOptions): Promise<RedriveDlqResult> {
  const mode = options.mode ?? 'auto';
  if (mode !== 'copy') {
    try {
      return await startMoveTask(options);
    } catch (error) {
      if (mode === 'move_task' || !UNSUPPORTED.has((error as Error).name)) throw error;
    }
  }
  return copyMessages(options);
}

async function queueArn(sqs: RedriveDlqOptions['sqs'], url: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`no ARN for queue ${url}`);
  return arn;
}

async function startMoveTask(options: RedriveDlqOptions): Promise<RedriveDlqResult> {
  const SourceArn = await queueArn(options.sqs, options.dlqUrl);
  const DestinationArn = options.targetUrl === undefined ? undefined : await queueArn(options.sqs, options.targetUrl);
  const { TaskHandle } = await options.sqs.send(new StartMessageMoveTaskCommand({ SourceArn, DestinationArn }));
  return { mode: 'move_task', taskHandle: TaskHandle ?? '' };
}

/**
 * At least once: a message is deleted from the DLQ only after the target accepted it, so a
 * crash mid-way can duplicate a message but never lose one (the worker's claim absorbs
 * duplicates).
 */
async function copyMessages(options: RedriveDlqOptions): Promise<RedriveDlqResult> {
  const { sqs, dlqUrl, targetUrl } = options;
  if (targetUrl === undefined) throw new Error('copying a DLQ needs a target queue URL');
  let moved = 0;
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: options.visibilityTimeoutSeconds ?? 30,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return { mode: 'copy', moved };
    const entries = Messages.map((message, index) => {
      // A redriven message starts over: its deferrals no longer count.
      const { [DEFERRALS_ATTRIBUTE]: _deferrals, ...attributes } = message.MessageAttributes ?? {};
      return {
        Id: String(index),
        MessageBody: message.Body ?? '',
        ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
      };
    });
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: targetUrl, Entries: entries }));
    const ok = new Set((sent.Successful ?? []).map((entry) => entry.Id));
    const toDelete = Messages.flatMap((message, index) =>
      ok.has(String(index)) ? [{ Id: String(index), ReceiptHandle: message.ReceiptHandle! }] : [],
    );
    if (toDelete.length > 0) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: toDelete }));
    moved += toDelete.length;
    // Those the target refused stay in flight in the DLQ and return after the visibility timeout;
    // stop rather than spin on them.
    if (toDelete.length < Messages.length) {
      throw new Error(`the target refused ${Messages.length - toDelete.length} message(s); ${moved} moved so far`);
    }
  }
}
