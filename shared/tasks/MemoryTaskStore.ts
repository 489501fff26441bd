import type { Task, TaskRef } from './Task';
import type { TaskClaim, TaskPage, TaskSettlement, TaskStore } from './TaskStore';
import { taskKey } from './DynamoTaskStore';

/**
 * The {@link TaskStore} contract in one process's memory, with the same conditions as the
 * DynamoDB store: for unit tests of the worker and for experiments without a table.
 * Tasks are copied in and out, so a caller never holds the stored object.
 */
export class MemoryTaskStore implements TaskStore {
  private readonly tasks = new Map<string, Task>();

  async create(task: Task): Promise<Task | undefined> {
    const existing = this.tasks.get(taskKey(task));
    if (existing) return structuredClone(existing);
    this.tasks.set(taskKey(task), structuredClone(task));
    return undefined;
  }

  async get(ref: TaskRef): Promise<Task | undefined> {
    const task = this.tasks.get(taskKey(ref));
    return task && task.tenant === ref.tenant ? structuredClone(task) : undefined;
  }

  async markEnqueued(ref: TaskRef, at: number): Promise<void> {
    const task = this.tasks.get(taskKey(ref));
    if (task) task.enqueuedAt = at;
  }

  async listStaleQueued(sentBefore: number, limit: number): Promise<Task[]> {
    return [...this.tasks.values()]
      .filter(
        (task) =>
          (task.status === 'queued' && task.attempts === 0 && (task.enqueuedAt ?? task.createdAt) < sentBefore) ||
          (task.status === 'running' && (task.leaseUntil ?? Infinity) < sentBefore && (task.enqueuedAt ?? 0) < sentBefore),
      )
      .slice(0, limit)
      .map((task) => structuredClone(task));
  }

  async cancel(ref: TaskRef, at: number): Promise<boolean> {
    const task = this.tasks.get(taskKey(ref));
    if (task?.status !== 'queued') return false;
    Object.assign(task, { status: 'cancelled', updatedAt: at, finishedAt: at });
    return true;
  }

  async claim(ref: TaskRef, claim: TaskClaim): Promise<Task | undefined> {
    const task = this.tasks.get(taskKey(ref));
    if (!task) return undefined;
    const claimable =
      task.status === 'queued' ||
      task.status === 'dead_lettered' ||
      (task.status === 'running' && (task.leaseUntil ?? 0) < claim.at);
    if (!claimable) return undefined;
    Object.assign(task, {
      status: 'running',
      leaseOwner: claim.owner,
      leaseUntil: claim.leaseUntil,
      updatedAt: claim.at,
      startedAt: task.startedAt ?? claim.at,
      attempts: task.attempts + 1,
    });
    return structuredClone(task);
  }

  async list(tenant: string, page: TaskPage): Promise<{ tasks: Task[]; hasMore: boolean }> {
    const all = [...this.tasks.values()]
      .filter((task) => task.tenant === tenant)
      .sort((a, b) => b.createdAt - a.createdAt || taskKey(b).localeCompare(taskKey(a)));
    const from = page.after ? all.findIndex((task) => taskKey(task) === taskKey(page.after!)) + 1 : 0;
    const rest = all.slice(from);
    return { tasks: rest.slice(0, page.limit).map((task) => structuredClone(task)), hasMore: rest.length > page.limit };
  }

  async settle(ref: TaskRef, owner: string, settlement: TaskSettlement): Promise<boolean> {
    const task = this.tasks.get(taskKey(ref));
    if (task?.status !== 'running' || task.leaseOwner !== owner) return false;
    task.status = settlement.status;
    task.updatedAt = settlement.at;
    delete task.leaseOwner;
    delete task.leaseUntil;
    switch (settlement.status) {
      case 'succeeded':
        task.result = structuredClone(settlement.result);
        if (settlement.costUsd !== undefined) task.costUsd = settlement.costUsd;
        task.finishedAt = settlement.at;
        break;
      case 'failed':
      case 'dead_lettered':
        task.error = { ...settlement.error };
        task.finishedAt = settlement.at;
        break;
      case 'queued':
        task.lastError = { ...settlement.error };
        break;
    }
    return true;
  }
}
