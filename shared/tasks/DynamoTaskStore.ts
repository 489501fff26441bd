import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type PutCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../stores/dynamo/tables';
import type { Task, TaskError, TaskRef } from './Task';
import type { TaskClaim, TaskPage, TaskSettlement, TaskStore } from './TaskStore';

const PK = TABLES.tasks.partitionKey;
/** The index that lists a tenant's tasks by creation time (tables.ts). */
const BY_TENANT = TABLES.tasks.indexes[0];

/** `task#<tenant>#<id>`; the tenant URI-encoded so a `#` in its name cannot reach another's tasks. */
export const taskKey = (ref: TaskRef): string => `task#${encodeURIComponent(ref.tenant)}#${ref.id}`;

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as Error | undefined)?.name === 'ConditionalCheckFailedException';

/**
 * Tasks in the tasks table, one item each. The request, metadata and result are stored as JSON
 * strings: DynamoDB's number and empty-value rules would otherwise alter what the client sent.
 * Every transition is one UpdateItem under a condition (no transactions: dynalite lacks them).
 */
export class DynamoTaskStore implements TaskStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(task: Task): Promise<Task | undefined> {
    try {
      await this.doc.send(new PutCommand(createTaskPut(this.tableName, task)));
      return undefined;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.get(task);
    // Deleted (TTL) between the failed put and the read: vanishingly rare; the caller retries.
    if (!existing) throw new Error(`task ${task.id} exists but could not be read`);
    return existing;
  }

