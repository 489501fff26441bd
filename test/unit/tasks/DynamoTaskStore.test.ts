import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoTaskStore, MemoryTaskStore, taskFromItem, taskKey, taskToItem, type Task } from '../../../shared/tasks';

const TABLE = 'breakwater-tasks';
const ref = { tenant: 'acme', id: 'task_0123456789abcdef0123456789abcdef' };

describe('DynamoTaskStore commands', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
  const store = new DynamoTaskStore(doc, TABLE);
  beforeEach(() => ddb.reset());

  it('claims with one UpdateItem: queued, dead-lettered or an expired lease become running', async () => {
    const claimedItem = taskToItem({
      ...ref,
      status: 'running',
      priority: 'normal',
      request: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      submissionHash: 'h',
      attempts: 1,
      createdAt: 500,
      updatedAt: 1_000,
      startedAt: 1_000,
      leaseOwner: 'req-1/msg-1/x',
      leaseUntil: 61_000,
      expiresAt: 9_999,
    });
    ddb.on(UpdateCommand).resolves({ Attributes: claimedItem });
    const claimed = await store.claim(ref, { owner: 'req-1/msg-1/x', at: 1_000, leaseUntil: 61_000 });
    assert.deepEqual(claimed, taskFromItem(claimedItem));
    const [call] = ddb.commandCalls(UpdateCommand);
    assert.deepEqual(call?.args[0].input, {
      TableName: TABLE,
      Key: { pk: 'task#acme#task_0123456789abcdef0123456789abcdef' },
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
        ':owner': 'req-1/msg-1/x',
        ':lease_until': 61_000,
        ':now': 1_000,
        ':one': 1,
      },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('reports a lost claim race as no task, not as an error', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', $metadata: {} }));
    assert.equal(await store.claim(ref, { owner: 'o', at: 1, leaseUntil: 2 }), undefined);
  });

  it('writes the result only while holding the claim, and drops the lease', async () => {
    ddb.on(UpdateCommand).resolves({});
    await store.settle(ref, 'owner-a', { status: 'succeeded', at: 5_000, result: { id: 'chatcmpl-1' }, costUsd: 0.002 });
    const [call] = ddb.commandCalls(UpdateCommand);
    const input = call?.args[0].input;
    assert.equal(input?.ConditionExpression, '#status = :running AND #lease_owner = :owner');
    assert.equal(
      input?.UpdateExpression,
      'SET #status = :status, #updated_at = :at, #result = :result, #cost_usd = :cost_usd, #finished_at = :finished_at REMOVE #lease_owner, #lease_until',
    );
    assert.deepEqual(input?.ExpressionAttributeValues, {
      ':status': 'succeeded',
      ':owner': 'owner-a',
      ':running': 'running',
      ':at': 5_000,
      ':result': '{"id":"chatcmpl-1"}',
      ':cost_usd': 0.002,
      ':finished_at': 5_000,
    });
  });

  it('cancels only a queued task', async () => {
    ddb.on(UpdateCommand).resolves({});
    await store.cancel(ref, 9_000);
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    assert.equal(input?.ConditionExpression, '#status = :queued');
    assert.deepEqual(input?.ExpressionAttributeValues, { ':cancelled': 'cancelled', ':queued': 'queued', ':at': 9_000 });
  });

  it("URI-encodes the tenant in the key, so a '#' in a name cannot reach another tenant's tasks", () => {
    assert.equal(taskKey({ tenant: 'a#b', id: 'task_1' }), 'task#a%23b#task_1');
    assert.notEqual(taskKey({ tenant: 'a#b', id: 'task_1' }), taskKey({ tenant: 'a', id: 'b#task_1' }));
  });

  it('round-trips a task through its item, the request kept byte for byte as JSON', () => {
    const task: Task = {
      ...ref,
      status: 'succeeded',
      priority: 'high',
      request: { model: 'm', messages: [{ role: 'user', content: '' }], temperature: 0.7 },
      callbackUrl: 'https://hooks.example.com/x',
      metadata: { empty: '', nested: { list: [] } },
      keyPrefix: 'bw_live_ab12',
      submissionHash: 'abc',
      attempts: 2,
      createdAt: 1,
      updatedAt: 5,
      enqueuedAt: 2,
      startedAt: 3,
      finishedAt: 5,
      result: { choices: [] },
      lastError: { code: 'all_targets_failed', message: 'x' },
      costUsd: 0.01,
      expiresAt: 604_800,
    };
    const item = taskToItem(task);
    assert.equal(item.request, '{"model":"m","messages":[{"role":"user","content":""}],"temperature":0.7}');
    assert.deepEqual(taskFromItem(JSON.parse(JSON.stringify(item)) as Record<string, unknown>), task);
  });
});

const listed = (tenant: string, id: string, createdAt: number): Task => ({
  id,
  tenant,
  status: 'queued',
  priority: 'normal',
  request: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
  submissionHash: 'h',
  attempts: 0,
  createdAt,
  updatedAt: createdAt,
  expiresAt: 9_999,
});

describe('listing a tenant’s tasks', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
  beforeEach(() => ddb.reset());

  it('queries the by-tenant index newest first, one more than the page, from after the previous page’s last task', async () => {
    const after = listed('acme', 'task_11111111111111111111111111111111', 2_000);
    ddb.on(QueryCommand).resolves({ Items: [taskToItem(listed('acme', 'task_00000000000000000000000000000000', 1_000))] });
    const page = await new DynamoTaskStore(doc, TABLE).list('acme', { limit: 2, after });
    assert.deepEqual(page.tasks.map((task) => task.id), ['task_00000000000000000000000000000000']);
    assert.equal(page.hasMore, false);
    assert.deepEqual(ddb.commandCalls(QueryCommand)[0]?.args[0].input, {
      TableName: TABLE,
      IndexName: 'by-tenant',
      KeyConditionExpression: '#tenant = :tenant',
      ExpressionAttributeNames: { '#tenant': 'tenant' },
      ExpressionAttributeValues: { ':tenant': 'acme' },
      ScanIndexForward: false,
      Limit: 3,
      ExclusiveStartKey: { pk: taskKey(after), tenant: 'acme', created_at: 2_000 },
    });
  });

  it('MemoryTaskStore lists the same way: newest first, paged, one tenant only', async () => {
    const store = new MemoryTaskStore();
    for (let i = 0; i < 3; i++) await store.create(listed('acme', `task_${String(i).repeat(32)}`, 1_000 * (i + 1)));
    await store.create(listed('globex', `task_${'9'.repeat(32)}`, 9_000));
    const first = await store.list('acme', { limit: 2 });
    assert.deepEqual(first.tasks.map((task) => task.createdAt), [3_000, 2_000]);
    assert.equal(first.hasMore, true);
    const rest = await store.list('acme', { limit: 2, after: first.tasks[1] });
    assert.deepEqual(rest.tasks.map((task) => task.createdAt), [1_000]);
    assert.equal(rest.hasMore, false);
  });
});
