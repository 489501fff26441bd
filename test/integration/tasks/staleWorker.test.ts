import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Context } from 'aws-lambda';
import { isRedeliveryError, type Redelivery } from '../../../shared/queue';
import { DynamoTaskStore, randomTaskId, TaskRunner, type ExecuteTask, type Task, type TaskExecution } from '../../../shared/tasks';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fakeClock } from '../../support/fakeClock';
import { chatRequest } from '../worker/harness';

/**
 * A worker whose lease ran out comes back with its result, against DynamoDB Local: the claim
 * and settle conditions decide who owns the task. The unit tests compare the commands' text;
 * these fail when either condition is weakened (a settle that does not check the owner, a
 * claim that takes a live lease).
 */

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const REMAINING_MS = 10_000;
const LEASE_MARGIN_MS = 1_000;
/** What a claim's lease lasts: the invocation's remaining time plus the margin. */
const LEASE_MS = REMAINING_MS + LEASE_MARGIN_MS;

/** An upstream call the test finishes by hand, to interleave two workers' runs. */
function heldCall() {
  let started!: () => void;
  let finish!: (outcome: TaskExecution | Error) => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  const outcome = new Promise<TaskExecution | Error>((resolve) => (finish = resolve));
  return {
    started: startedPromise,
    finish,
    async run(): Promise<TaskExecution> {
      started();
      const result = await outcome;
      if (result instanceof Error) throw result;
      return result;
    },
  };
}

async function redeliveryOf(run: Promise<unknown>): Promise<Redelivery> {
  try {
    await run;
  } catch (error) {
    assert.ok(isRedeliveryError(error), String(error));
    return error.redelivery;
  }
  assert.fail('the delivery should have been failed back to the queue');
}

describe('a stale worker against DynamoDB Local', () => {
  let dynamo: DynamoLocal;
  before(async () => {
    dynamo = await startDynamoLocal();
  });
  after(async () => {
    await dynamo?.stop();
  });

  /** Two workers (two Lambda containers) sharing the table and a clock; each call is scripted. */
  function fleet() {
    const clock = fakeClock();
    const store = new DynamoTaskStore(dynamo.doc, dynamo.tables.tasks);
    const calls: Array<{ worker: string; attempt: number }> = [];
    const scripts = new Map<string, ReturnType<typeof heldCall>[]>();
    const worker = (name: string) => {
      const execute: ExecuteTask = async (task) => {
        calls.push({ worker: name, attempt: task.attempts });
        const next = scripts.get(name)?.shift();
        assert.ok(next, `${name} was not expected to call the upstream`);
        return next.run();
      };
      const runner = new TaskRunner({ store, execute, clock, logger: silent, leaseMarginMs: LEASE_MARGIN_MS });
      return {
        /** Scripts this worker's next upstream call. */
        expectCall() {
          const call = heldCall();
          scripts.set(name, [...(scripts.get(name) ?? []), call]);
          return call;
        },
        deliver: (task: Task, receiveCount: number) =>
          runner.run({
            message: { tenant: task.tenant, taskId: task.id },
            messageId: `msg-${receiveCount}`,
            receiveCount,
            deferrals: 0,
            lambdaContext: { awsRequestId: `${name}-${receiveCount}`, getRemainingTimeInMillis: () => REMAINING_MS } as Context,
          }),
      };
    };
    return { clock, store, calls, first: worker('first'), second: worker('second') };
  }

  async function queuedTask(store: DynamoTaskStore, now: number): Promise<Task> {
    const task: Task = {
      id: randomTaskId(),
      tenant: 'acme',
      status: 'queued',
      priority: 'normal',
      request: chatRequest,
      submissionHash: 'h',
      attempts: 0,
      createdAt: now,
      updatedAt: now,
      enqueuedAt: now,
      expiresAt: Math.floor(now / 1000) + 3600,
    };
    assert.equal(await store.create(task), undefined);
    return task;
  }

  it('a worker whose lease expired cannot write its result over the worker that took the task over', async () => {
    const { clock, store, calls, first, second } = fleet();
    const task = await queuedTask(store, clock.now());

    const firstCall = first.expectCall();
    const firstRun = first.deliver(task, 1);
    await firstCall.started;
    const firstLeaseEnds = clock.now() + LEASE_MS;

    // A redelivery while the first lease is live is held back until it ends, without a call.
    clock.advance(LEASE_MS - 1);
    assert.deepEqual(await redeliveryOf(second.deliver(task, 2)), { kind: 'delay', delayMs: 1_001 });
    assert.deepEqual(calls, [{ worker: 'first', attempt: 1 }]);

    // The first worker stalls past its lease (a frozen container); the next delivery takes over.
    clock.advance(1);
    assert.equal(clock.now(), firstLeaseEnds);
    clock.advance(1);
    const secondCall = second.expectCall();
    const secondRun = second.deliver(task, 3);
    await secondCall.started;
    const takenOver = await store.get(task);
    assert.equal(takenOver?.status, 'running');
    assert.equal(takenOver?.attempts, 2);
    assert.match(takenOver?.leaseOwner ?? '', /^second-3\//);

    // The stale worker comes back with its answer while the new owner still runs: refused.
    firstCall.finish({ body: { answered_by: 'first' }, costUsd: 0.001 });
    const back = await redeliveryOf(firstRun);
    assert.equal(back.kind, 'delay', 'the stale delivery steps aside for the new owner');
    assert.deepEqual(await store.get(task), takenOver, 'nothing written by the stale worker');

    secondCall.finish({ body: { answered_by: 'second' }, costUsd: 0.002 });
    assert.equal(await secondRun, 'succeeded');
    const finished = await store.get(task);
    assert.equal(finished?.status, 'succeeded');
    assert.deepEqual(finished?.result, { answered_by: 'second' });
    assert.equal(finished?.costUsd, 0.002);
    assert.equal(finished?.leaseOwner, undefined);
    assert.deepEqual(calls, [
      { worker: 'first', attempt: 1 },
      { worker: 'second', attempt: 2 },
    ]);
  });

  it('a stale worker that comes back after the new owner finished changes nothing, success or failure', async () => {
    for (const staleOutcome of [{ body: { answered_by: 'first' } }, new Error('socket hang up')]) {
      const { clock, store, first, second } = fleet();
      const task = await queuedTask(store, clock.now());
      const firstCall = first.expectCall();
      const firstRun = first.deliver(task, 1);
      await firstCall.started;

      clock.advance(LEASE_MS + 1);
      const secondCall = second.expectCall();
      const secondRun = second.deliver(task, 2);
      await secondCall.started;
      secondCall.finish({ body: { answered_by: 'second' } });
      assert.equal(await secondRun, 'succeeded');
      const settled = await store.get(task);

      firstCall.finish(staleOutcome);
      assert.equal(await firstRun, 'skipped', 'the stale worker finds the task finished');
      assert.deepEqual(await store.get(task), settled);
      assert.deepEqual(settled?.result, { answered_by: 'second' });
    }
  });
});