  async get(ref: TaskRef): Promise<Task | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { [PK]: taskKey(ref) }, ConsistentRead: true }),
    );
    // The tenant is part of the key, but check it too: a key is cheap to get wrong in a refactor.
    if (!Item || Item.tenant !== ref.tenant) return undefined;
    return taskFromItem(Item);
  }

  async markEnqueued(ref: TaskRef, at: number): Promise<void> {
    await this.conditional({
      TableName: this.tableName,
      Key: { [PK]: taskKey(ref) },
      UpdateExpression: 'SET #enqueued_at = :at',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PK, '#enqueued_at': 'enqueued_at' },
      ExpressionAttributeValues: { ':at': at },
    });
  }

  /**
   * A filtered scan, page by page, until `limit` tasks or the table's end. A scan reads the whole
   * table, which is fine for a sweep once a minute over a table that TTL keeps to a week of
   * tasks; a busier table wants a sparse index on never-sent tasks instead.
   */
  async listStaleQueued(sentBefore: number, limit: number): Promise<Task[]> {
    const tasks: Task[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression:
            '(#status = :queued AND #attempts = :zero AND (#enqueued_at < :before OR (attribute_not_exists(#enqueued_at) AND #created_at < :before))) OR ' +
            '(#status = :running AND #lease_until < :before AND (attribute_not_exists(#enqueued_at) OR #enqueued_at < :before))',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#attempts': 'attempts',
            '#enqueued_at': 'enqueued_at',
            '#created_at': 'created_at',
            '#lease_until': 'lease_until',
          },
          ExpressionAttributeValues: { ':queued': 'queued', ':running': 'running', ':zero': 0, ':before': sentBefore },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) if (tasks.length < limit) tasks.push(taskFromItem(item));
      start = page.LastEvaluatedKey;
    } while (start !== undefined && tasks.length < limit);
    return tasks;
  }

  cancel(ref: TaskRef, at: number): Promise<boolean> {
    return this.conditional(cancelTaskUpdate(this.tableName, ref, at));
  }

  /** One write, no read: the claimed task comes back from the update itself. */
  async claim(ref: TaskRef, claim: TaskClaim): Promise<Task | undefined> {
    try {
      const { Attributes } = await this.doc.send(new UpdateCommand(claimTaskUpdate(this.tableName, ref, claim)));
      return Attributes && Attributes.tenant === ref.tenant ? taskFromItem(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  settle(ref: TaskRef, owner: string, settlement: TaskSettlement): Promise<boolean> {
    return this.conditional(settleTaskUpdate(this.tableName, ref, owner, settlement));
  }

  /**
   * A query of the `by-tenant` index, newest first, one more than the page to tell whether
   * more follow. A page may stop short of `limit` at DynamoDB's 1 MB per query: it goes on.
   */
  async list(tenant: string, page: TaskPage): Promise<{ tasks: Task[]; hasMore: boolean }> {
    const tasks: Task[] = [];
    let start: Record<string, unknown> | undefined = page.after
      ? { [PK]: taskKey(page.after), [BY_TENANT.partitionKey]: page.after.tenant, [BY_TENANT.sortKey.name]: page.after.createdAt }
      : undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BY_TENANT.name,
          KeyConditionExpression: '#tenant = :tenant',
          ExpressionAttributeNames: { '#tenant': BY_TENANT.partitionKey },
          ExpressionAttributeValues: { ':tenant': tenant },
          ScanIndexForward: false,
          Limit: page.limit + 1 - tasks.length,
          ExclusiveStartKey: start,
        }),
      );
      tasks.push(...Items.filter((item) => item.tenant === tenant).map(taskFromItem));
      start = LastEvaluatedKey;
    } while (start && tasks.length <= page.limit);
    return { tasks: tasks.slice(0, page.limit), hasMore: tasks.length > page.limit };
  }

  private async conditional(input: UpdateCommandInput): Promise<boolean> {
    try {
      await this.doc.send(new UpdateCommand(input));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/** The PutItem that creates a task: refused when the id (derived from the Idempotency-Key) is taken. */
export function createTaskPut(tableName: string, task: Task): PutCommandInput {
  return {
    TableName: tableName,
    Item: taskToItem(task),
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': PK },
  };
}

export function cancelTaskUpdate(tableName: string, ref: TaskRef, at: number): UpdateCommandInput {
  return {
    TableName: tableName,
    Key: { [PK]: taskKey(ref) },
    UpdateExpression: 'SET #status = :cancelled, #updated_at = :at, #finished_at = :at',
    ConditionExpression: '#status = :queued',
    ExpressionAttributeNames: { '#status': 'status', '#updated_at': 'updated_at', '#finished_at': 'finished_at' },
    ExpressionAttributeValues: { ':cancelled': 'cancelled', ':queued': 'queued', ':at': at },
  };
}

/**
 * The claim: the one write that decides which delivery runs the task. A live lease blocks every
 * other delivery; an expired one (its worker died) is taken over. A missing item fails the
 * condition too (no status), so a claim never creates a task.
 */
export function claimTaskUpdate(tableName: string, ref: TaskRef, claim: TaskClaim): UpdateCommandInput {
  return {
    TableName: tableName,
    Key: { [PK]: taskKey(ref) },
    UpdateExpression:
      'SET #status = :running, #lease_owner = :owner, #lease_until = :lease_until, #updated_at = :now, ' +
      '#started_at = if_not_exists(#started_at, :now), #attempts = #attempts + :one',
    ConditionExpression: '#status IN (:queued, :dead_lettered) OR (#status = :running AND #lease_until < :now)',
    ExpressionAttributeNames: {
      '#status': 'status',
      '#lease_owner': 'lease_owner',
      '#lease_until': 'lease_until',
      '#updated_at': 'updated_at',
      '#started_at': 'started_at',
      '#attempts': 'attempts',
    },
    ExpressionAttributeValues: {
      ':running': 'running',
      ':queued': 'queued',
      ':dead_lettered': 'dead_lettered',
      ':owner': claim.owner,
      ':lease_until': claim.leaseUntil,
      ':now': claim.at,
      ':one': 1,
    },
    ReturnValues: 'ALL_NEW',
  };
}

/** Ends a claim, only while `owner` still holds it: a worker that lost its lease writes nothing. */
export function settleTaskUpdate(tableName: string, ref: TaskRef, owner: string, settlement: TaskSettlement): UpdateCommandInput {
  const names: Record<string, string> = {
    '#status': 'status',
    '#lease_owner': 'lease_owner',
    '#lease_until': 'lease_until',
    '#updated_at': 'updated_at',
  };
  const values: Record<string, unknown> = { ':status': settlement.status, ':owner': owner, ':running': 'running', ':at': settlement.at };
  const sets = ['#status = :status', '#updated_at = :at'];
  const set = (attribute: string, value: unknown) => {
    names[`#${attribute}`] = attribute;
    values[`:${attribute}`] = value;
    sets.push(`#${attribute} = :${attribute}`);
  };
  switch (settlement.status) {
    case 'succeeded':
      set('result', JSON.stringify(settlement.result));
      if (settlement.costUsd !== undefined) set('cost_usd', settlement.costUsd);
      set('finished_at', settlement.at);
      break;
    case 'failed':
    case 'dead_lettered':
      set('error', errorItem(settlement.error));
      set('finished_at', settlement.at);
      break;
    case 'queued':
      set('last_error', errorItem(settlement.error));
      break;
  }
  return {
    TableName: tableName,
    Key: { [PK]: taskKey(ref) },
    UpdateExpression: `SET ${sets.join(', ')} REMOVE #lease_owner, #lease_until`,
    ConditionExpression: '#status = :running AND #lease_owner = :owner',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

const errorItem = (error: TaskError) => ({ code: error.code, message: error.message });

export function taskToItem(task: Task): Record<string, unknown> {
  return {
    [PK]: taskKey(task),
    id: task.id,
    tenant: task.tenant,
    status: task.status,
    priority: task.priority,
    request: JSON.stringify(task.request),
    route: task.route,
    callback_url: task.callbackUrl,
    metadata: task.metadata === undefined ? undefined : JSON.stringify(task.metadata),
    key_prefix: task.keyPrefix,
    key_id: task.keyId,
    key_policy: task.keyPolicy === undefined ? undefined : JSON.stringify(task.keyPolicy),
    submission_hash: task.submissionHash,
    attempts: task.attempts,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
    enqueued_at: task.enqueuedAt,
    started_at: task.startedAt,
    finished_at: task.finishedAt,
    lease_owner: task.leaseOwner,
    lease_until: task.leaseUntil,
    result: task.result === undefined ? undefined : JSON.stringify(task.result),
    error: task.error === undefined ? undefined : errorItem(task.error),
    last_error: task.lastError === undefined ? undefined : errorItem(task.lastError),
    cost_usd: task.costUsd,
    expires_at: task.expiresAt,
  };
}

const optionalNumber = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const optionalString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const optionalError = (value: unknown): TaskError | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, message } = value as Record<string, unknown>;
  return { code: String(code), message: String(message) };
};

export function taskFromItem(item: Record<string, unknown>): Task {
  const task: Task = {
    id: String(item.id),
    tenant: String(item.tenant),
    status: item.status as Task['status'],
    priority: item.priority as Task['priority'],
    request: JSON.parse(String(item.request)) as Task['request'],
    route: optionalString(item.route),
    callbackUrl: optionalString(item.callback_url),
    metadata: typeof item.metadata === 'string' ? (JSON.parse(item.metadata) as Record<string, unknown>) : undefined,
    keyPrefix: optionalString(item.key_prefix),
    keyId: optionalString(item.key_id),
    keyPolicy: typeof item.key_policy === 'string' ? (JSON.parse(item.key_policy) as Task['keyPolicy']) : undefined,
    submissionHash: String(item.submission_hash),
    attempts: Number(item.attempts ?? 0),
    createdAt: Number(item.created_at),
    updatedAt: Number(item.updated_at),
    enqueuedAt: optionalNumber(item.enqueued_at),
    startedAt: optionalNumber(item.started_at),
    finishedAt: optionalNumber(item.finished_at),
    leaseOwner: optionalString(item.lease_owner),
    leaseUntil: optionalNumber(item.lease_until),
    result: typeof item.result === 'string' ? (JSON.parse(item.result) as unknown) : undefined,
    error: optionalError(item.error),
    lastError: optionalError(item.last_error),
    costUsd: optionalNumber(item.cost_usd),
    expiresAt: Number(item.expires_at),
  };
  // Absent attributes are absent fields, as on the task that was stored.
  for (const key of Object.keys(task) as Array<keyof Task>) if (task[key] === undefined) delete task[key];
  return task;
}
