import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import { GatewayError } from '../../../shared/errors';
import { isRedeliveryError, type Redelivery } from '../../../shared/queue';
import { MAX_RESULT_BYTES, MemoryTaskStore, TaskRunner, type ExecuteTask, type Task } from '../../../shared/tasks';
import { fakeClock } from '../../support/fakeClock';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const TENANT = 'acme';
let counter = 0;

function newTask(now: number, overrides: Partial<Task> = {}): Task {
  const id = `task_${(counter++).toString(16).padStart(32, '0')}`;
  return {
    id,
    tenant: TENANT,
    status: 'queued',
    priority: 'normal',
    request: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    submissionHash: 'h',
    attempts: 0,
    createdAt: now,
    updatedAt: now,
    enqueuedAt: now,
    expiresAt: Math.floor(now / 1000) + 3600,
    ...overrides,
  };
}

const lambdaContext = (remainingMs: number, requestId = 'req-1') =>
  ({ awsRequestId: requestId, getRemainingTimeInMillis: () => remainingMs }) as Context;

function setup(execute: ExecuteTask, options: { maxReceiveCount?: number; onFinished?: (task: Task) => Promise<void> } = {}) {
  const clock = fakeClock();
  const store = new MemoryTaskStore();
  const runner = new TaskRunner({ store, execute, clock, logger: silent, leaseMarginMs: 1_000, ...options });
  const deliver = (task: Task, receiveCount = 1, remainingMs = 60_000, deferrals = 0) =>
    runner.run({
      message: { tenant: task.tenant, taskId: task.id },
      messageId: `msg-${task.id}`,
      receiveCount,
      deferrals,
      lambdaContext: lambdaContext(remainingMs),
    });
  return { clock, store, runner, deliver };
}

async function redeliveryOfRun(run: Promise<unknown>): Promise<Redelivery> {
  try {
    await run;
  } catch (error) {
    assert.ok(isRedeliveryError(error), String(error));
    return error.redelivery;
  }
  assert.fail('the delivery should have been failed back to the queue');
}

