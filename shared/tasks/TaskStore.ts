import type { Task, TaskError, TaskRef } from './Task';

/** A worker's claim on a task: who holds it and until when (epoch ms). */
export interface TaskClaim {
  owner: string;
  at: number;
  leaseUntil: number;
}

/** How a claim ends. `queued` hands the task back for another try, keeping the error as `lastError`. */
export type TaskSettlement =
  | { status: 'succeeded'; at: number; result: unknown; costUsd?: number }
  | { status: 'failed' | 'dead_lettered'; at: number; error: TaskError }
  | { status: 'queued'; at: number; error: TaskError };

/**
 * Where tasks live. Every state change is one conditional write, so concurrent workers (a
 * duplicate SQS delivery, a redelivery racing a slow first run) agree on one owner.
 */
export interface TaskStore {
  /** Stores a new task unless its id is taken; then returns the task already there. */
  create(task: Task): Promise<Task | undefined>;
  /** A strongly consistent read; `undefined` when the tenant has no such task. */
  get(ref: TaskRef): Promise<Task | undefined>;
  markEnqueued(ref: TaskRef, at: number): Promise<void>;
  /**
   * Up to `limit` tasks, of any tenant, still `queued` and never claimed, whose message was never
   * sent or last sent before `sentBefore` (epoch ms), or `running` on a lease that ended before
   * `sentBefore` and not sent since: the candidates for a lost message.
   */
  listStaleQueued(sentBefore: number, limit: number): Promise<Task[]>;
  /** queued → cancelled; false when the task is missing or past queued. */
  cancel(ref: TaskRef, at: number): Promise<boolean>;
  /**
   * queued | dead_lettered | running-with-an-expired-lease → running, held by `claim.owner`.
   * @returns the claimed task, or `undefined` when it is missing, finished, or someone else
   * holds a live claim (read it to tell which)
   */
  claim(ref: TaskRef, claim: TaskClaim): Promise<Task | undefined>;
  /** Ends the claim; false (and nothing written) when `owner` no longer holds it. */
  settle(ref: TaskRef, owner: string, settlement: TaskSettlement): Promise<boolean>;
  /**
   * The tenant's tasks, newest first: up to `limit`, starting after the task `after` (a page's
   * last). Eventually consistent: a task submitted a moment ago may not be listed yet.
   */
  list(tenant: string, page: TaskPage): Promise<{ tasks: Task[]; hasMore: boolean }>;
}

/** One page of a tenant's task list. */
export interface TaskPage {
  limit: number;
  /** The previous page's last task; the page starts after it. */
  after?: Task;
}
