import type { SQSClient } from '@aws-sdk/client-sqs';
import type { RedriveDlqResult } from '../queue/redriveDlq';

export interface DeadLettersOptions {
  sqs: Pick<SQSClient, 'send'>;
  /** The dead-letter queues (one locally, one per priority on AWS). */
  dlqUrls: readonly string[];
  /**
   * Where a copy redrive sends messages when SQS's move task is missing (an emulator). On AWS the
   * move task returns each message to the queue it came from and this is not used.
   */
  redriveTo?: string;
}

/** A DLQ's depth: messages waiting, and those received but not deleted yet. */
export interface DlqDepth {
  url: string;
  visible: number;
  inFlight: number;
}

/** The task DLQs as the console sees them: depth (GetQueueAttributes) and redrive (shared/queue's). */
export class DeadLetters {
  constructor(private readonly options: DeadLettersOptions) {}

  async depth(): Promise<DlqDepth[]> {
    // The SQS SDK is loaded on the console's first read, not in every gateway's cold start.
    const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
    return Promise.all(
      this.options.dlqUrls.map(async (url) => {
        const { Attributes = {} } = await this.options.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        return { url, visible: Number(Attributes.ApproximateNumberOfMessages ?? 0), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) };
      }),
    );
  }

  async redrive(): Promise<Array<{ url: string } & RedriveDlqResult>> {
    const { redriveDlq } = await import('../queue/redriveDlq');
    const results = [];
    for (const url of this.options.dlqUrls) {
      results.push({ url, ...(await redriveDlq({ sqs: this.options.sqs, dlqUrl: url, targetUrl: this.options.redriveTo })) });
    }
    return results;
  }
}
