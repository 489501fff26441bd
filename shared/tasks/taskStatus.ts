/** A task's life: queued → running → succeeded | failed | dead_lettered, or queued → cancelled. */
export const TASK_STATUSES = {
  QUEUED: 'queued',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  DEAD_LETTERED: 'dead_lettered',
  CANCELLED: 'cancelled',
} as const;
export type TaskStatus = (typeof TASK_STATUSES)[keyof typeof TASK_STATUSES];

/**
 * Statuses a delivered message never runs again. `dead_lettered` is not among them: a message
 * redriven from the DLQ is an operator asking for another try.
 */
export const FINISHED_STATUSES: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export const TASK_PRIORITIES = { HIGH: 'high', NORMAL: 'normal' } as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[keyof typeof TASK_PRIORITIES];
