import type { Context, SQSRecord } from 'aws-lambda';
import { RedeliveryError } from './redelivery';

export interface ProcessBatchOptions {
  context: Pick<Context, 'getRemainingTimeInMillis'>;
  /**
   * No record is started once the invocation has less than this left: it goes back to the queue
   * untouched rather than be cut off half-done when the function times out.
   */
  stopBeforeTimeoutMs: number;
  /**
   * Records still running this close to the timeout are reported failed and the batch returns,
   * so the records already done are reported done instead of being lost with a timed-out
   * invocation. (Their tasks stay claimed until the lease ends; the message comes back after.)
   * @default 1_000
   */
  returnBeforeTimeoutMs?: number;
  /** Records handled at once within the batch. */
  concurrency: number;
}

const untouched = (why: string): PromiseRejectedResult => ({
  status: 'rejected',
  reason: new RedeliveryError(why, { kind: 'untouched' }),
});

/**
 * Handles a batch's records, each on its own: one settled result per record, in record order
 * (what Middy's sqs-partial-batch-failure turns into `batchItemFailures`). A record's failure
 * never touches its neighbours.
 */
export async function processSqsBatch<T>(
  records: readonly SQSRecord[],
  handle: (record: SQSRecord) => Promise<T>,
  options: ProcessBatchOptions,
): Promise<Array<PromiseSettledResult<T>>> {
  const { context } = options;
  const results = new Array<PromiseSettledResult<T> | undefined>(records.length);
  let next = 0;
  const lane = async () => {
    while (next < records.length) {
      const index = next++;
      const record = records[index]!;
      if (context.getRemainingTimeInMillis() < options.stopBeforeTimeoutMs) {
        results[index] = untouched('not started: the invocation is about to time out');
        continue;
      }
      try {
        results[index] = { status: 'fulfilled', value: await handle(record) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  const lanes = Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, records.length)) }, lane));

  let timer: NodeJS.Timeout | undefined;
  const returnAt = context.getRemainingTimeInMillis() - (options.returnBeforeTimeoutMs ?? 1_000);
  await Promise.race([lanes, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, returnAt))))]);
  clearTimeout(timer);
  // A copy: records still running settle later into `results`, never into what was returned.
  return Array.from(results, (result) => result ?? untouched('still running when the invocation was about to time out'));
}
