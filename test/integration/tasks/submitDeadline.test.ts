import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { createSqsClient, SqsTaskQueue } from '../../../shared/queue';
import { systemClock } from '../../../shared/resilience';
import { TABLES, type TableNames } from '../../../shared/stores/dynamo';
import { MemoryTaskStore, TaskService } from '../../../shared/tasks';
import { DEAD_DYNAMO_ENDPOINT, startHungStore, type HungStore } from '../../support/deadDynamo';
import { fastRetry, hello, openaiProvider, raw, testSettings } from '../../support/e2eHarness';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

/*
 * `POST /v1/tasks` runs under the request's deadline like a completion: with a queue that
 * accepts connections and never answers, the submit ends at the deadline (here 1.5 s), not at
 * the SQS client's own 5 s bound.
 */

const KEY = 'bw_test_submit_deadline_key_00000001';
const DEADLINE_MS = 1_500;
const SQS_CALL_MS = 5_000;

describe('POST /v1/tasks: a hung queue costs the submit its deadline, not the queue call\'s bound', () => {
  let hung: HungStore;
  let gateway: StatefulGateway;
  const sqs = () => createSqsClient({ endpoint: hung.endpoint });
  let client: ReturnType<typeof sqs>;

  before(async () => {
    hung = await startHungStore();
    client = sqs();
    const logger = new Logger({ logLevel: 'SILENT' });
    gateway = await startStatefulGateway({
      config: {
        providers: { upstream: openaiProvider('http://127.0.0.1:1/v1') },
        routes: { main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream' }] } },
        tenants: { acme: { route: 'main', keys: [KEY] } },
        settings: testSettings({ max_request_ms: DEADLINE_MS }),
      },
      // No key store: the config's keys authenticate. The tasks are kept in memory; only the queue hangs.
      dynamo: { endpoint: DEAD_DYNAMO_ENDPOINT, tables: Object.fromEntries(Object.keys(TABLES).map((id) => [id, id])) as TableNames },
      seedConfigKeys: false,
      services: {
        tasks: new TaskService({
          store: new MemoryTaskStore(),
          queue: new SqsTaskQueue(client, { high: `${hung.endpoint}/000000000000/high`, normal: `${hung.endpoint}/000000000000/normal` }),
          clock: systemClock,
          logger,
        }),
      },
    });
  });

  after(async () => {
    await gateway?.close();
    client?.destroy();
    await hung?.close();
  });

  it(`guarantee: ends with 503 task_queue_unavailable within the ${DEADLINE_MS} ms deadline, well before ${SQS_CALL_MS} ms`, { timeout: 15_000 }, async () => {
    const started = performance.now();
    const response = await raw(`${gateway.url}/v1/tasks`, { body: { request: { model: 'any', messages: hello } }, auth: KEY });
    const ms = performance.now() - started;
    assert.equal(response.status, 503, response.text);
    assert.equal((response.json as { error?: { code?: string } }).error?.code, 'task_queue_unavailable');
    assert.ok(hung.connections > 0, 'the send reached the hung queue');
    // The deadline, the 250 ms a call still gets after it, and a busy machine's margin: never the queue's 5 s.
    assert.ok(ms < DEADLINE_MS + 1_500, `${Math.round(ms)} ms`);
  });
});
