import type { Logger } from '@aws-lambda-powertools/logger';
import { createHash } from 'node:crypto';
import { canonicalJson } from '../cache/cacheKey';
import { GatewayError } from '../errors';
import type { KeyPolicy } from '../keys/keyPolicy';
import type { Clock } from '../resilience/clock';
import type { Task, TaskView } from './Task';
import { toTaskView } from './Task';
import { reachingStore, taskNotCancellable, taskNotFound, taskQueueUnavailable, taskStoreUnavailable } from './taskErrors';
import { isTaskId, randomTaskId, taskIdFor } from './taskId';
import type { TaskQueue } from './TaskQueue';
import type { TaskStore } from './TaskStore';
import type { TaskStatus } from './taskStatus';
import { mayHaveLostMessage, STALE_QUEUED_AFTER_MS } from './sweepStaleTasks';
import { parseTaskSubmission } from './taskSubmission';

export interface TaskServiceOptions {
  store: TaskStore;
  queue: TaskQueue;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  /**
   * How long a task (and its result) is kept after submission.
   * @default 7 days — longer than SQS keeps a message (4 days by default), so a task outlives its message
   */
  retentionSeconds?: number;
  /** @default {@link randomTaskId} */
  newId?: () => string;
  /**
   * A resubmit (same Idempotency-Key) re-sends a task queued and unclaimed this long since its
   * last send, its message taken as lost. @default {@link STALE_QUEUED_AFTER_MS}
   */
  staleQueuedAfterMs?: number;
}

export interface SubmitTaskInput {
  /** The authenticated tenant's name. */
  tenant: string;
  /** The submitting key's public prefix, kept for audit. */
  keyPrefix?: string;
  /** The submitting key's id and own policy, so the worker applies the key's limits and caps. */
  keyId?: string;
  keyPolicy?: KeyPolicy;
  /** The parsed JSON body of `POST /v1/tasks`, validated here. */
  body: unknown;
  /** The route `x-breakwater-route` named, already checked against the key's routes; unset: the tenant's. */
  route?: string;
  /** The `Idempotency-Key` header, already parsed; the same key names the same task. */
  idempotencyKey?: string;
}

