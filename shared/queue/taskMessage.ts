import * as z from 'zod';
import type { TaskMessage } from '../tasks/TaskQueue';

const taskMessageSchema = z.strictObject({
  tenant: z.string().min(1).max(256),
  taskId: z.string().regex(/^task_[0-9a-f]{32}$/),
});

export function encodeTaskMessage(message: TaskMessage): string {
  return JSON.stringify({ tenant: message.tenant, taskId: message.taskId });
}

/** The message, or `undefined` when the body is not one of ours (a poison message). */
export function parseTaskMessage(body: string): TaskMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = taskMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
