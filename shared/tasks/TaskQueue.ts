import type { TaskPriority } from './taskStatus';

/** What goes on the queue: only the task's address. The task itself stays in the table. */
export interface TaskMessage {
  tenant: string;
  taskId: string;
}

/** Where submitted tasks are handed to the workers. */
export interface TaskQueue {
  send(message: TaskMessage, priority: TaskPriority): Promise<void>;
}