/** A page of `GET /v1/tasks`. */
export interface TaskList {
  object: 'list';
  data: TaskView[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

const DEFAULT_LIST_LIMIT = 20;
const MAX_LIST_LIMIT = 100;

export interface SubmittedTask {
  id: string;
  status: TaskStatus;
  /** False when the Idempotency-Key named a task submitted before: nothing new was enqueued. */
  created: boolean;
}

/**
 * The task API behind `POST /v1/tasks`, `GET /v1/tasks/{id}` and `DELETE /v1/tasks/{id}`.
 * A submit is stored first, then enqueued: a crash between the two leaves a stored task with
 * no message, which the client's retry (same Idempotency-Key) or `sweepStaleTasks`
 * enqueues; it never leaves a message without its task. A retry that races the first submit's send may enqueue a second
 * message for the task; the worker's claim runs it once all the same.
 */
export class TaskService {
  private readonly retentionSeconds: number;
  private readonly newId: () => string;
  private readonly staleQueuedAfterMs: number;

  constructor(private readonly options: TaskServiceOptions) {
    this.retentionSeconds = options.retentionSeconds ?? 7 * 86_400;
    this.newId = options.newId ?? randomTaskId;
    this.staleQueuedAfterMs = options.staleQueuedAfterMs ?? STALE_QUEUED_AFTER_MS;
  }

  /**
   * @throws GatewayError `invalid_request` / `streaming_unsupported` / `payload_too_large` for a
   * bad body (nothing stored), `idempotency_key_reused` for a key reused with another body, and
   * `task_queue_unavailable` (503) when the queue refused it (retry with the same key).
   */
  async submit(input: SubmitTaskInput): Promise<SubmittedTask> {
    const submission = parseTaskSubmission(input.body);
    const now = this.options.clock.now();
    const id = input.idempotencyKey === undefined ? this.newId() : taskIdFor(input.tenant, input.idempotencyKey);
    const task: Task = {
      id,
      tenant: input.tenant,
      status: 'queued',
      priority: submission.priority,
      request: submission.request,
      ...(input.route === undefined ? {} : { route: input.route }),
      callbackUrl: submission.callback_url,
      metadata: submission.metadata,
      keyPrefix: input.keyPrefix,
      keyId: input.keyId,
      keyPolicy: input.keyPolicy,
      // The route is part of what was asked: the same key with another route is another task.
      submissionHash: createHash('sha256')
        .update(canonicalJson(input.route === undefined ? submission : { ...submission, route: input.route }))
        .digest('hex'),
      attempts: 0,
      createdAt: now,
      updatedAt: now,
      expiresAt: Math.floor(now / 1000) + this.retentionSeconds,
    };

    const existing = await this.options.store.create(task).catch((error: unknown) => {
      this.options.logger.warn('task not stored', { task_id: id, error_name: (error as Error).name });
      throw taskStoreUnavailable(error);
    });
    if (!existing) {
      await this.enqueue(task);
      this.options.logger.info('task submitted', { task_id: id, tenant: input.tenant, priority: task.priority });
      return { id, status: 'queued', created: true };
    }
    if (input.idempotencyKey === undefined) {
      throw new GatewayError('internal_error', 'task id collision; submit again');
    }
    if (existing.submissionHash !== task.submissionHash) {
      throw new GatewayError('idempotency_key_reused', 'this Idempotency-Key was used with a different task body', {
        details: { param: 'Idempotency-Key' },
      });
    }
    // The first submit stored the task but crashed (or the queue failed) before enqueuing it, or
    // its message has sat unclaimed so long it may be lost: send it (again). A duplicate message
    // is harmless, the worker's conditional claim runs the task once.
    if (mayHaveLostMessage(existing, now, this.staleQueuedAfterMs)) await this.enqueue(existing);
    return { id, status: existing.status, created: false };
  }

  /**
   * `GET /v1/tasks`: the tenant's tasks, newest first, `limit` a page (1 to 100, 20 by default),
   * `after` the previous page's `last_id`. OpenAI's list shape (`data`, `first_id`, `last_id`,
   * `has_more`).
   * @throws GatewayError `invalid_request` for a bad limit, or an `after` that names no task of the tenant's
   */
  async list(tenant: string, query: { limit?: string; after?: string }): Promise<TaskList> {
    // Decimal digits only: Number() would also take '0x10', '1e1' and ' 16 '.
    const limit = query.limit === undefined ? DEFAULT_LIST_LIMIT : /^\d{1,4}$/.test(query.limit) ? Number(query.limit) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new GatewayError('invalid_request', `limit must be an integer from 1 to ${MAX_LIST_LIMIT}`, { details: { param: 'limit' } });
    }
    let after: Task | undefined;
    if (query.after !== undefined) {
      after = isTaskId(query.after) ? await reachingStore(this.options.store.get({ tenant, id: query.after })) : undefined;
      if (!after) throw new GatewayError('invalid_request', `after: no task ${JSON.stringify(query.after)} (ids are a page's last_id)`, { details: { param: 'after' } });
    }
    const { tasks, hasMore } = await reachingStore(this.options.store.list(tenant, { limit, after }));
    const data = tasks.map(toTaskView);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
  }

  /** @throws GatewayError `task_not_found` (404), also for another tenant's id */
  async get(tenant: string, id: string): Promise<TaskView> {
    return toTaskView(await this.load(tenant, id));
  }

  /**
   * Cancels a task that has not started; a running or finished task is a 409.
   * @returns the cancelled task
   */
  async cancel(tenant: string, id: string): Promise<TaskView> {
    if (!isTaskId(id)) throw taskNotFound(id);
    const now = this.options.clock.now();
    if (!(await reachingStore(this.options.store.cancel({ tenant, id }, now)))) {
      const current = await this.load(tenant, id);
      throw taskNotCancellable(id, current.status);
    }
    this.options.logger.info('task cancelled', { task_id: id, tenant });
    return toTaskView(await this.load(tenant, id));
  }

  private async load(tenant: string, id: string): Promise<Task> {
    const task = isTaskId(id) ? await reachingStore(this.options.store.get({ tenant, id })) : undefined;
    if (!task) throw taskNotFound(id);
    return task;
  }

  private async enqueue(task: Task): Promise<void> {
    try {
      await this.options.queue.send({ tenant: task.tenant, taskId: task.id }, task.priority);
    } catch (error) {
      this.options.logger.warn('task not enqueued', { task_id: task.id, error_name: (error as Error).name });
      throw taskQueueUnavailable(error);
    }
    try {
      await this.options.store.markEnqueued(task, this.options.clock.now());
    } catch (error) {
      // The message is on the queue; a later retry with the same key would only add a duplicate,
      // which the worker's claim absorbs.
      this.options.logger.warn('task enqueued but not marked', { task_id: task.id, error_name: (error as Error).name });
    }
  }
}
