import type { TaskPriority } from '../tasks/taskStatus';

/** Environment variables naming the task queues (set by the stack, or by `startLocalSqs`). */
export const QUEUE_ENV = {
  HIGH_URL: 'BREAKWATER_QUEUE_HIGH_URL',
  NORMAL_URL: 'BREAKWATER_QUEUE_NORMAL_URL',
  DLQ_URL: 'BREAKWATER_QUEUE_DLQ_URL',
  MAX_RECEIVE_COUNT: 'BREAKWATER_QUEUE_MAX_RECEIVE_COUNT',
} as const;

/** Receives before SQS moves a message to the DLQ; the stack's redrive policy uses the same number. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

export type TaskQueueUrls = Record<TaskPriority, string>;

/** @throws Error naming the missing variable: a worker without its queues must fail at cold start. */
export function taskQueueUrlsFromEnv(env: NodeJS.ProcessEnv = process.env): TaskQueueUrls {
  const read = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  return { high: read(QUEUE_ENV.HIGH_URL), normal: read(QUEUE_ENV.NORMAL_URL) };
}

export function maxReceiveCountFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[QUEUE_ENV.MAX_RECEIVE_COUNT];
  if (raw === undefined || raw === '') return DEFAULT_MAX_RECEIVE_COUNT;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw new Error(`${QUEUE_ENV.MAX_RECEIVE_COUNT} must be an integer from 1 to 1000, not "${raw}"`);
  }
  return value;
}
