import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../shared/queue/queueEnv.js';

/**
 * Receives before a message moves to its dead-letter queue (and its task is `dead_lettered`);
 * the worker reads the same number from BREAKWATER_QUEUE_MAX_RECEIVE_COUNT.
 */
export const MAX_RECEIVE_COUNT = DEFAULT_MAX_RECEIVE_COUNT;
/**
 * AWS's guidance for a queue feeding Lambda: a visibility timeout of at least six times the
 * function's timeout, so a message is not handed to a second worker while the first (with
 * Lambda's own retries on throttling) may still be on it.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** SQS's ceiling on a visibility timeout. */
const MAX_VISIBILITY_TIMEOUT = Duration.hours(12);

export interface TaskQueuesProps {
  /** The worker function's timeout; sets the queues' visibility timeout. */
  readonly workerTimeout: Duration;
  /** How long an unprocessed task may wait. Default: 4 days (SQS's default) */
  readonly retentionPeriod?: Duration;
}

export interface PriorityQueue {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
}

/**
 * One queue per priority, each with its own dead-letter queue, so a backlog of normal work
 * never delays high-priority tasks and a redrive can target one priority.
 * Every queue is encrypted with SQS-managed keys and refuses requests that are not over TLS.
 */
export class TaskQueues extends Construct {
  readonly high: PriorityQueue;
  readonly normal: PriorityQueue;
  readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: TaskQueuesProps) {
    super(scope, id);
    const visibilitySeconds = props.workerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR;
    if (visibilitySeconds > MAX_VISIBILITY_TIMEOUT.toSeconds()) {
      throw new Error(
        `worker timeout ${props.workerTimeout.toHumanString()} needs a visibility timeout of ${visibilitySeconds} s, over SQS's 12 h limit`,
      );
    }
    this.visibilityTimeout = Duration.seconds(visibilitySeconds);
    const retentionPeriod = props.retentionPeriod ?? Duration.days(4);
    this.high = this.priorityQueue('High', retentionPeriod);
    this.normal = this.priorityQueue('Normal', retentionPeriod);
  }

  /** Both main queues, high first. */
  get queues(): readonly Queue[] {
    return [this.high.queue, this.normal.queue];
  }

  private priorityQueue(name: string, retentionPeriod: Duration): PriorityQueue {
    const deadLetterQueue = new Queue(this, `${name}DeadLetterQueue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // A standard queue's DLQ keeps a message's original enqueue time: 14 days (the maximum)
      // leaves time to look at dead letters and redrive them, well past the source's retention.
      retentionPeriod: Duration.days(14),
    });
    const queue = new Queue(this, `${name}Queue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    return { queue, deadLetterQueue };
  }
}
