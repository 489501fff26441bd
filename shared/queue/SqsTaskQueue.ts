import type { SQSClient } from '@aws-sdk/client-sqs';
import type { TaskMessage, TaskQueue } from '../tasks/TaskQueue';
import type { TaskPriority } from '../tasks/taskStatus';
import type { TaskQueueUrls } from './queueEnv';
import { encodeTaskMessage } from './taskMessage';

/**
 * Tasks onto SQS: one standard queue per priority, so high-priority work never waits behind
 * a normal backlog (each queue has its own event source and concurrency).
 */
export class SqsTaskQueue implements TaskQueue {
  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    private readonly queueUrls: TaskQueueUrls,
  ) {}

  async send(message: TaskMessage, priority: TaskPriority): Promise<void> {
    // Imported here, not at the top: the gateway loads the SQS SDK on its first task (lazySqsClient).
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrls[priority], MessageBody: encodeTaskMessage(message) }));
  }
}
