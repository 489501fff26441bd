import type { Logger } from '@aws-lambda-powertools/logger';
import type { Clock } from '../resilience/clock';
import type { Task } from './Task';
import type { TaskQueue } from './TaskQueue';
import type { TaskStore } from './TaskStore';

/**
 * How long a task may sit `queued` since its last send before its message is taken as lost.
 * A minute is far past a send's round trip and the poller's wait, and short enough that a lost
 * message costs a client one minute, not forever. A re-send is harmless even when the message
 * was only slow: the worker's claim is one conditional write, so a duplicate finds the task
 * claimed (or finished) and is dropped.
 */
export const STALE_QUEUED_AFTER_MS = 60_000;

/**
 * Whether a task's message may be lost: `queued` and never sent (`enqueuedAt` unset: the send
 * failed or the submitter crashed), or sent longer than `staleAfterMs` ago and never claimed
 * since; or `running` on a claim whose lease ended longer than `staleAfterMs` ago (and not sent
 * since), so its worker is gone and its message may have gone too (a queue that lost it). A
 * live worker never outlives its lease (the lease outlasts its invocation), so re-sending such a
 * task cannot run it twice at once; the claim takes the expired lease over.
 * A task handed back to `queued` after a failed attempt (`attempts > 0`) is not: SQS holds its
 * message through the redelivery delay, which may be hours by design.
 */
export function mayHaveLostMessage(task: Task, now: number, staleAfterMs: number = STALE_QUEUED_AFTER_MS): boolean {
  if (task.status === 'running') {
    return task.leaseUntil !== undefined && now - Math.max(task.leaseUntil, task.enqueuedAt ?? 0) > staleAfterMs;
  }
  if (task.status !== 'queued') return false;
  if (task.enqueuedAt === undefined) return true;
  return task.attempts === 0 && now - task.enqueuedAt > staleAfterMs;
}

export interface SweepStaleTasksOptions {
  store: Pick<TaskStore, 'listStaleQueued' | 'markEnqueued'>;
  queue: TaskQueue;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** @default {@link STALE_QUEUED_AFTER_MS} */
  staleAfterMs?: number;
  /** Tasks re-sent per sweep, so one sweep is bounded in time. @default 100 */
  limit?: number;
}

export interface SweepResult {
  resent: number;
  failed: number;
}

/**
 * Re-sends the message of every task queued longer than `staleAfterMs` and never claimed
 * (see {@link mayHaveLostMessage}), recording the send so the next sweep leaves it for another
 * `staleAfterMs`. Run by a timer locally (`npm start`); on AWS it is meant for a scheduled
 * function (an EventBridge rule), which is not wired yet.
 */
export async function sweepStaleTasks(options: SweepStaleTasksOptions): Promise<SweepResult> {
  const { store, queue, clock, logger } = options;
  const now = clock.now();
  const stale = await store.listStaleQueued(now - (options.staleAfterMs ?? STALE_QUEUED_AFTER_MS), options.limit ?? 100);
  const result: SweepResult = { resent: 0, failed: 0 };
  for (const task of stale) {
    try {
      await queue.send({ tenant: task.tenant, taskId: task.id }, task.priority);
      await store.markEnqueued(task, clock.now());
      result.resent += 1;
    } catch (error) {
      result.failed += 1;
      logger.warn('stale task not re-sent', { task_id: task.id, error_name: (error as Error).name });
    }
  }
  if (stale.length > 0) logger.info('stale queued tasks re-sent', { ...result });
  return result;
}
