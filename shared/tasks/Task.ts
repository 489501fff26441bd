import type { ChatCompletionRequest } from '../gateway/requestSchemas';
import type { KeyPolicy } from '../keys/keyPolicy';
import type { TaskPriority, TaskStatus } from './taskStatus';

/** Why a task failed (or last failed, while it waits for a retry): the gateway's error code. */
export interface TaskError {
  code: string;
  message: string;
}

/** Identifies a task; every store operation is scoped to the tenant that submitted it. */
export interface TaskRef {
  tenant: string;
  id: string;
}

/** A task as stored. Times are epoch milliseconds, except `expiresAt` (epoch seconds, for TTL). */
export interface Task extends TaskRef {
  status: TaskStatus;
  priority: TaskPriority;
  request: ChatCompletionRequest;
  /**
   * The route the submit named (`x-breakwater-route`, checked against the key's routes then);
   * unset, the task runs on its tenant's route as configured when it runs.
   */
  route?: string;
  callbackUrl?: string;
  metadata?: Record<string, unknown>;
  /** The submitting key's public prefix, for audit; never the key itself. */
  keyPrefix?: string;
  /** The submitting key's id (its hash), so the worker counts the task against the key's limits. */
  keyId?: string;
  /** The submitting key's own policy when the task was accepted: the worker has no key store. */
  keyPolicy?: KeyPolicy;
  /** SHA-256 of the canonical submission: tells a retried submit from a reused Idempotency-Key. */
  submissionHash: string;
  /** Claims taken so far (each is one run of the request). */
  attempts: number;
  createdAt: number;
  updatedAt: number;
  /** When the message was handed to the queue; unset means the submit crashed before it. */
  enqueuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  /** The worker invocation holding the claim while `running`, and until when. */
  leaseOwner?: string;
  leaseUntil?: number;
  /** The chat completion body, once succeeded. */
  result?: unknown;
  /** Set when failed or dead-lettered. */
  error?: TaskError;
  /** The most recent transient failure, kept while the task waits for its next try. */
  lastError?: TaskError;
  costUsd?: number;
  expiresAt: number;
}

/** What `GET /v1/tasks/{id}` returns: snake_case, times in epoch seconds like OpenAI's objects. */
export interface TaskView {
  id: string;
  object: 'breakwater.task';
  status: TaskStatus;
  priority: TaskPriority;
  /** The route named at submit; null for the tenant's own. */
  route: string | null;
  attempts: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: unknown;
  error: TaskError | null;
  last_error: TaskError | null;
  cost_usd: number | null;
  callback_url: string | null;
  metadata: Record<string, unknown> | null;
}

const seconds = (ms: number | undefined): number | null => (ms === undefined ? null : Math.floor(ms / 1000));

export function toTaskView(task: Task): TaskView {
  return {
    id: task.id,
    object: 'breakwater.task',
    status: task.status,
    priority: task.priority,
    route: task.route ?? null,
    attempts: task.attempts,
    created_at: Math.floor(task.createdAt / 1000),
    updated_at: Math.floor(task.updatedAt / 1000),
    started_at: seconds(task.startedAt),
    finished_at: seconds(task.finishedAt),
    result: task.result ?? null,
    error: task.error ?? null,
    last_error: task.lastError ?? null,
    cost_usd: task.costUsd ?? null,
    callback_url: task.callbackUrl ?? null,
    metadata: task.metadata ?? null,
  };
}
