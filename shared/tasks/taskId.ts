import { createHash, randomBytes } from 'node:crypto';

const TASK_ID = /^task_[0-9a-f]{32}$/;

/**
 * The id of the task a (tenant, Idempotency-Key) pair names. Derived, not looked up: the
 * conditional put on this id is what makes a retried submit land on the same task.
 */
export function taskIdFor(tenant: string, idempotencyKey: string): string {
  // JSON of the pair, so no choice of separator lets ("a#", "b") and ("a", "#b") collide.
  return `task_${createHash('sha256').update(JSON.stringify([tenant, idempotencyKey])).digest('hex').slice(0, 32)}`;
}

/** A fresh id (128 random bits) for a submit without an Idempotency-Key. */
export function randomTaskId(): string {
  return `task_${randomBytes(16).toString('hex')}`;
}

/** Anything else in a URL path is a task that cannot exist: answered 404 without a read. */
export const isTaskId = (value: string): boolean => TASK_ID.test(value);
