import type { Task } from '../../shared/tasks';

let counter = 0;

/** A queued task of tenant `acme` as submit writes it, with a fresh id; `overrides` win. */
export function queuedTask(now: number, overrides: Partial<Task> = {}): Task {
  return {
    id: `task_${(++counter).toString(16).padStart(32, 'f')}`,
    tenant: 'acme',
    status: 'queued',
    priority: 'normal',
    request: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    submissionHash: 'h',
    attempts: 0,
    createdAt: now,
    updatedAt: now,
    expiresAt: Math.floor(now / 1000) + 3600,
    ...overrides,
  };
}