describe('TaskRunner', () => {
  it('runs a queued task and stores its result and cost', async () => {
    const { clock, store, deliver } = setup(async () => ({ body: { id: 'chatcmpl-1' }, costUsd: 0.003 }));
    const task = newTask(clock.now());
    await store.create(task);
    assert.equal(await deliver(task), 'succeeded');
    const stored = await store.get(task);
    assert.equal(stored?.status, 'succeeded');
    assert.deepEqual(stored?.result, { id: 'chatcmpl-1' });
    assert.equal(stored?.costUsd, 0.003);
    assert.equal(stored?.attempts, 1);
    assert.equal(stored?.leaseOwner, undefined);
  });

  it('calls the upstream once for two concurrent deliveries of one message', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { clock, store, deliver } = setup(async () => {
      calls++;
      await gate;
      return { body: { n: calls } };
    });
    const task = newTask(clock.now());
    await store.create(task);

    const first = deliver(task);
    const second = redeliveryOfRun(deliver(task));
    // The second delivery finds the first one's live claim and is held back until the lease ends.
    assert.deepEqual(await second, { kind: 'delay', delayMs: 62_000 });
    release();
    assert.equal(await first, 'succeeded');
    assert.equal(calls, 1);
    assert.deepEqual((await store.get(task))?.result, { n: 1 });
    // When the held-back copy comes back, the task is finished: skipped, not run again.
    assert.equal(await deliver(task, 2), 'skipped');
    assert.equal(calls, 1);
  });

  it('takes over a task whose worker died (lease expired) and keeps one result', async () => {
    let calls = 0;
    const { clock, store, deliver } = setup(async () => ({ body: { run: ++calls } }));
    const task = newTask(clock.now(), { status: 'running', leaseOwner: 'dead-worker', leaseUntil: clock.now() - 1, attempts: 1 });
    await store.create(task);
    assert.equal(await deliver(task, 2), 'succeeded');
    const stored = await store.get(task);
    assert.deepEqual(stored?.result, { run: 1 });
    assert.equal(stored?.attempts, 2);
  });

  it('writes nothing when its claim was taken over mid-run', async () => {
    const { clock, store, deliver } = setup(async () => {
      // Our lease runs out while the upstream is slow, and another delivery claims the task.
      clock.advance(120_000);
      assert.equal((await store.claim(task, { owner: 'other', at: clock.now(), leaseUntil: clock.now() + 60_000 }))?.leaseOwner, 'other');
      return { body: { from: 'stale worker' } };
    });
    const task = newTask(clock.now());
    await store.create(task);
    assert.deepEqual(await redeliveryOfRun(deliver(task)), { kind: 'delay', delayMs: 61_000 });
    const stored = await store.get(task);
    assert.equal(stored?.status, 'running');
    assert.equal(stored?.leaseOwner, 'other');
    assert.equal(stored?.result, undefined);
  });

  it('fails the task at once on a permanent error, and the message is done with', async () => {
    let calls = 0;
    const { clock, store, deliver } = setup(async () => {
      calls++;
      throw new GatewayError('model_not_allowed', 'this key may not use gpt-5');
    });
    const task = newTask(clock.now());
    await store.create(task);
    assert.equal(await deliver(task), 'failed');
    assert.equal(calls, 1);
    const stored = await store.get(task);
    assert.equal(stored?.status, 'failed');
    assert.deepEqual(stored?.error, { code: 'model_not_allowed', message: 'this key may not use gpt-5' });
  });

  it('hands a transiently failed task back to the queue with a backoff', async () => {
    const { clock, store, deliver } = setup(async () => {
      throw new GatewayError('all_targets_failed', 'every target answered 5xx');
    });
    const task = newTask(clock.now());
    await store.create(task);
    assert.deepEqual(await redeliveryOfRun(deliver(task, 2)), { kind: 'backoff' });
    const stored = await store.get(task);
    assert.equal(stored?.status, 'queued');
    assert.equal(stored?.leaseOwner, undefined);
    assert.deepEqual(stored?.lastError, { code: 'all_targets_failed', message: 'every target answered 5xx' });
  });

  it('dead-letters on the last receive and lets the message go to the DLQ at once', async () => {
    const finished: string[] = [];
    const { clock, store, deliver } = setup(
      async () => {
        throw new Error('socket hang up');
      },
      { maxReceiveCount: 3, onFinished: async (task) => void finished.push(task.status) },
    );
    const task = newTask(clock.now());
    await store.create(task);
    assert.deepEqual(await redeliveryOfRun(deliver(task, 3)), { kind: 'delay', delayMs: 0 });
    assert.equal((await store.get(task))?.status, 'dead_lettered');
    assert.deepEqual(finished, ['dead_lettered']);
  });

  it('runs a dead-lettered task again when its message is redriven', async () => {
    const { clock, store, deliver } = setup(async () => ({ body: 'ok' }));
    const task = newTask(clock.now(), { status: 'dead_lettered', error: { code: 'all_targets_failed', message: 'x' } });
    await store.create(task);
    assert.equal(await deliver(task), 'succeeded');
  });

  it('skips cancelled and finished tasks without calling the upstream', async () => {
    let calls = 0;
    const { clock, store, deliver } = setup(async () => ({ body: ++calls }));
    for (const status of ['cancelled', 'succeeded', 'failed'] as const) {
      const task = newTask(clock.now(), { status });
      await store.create(task);
      assert.equal(await deliver(task), 'skipped');
    }
    assert.equal(calls, 0);
  });

  it('drops a message whose task does not exist', async () => {
    const { clock, deliver } = setup(async () => assert.fail('not called'));
    assert.equal(await deliver(newTask(clock.now())), 'missing');
  });

  it('fails a task whose result cannot fit its item, instead of failing the write forever', async () => {
    const { clock, store, deliver } = setup(async () => ({ body: { text: 'x'.repeat(MAX_RESULT_BYTES) } }));
    const task = newTask(clock.now());
    await store.create(task);
    assert.equal(await deliver(task), 'failed');
    assert.equal((await store.get(task))?.error?.code, 'result_too_large');
  });

  it('leases for the invocation time left plus the margin', async () => {
    let seen: Task | undefined;
    const { clock, store, deliver } = setup(async (task) => {
      seen = task;
      return { body: 'ok' };
    });
    const task = newTask(clock.now());
    await store.create(task);
    await deliver(task, 1, 45_000);
    assert.equal(seen?.leaseUntil, clock.now() + 46_000);
    assert.equal(seen?.status, 'running');
    assert.equal(seen?.attempts, 1);
  });

  it('guarantee: a result whose write fails is written on a retry, so the upstream is not called again', async () => {
    let calls = 0;
    const { clock, store, deliver } = setup(async () => ({ body: { n: ++calls } }));
    const task = newTask(clock.now());
    await store.create(task);
    // The store blinks: the first two writes of the result fail, the third lands.
    const settle = store.settle.bind(store);
    let failures = 2;
    store.settle = async (...args) => {
      if (failures-- > 0) throw Object.assign(new Error('DynamoDB did not answer within 2000 ms'), { name: 'TimeoutError' });
      return settle(...args);
    };
    assert.equal(await deliver(task), 'succeeded');
    assert.equal(calls, 1);
    assert.deepEqual(clock.sleeps, [250, 500]);
    assert.equal((await store.get(task))?.status, 'succeeded');
  });

  it('a result write that keeps failing gives up while the invocation still has time to report it', async () => {
    const { clock, store, deliver } = setup(async () => ({ body: {} }));
    const task = newTask(clock.now());
    await store.create(task);
    store.settle = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
    };
    await assert.rejects(deliver(task, 1, 3_100), /ECONNREFUSED/);
    assert.deepEqual(clock.sleeps, [], 'no wait that would leave less than a store call and the batch return');
    assert.equal((await store.get(task))?.status, 'running', 'held until its lease ends, then run again');
  });
});
