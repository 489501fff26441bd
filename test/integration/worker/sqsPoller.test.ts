import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { startLocalSqs, type LocalSqs } from '../../../bin/local/localSqs';
import { startSqsPoller, type PolledBatch, type SqsHandler, type SqsPollerOptions } from '../../../bin/local/sqsPoller';
import { freshQueues, messagesIn, waitFor } from './harness';

describe('startSqsPoller against fauxqs', () => {
  let emulator: LocalSqs;
  before(async () => {
    emulator = await startLocalSqs({ env: { AWS_REGION: 'us-east-1' } });
  });
  after(async () => {
    await emulator?.close();
  });

  const send = (queues: LocalSqs, url: string, body: string) =>
    queues.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));

  async function poll(queues: LocalSqs, handler: SqsHandler, until: (batches: PolledBatch[]) => boolean, options: Partial<SqsPollerOptions> = {}) {
    const batches: PolledBatch[] = [];
    const events: SQSEvent[] = [];
    const poller = await startSqsPoller({
      sqs: queues.sqs,
      queues: [queues.queues.high.url, queues.queues.normal.url],
      handler: async (event, context) => {
        events.push(event);
        return handler(event, context);
      },
      idlePollMs: 10,
      concurrency: 1,
      ...options,
      onBatch: (batch) => batches.push(batch),
    });
    try {
      await waitFor(async () => (until(batches) ? true : undefined), 10_000, 'the batches');
    } finally {
      await poller.stop();
    }
    return { batches, events, stats: poller.stats };
  }

  it('deletes the successes and leaves the reported failures for redelivery', async () => {
    const queues = await freshQueues(emulator.endpoint);
    for (const body of ['a', 'b', 'c']) await send(queues, queues.queues.normal.url, body);
    let failB = true;
    const { events } = await poll(
      queues,
      async (event): Promise<SQSBatchResponse> => {
        const b = event.Records.find((record) => record.body === 'b');
        if (!b || !failB) return { batchItemFailures: [] };
        failB = false;
        return { batchItemFailures: [{ itemIdentifier: b.messageId }] };
      },
      (batches) => batches.length >= 2,
      { visibilityTimeoutSeconds: 0 },
    );

    assert.deepEqual(events[0]!.Records.map((record) => [record.body, record.attributes.ApproximateReceiveCount]), [
      ['a', '1'],
      ['b', '1'],
      ['c', '1'],
    ]);
    assert.deepEqual(events[1]!.Records.map((record) => [record.body, record.attributes.ApproximateReceiveCount]), [['b', '2']]);
    assert.equal(events[0]!.Records[0]!.eventSource, 'aws:sqs');
    assert.equal(events[0]!.Records[0]!.eventSourceARN, queues.queues.normal.arn);
    assert.equal(await messagesIn(queues, queues.queues.normal.url), 0);
  });

  it('abandons an invocation at the function timeout and deletes nothing of its batch', async () => {
    const queues = await freshQueues(emulator.endpoint);
    await send(queues, queues.queues.normal.url, 'stuck');
    let invocations = 0;
    const remaining: number[] = [];
    const { batches, stats } = await poll(
      queues,
      async (_event, context) => {
        remaining.push(context.getRemainingTimeInMillis());
        if (++invocations === 1) return new Promise<never>(() => {});
        return { batchItemFailures: [] };
      },
      (all) => all.length >= 2,
      { functionTimeoutMs: 300, visibilityTimeoutSeconds: 1 },
    );

    assert.equal(stats.timedOut, 1);
    // 'returned': the second invocation ended within its 300 ms function timeout.
    assert.deepEqual(batches.slice(0, 2).map((batch) => batch.outcome), ['timed_out', 'returned']);
    assert.ok(remaining[0]! > 250 && remaining[0]! <= 300, `remaining ${remaining[0]}`);
    assert.equal(await messagesIn(queues, queues.queues.normal.url), 0);
  });

  it('returns the whole batch when the handler throws', async () => {
    const queues = await freshQueues(emulator.endpoint);
    await send(queues, queues.queues.normal.url, 'x');
    await send(queues, queues.queues.normal.url, 'y');
    let calls = 0;
    const { events } = await poll(
      queues,
      async () => {
        if (++calls === 1) throw new Error('init failed');
        return { batchItemFailures: [] };
      },
      (batches) => batches.length >= 2,
      { visibilityTimeoutSeconds: 0 },
    );
    assert.deepEqual(events.slice(0, 2).map((event) => event.Records.length), [2, 2]);
    assert.deepEqual(events[1]!.Records.map((record) => record.attributes.ApproximateReceiveCount), ['2', '2']);
  });

  it('gathers messages arriving within the batch window into one invocation', async () => {
    const queues = await freshQueues(emulator.endpoint);
    await send(queues, queues.queues.normal.url, 'first');
    const late = setTimeout(() => void send(queues, queues.queues.normal.url, 'late'), 100);
    const { events } = await poll(queues, async () => ({ batchItemFailures: [] }), (batches) => batches.length >= 1, {
      batchWindowMs: 400,
    });
    clearTimeout(late);
    assert.deepEqual(events[0]!.Records.map((record) => record.body), ['first', 'late']);
  });

  it('serves the high queue before the normal one', async () => {
    const queues = await freshQueues(emulator.endpoint);
    for (let index = 0; index < 3; index++) await send(queues, queues.queues.normal.url, `normal-${index}`);
    await send(queues, queues.queues.high.url, 'high-0');
    const { events } = await poll(queues, async () => ({ batchItemFailures: [] }), (batches) => batches.length >= 2, { batchSize: 2 });
    assert.deepEqual(events.slice(0, 2).map((event) => event.Records.map((record) => record.body)), [['high-0'], ['normal-0', 'normal-1']]);
  });
});
