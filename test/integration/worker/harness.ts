import { Logger } from '@aws-lambda-powertools/logger';
import assert from 'node:assert/strict';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, type Message } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';
import { createWorkerHandler, type WorkerHandlerDeps } from '../../../functions/worker/createWorkerHandler';
import type { ChatCompletionRequest } from '../../../shared/gateway/requestSchemas';
import { encodeTaskMessage, SqsTaskQueue } from '../../../shared/queue';
import { systemClock } from '../../../shared/resilience';
import { DynamoTaskStore, randomTaskId, TaskService, taskToItem, type ExecuteTask, type Task } from '../../../shared/tasks';
import type { DynamoLocal } from '../../support/dynamoLocal';

export const silentLogger = new Logger({ logLevel: 'SILENT' });
export const chatRequest: ChatCompletionRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] };

let prefixes = 0;

/** A fresh set of task queues (high, normal, DLQ) on the running emulator, for one test. */
export async function freshQueues(endpoint: string, maxReceiveCount = 5): Promise<LocalSqs> {
  return startLocalSqs({
    env: { AWS_ENDPOINT_URL_SQS: endpoint, AWS_REGION: 'us-east-1' },
    prefix: `t${Date.now().toString(36)}-${prefixes++}`,
    maxReceiveCount,
  });
}

const tolerantClients = new WeakMap<DynamoLocal, DynamoDBDocumentClient>();

/**
 * A document client for DynamoDB Local with patient timeouts. The production clients give up
 * on a connection after 1 s, which DynamoDB Local (a JVM sharing two cores with the test under
 * a 1,000-task load) can exceed; these tests are about the task logic, not the store's speed.
 */
export function patientDoc(dynamo: DynamoLocal): DynamoDBDocumentClient {
  let doc = tolerantClients.get(dynamo);
  if (!doc) {
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 5,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 10_000 },
    });
    doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    tolerantClients.set(dynamo, doc);
  }
  return doc;
}

export function taskService(dynamo: DynamoLocal, queues: LocalSqs): { service: TaskService; store: DynamoTaskStore } {
  const store = new DynamoTaskStore(patientDoc(dynamo), dynamo.tables.tasks);
  const queue = new SqsTaskQueue(queues.sqs, { high: queues.queues.high.url, normal: queues.queues.normal.url });
  return { store, service: new TaskService({ store, queue, clock: systemClock, logger: silentLogger }) };
}

export type Step = 'ok' | 'hang' | Error;

/**
 * A fake upstream: each call takes the task's next scripted step (the last step repeats), and
 * every call is counted, so a test can say how many times the "upstream" was reached.
 */
export function scriptedExecutor(steps: Step[], options: { latencyMs?: number } = {}) {
  const calls: Array<{ taskId: string; priority: Task['priority']; receiveCount: number; at: number; waitedMs: number }> = [];
  const perTask = new Map<string, number>();
  const execute: ExecuteTask = async (task: Task, context) => {
    const index = perTask.get(task.id) ?? 0;
    perTask.set(task.id, index + 1);
    const at = Date.now();
    calls.push({ taskId: task.id, priority: task.priority, receiveCount: context.receiveCount, at, waitedMs: at - task.createdAt });
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const step = steps[Math.min(index, steps.length - 1)]!;
    if (step === 'hang') return new Promise<never>(() => {});
    if (step instanceof Error) throw step;
    return { body: { id: `chatcmpl-${task.id}`, object: 'chat.completion', call: index + 1 }, costUsd: 0.001 };
  };
  return { execute, calls };
}

export function worker(dynamo: DynamoLocal, queues: LocalSqs, executeTask: ExecuteTask, overrides: Partial<WorkerHandlerDeps> = {}) {
  return createWorkerHandler({
    tasks: new DynamoTaskStore(patientDoc(dynamo), dynamo.tables.tasks),
    sqs: queues.sqs,
    queueUrls: [queues.queues.high.url, queues.queues.normal.url],
    executeTask,
    logger: silentLogger,
    maxReceiveCount: queues.maxReceiveCount,
    // Draw 0: a transient failure comes back at once, so retries take no wall time in tests.
    random: () => 0,
    backoff: { baseSeconds: 1, capSeconds: 1 },
    leaseMarginMs: 200,
    stopBeforeTimeoutMs: 100,
    returnBeforeTimeoutMs: 50,
    ...overrides,
  });
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Visible plus in-flight plus delayed messages. */
export async function messagesIn(queues: LocalSqs, url: string): Promise<number> {
  const { Attributes = {} } = await queues.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

export async function receiveAll(queues: LocalSqs, url: string, visibilityTimeout = 30): Promise<Message[]> {
  const { Messages = [] } = await queues.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: visibilityTimeout,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages;
}

/** Writes a backlog of queued tasks in bulk, as if `count` submits had just landed. */
export async function seedBacklog(dynamo: DynamoLocal, queues: LocalSqs, count: number): Promise<string[]> {
  const now = Date.now();
  const tasks: Task[] = Array.from({ length: count }, () => ({
    id: randomTaskId(),
    tenant: 'acme',
    status: 'queued',
    priority: 'normal',
    request: chatRequest,
    submissionHash: 'seeded',
    attempts: 0,
    createdAt: now,
    updatedAt: now,
    enqueuedAt: now,
    expiresAt: Math.floor(now / 1000) + 3600,
  }));
  for (let index = 0; index < tasks.length; index += 25) {
    const items = tasks.slice(index, index + 25).map((task) => ({ PutRequest: { Item: taskToItem(task) } }));
    const { UnprocessedItems } = await patientDoc(dynamo).send(new BatchWriteCommand({ RequestItems: { [dynamo.tables.tasks]: items } }));
    assert.equal(Object.keys(UnprocessedItems ?? {}).length, 0);
  }
  for (let index = 0; index < tasks.length; index += 10) {
    const entries = tasks.slice(index, index + 10).map((task, position) => ({
      Id: String(position),
      MessageBody: encodeTaskMessage({ tenant: task.tenant, taskId: task.id }),
    }));
    const { Failed = [] } = await queues.sqs.send(new SendMessageBatchCommand({ QueueUrl: queues.queues.normal.url, Entries: entries }));
    assert.equal(Failed.length, 0);
  }
  return tasks.map((task) => task.id);
}

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
