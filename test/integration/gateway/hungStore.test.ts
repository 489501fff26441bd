import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CircuitBreakers, DynamoBreakerStore } from '../../../shared/breaker';
import { DynamoSpendLedger, PriceTable, SpendGuard } from '../../../shared/budget';
import { ResponseCache } from '../../../shared/cache';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { createSecretsManagerClient, SecretsManagerSource } from '../../../shared/credentials';
import { SECRETS_MANAGER_TIMEOUTS } from '../../../shared/credentials/createSecretsManagerClient';
import type { GatewayServices } from '../../../shared/gateway';
import { IdempotentExecutor } from '../../../shared/idempotency';
import { DynamoKeyStore, KeyResolver } from '../../../shared/keys';
import { createSqsClient, SqsTaskQueue } from '../../../shared/queue';
import { FleetRateLimiter } from '../../../shared/ratelimit';
import { createDynamoClients, type DynamoClients } from '../../../shared/stores/dynamo';
import { DYNAMO_TIMEOUTS } from '../../../shared/stores/dynamo/createClients';
import { DynamoTaskStore, randomTaskId, TaskService } from '../../../shared/tasks';
import { startHungStore, type HungStore } from '../../support/deadDynamo';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fastRetry, hello, openaiProvider, raw, testSettings, type RawResponse } from '../../support/e2eHarness';
import { openAiStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type ServicesContext, type StatefulGateway } from '../../support/startStatefulGateway';

/*
 * A store that accepts connections and never answers (a frozen DynamoDB, SQS or Secrets
 * Manager), one service at a time, under 20 concurrent requests: every request ends within
 * the store's call bound plus a margin, with the answer the README documents for that feature
 * ("When a store is unreachable"). Before the bound threw, these requests hung for as long as
 * the store did.
 */

const CONCURRENCY = 20;
const DYNAMO_CALL_MS = DYNAMO_TIMEOUTS.callTimeoutMs;
/** createSqsClient's default bound on a call. */
const SQS_CALL_MS = 5_000;
/** Everything but the store: auth and admission on DynamoDB Local, the upstream, HTTP, on a busy 2-CPU machine. */
const MARGIN_MS = 1_500;
/** A test that hangs fails instead (before the fix, these requests waited as long as the store did). */
const TEST_TIMEOUT_MS = 30_000;

const MODEL = 'priced-model';
const PRICES = { [MODEL]: { input: 1, output: 2, cache_read: 1, cache_write: 1, max_output_tokens: 100 } };
const KEYS = {
  plain: 'bw_test_hung_plain_00001_xxxxxxx',
  capped: 'bw_test_hung_capped_0001_xxxxxxx',
  open: 'bw_test_hung_open_000001_xxxxxxx',
  limited: 'bw_test_hung_limited_001_xxxxxxx',
  cached: 'bw_test_hung_cached_0001_xxxxxxx',
} as const;

interface Expected {
  status: number;
  code?: string;
}

interface Case {
  name: string;
  /** Which service talks to the hung store (the rest to DynamoDB Local). */
  hung: (context: ServicesContext & { hung: DynamoClients; built: GatewayServices }) => Partial<GatewayServices>;
  key: string;
  expected: Expected;
  boundMs: number;
  /** Each request's own Idempotency-Key. */
  idempotent?: boolean;
}

const CHAT_CASES: Case[] = [
  {
    name: 'key store: 503 auth_unavailable (fails closed)',
    hung: ({ hung, tables, clock }) => ({
      keyResolver: new KeyResolver({ store: new DynamoKeyStore({ doc: hung.doc, tableName: tables.keys, clock }), clock }),
    }),
    key: KEYS.plain,
    expected: { status: 503, code: 'auth_unavailable' },
    boundMs: DYNAMO_CALL_MS,
  },
  {
    name: 'idempotency store: 503 idempotency_unavailable (fails closed)',
    hung: ({ hung, tables, logger }) => ({ idempotency: new IdempotentExecutor({ client: hung.client, tableName: tables.idempotency, logger }) }),
    key: KEYS.plain,
    idempotent: true,
    expected: { status: 503, code: 'idempotency_unavailable' },
    boundMs: DYNAMO_CALL_MS,
  },
  {
    name: 'spend ledger: 503 budget_unavailable (fails closed)',
    hung: ({ hung, tables, config, clock, logger }) => ({
      spend: new SpendGuard({ ledger: new DynamoSpendLedger(hung.doc, tables.spend), prices: new PriceTable({ overrides: config.prices }), clock, logger }),
    }),
    key: KEYS.capped,
    expected: { status: 503, code: 'budget_unavailable' },
    boundMs: DYNAMO_CALL_MS,
  },
  {
    name: 'spend ledger with budget_fail_open: 200 uncapped',
    hung: ({ hung, tables, config, clock, logger }) => ({
      spend: new SpendGuard({ ledger: new DynamoSpendLedger(hung.doc, tables.spend), prices: new PriceTable({ overrides: config.prices }), clock, logger }),
    }),
    key: KEYS.open,
    expected: { status: 200 },
    boundMs: DYNAMO_CALL_MS,
  },
  {
    name: 'rate-limit counters: 200, let through',
    hung: ({ hung, tables, clock, logger }) => ({ rateLimiter: new FleetRateLimiter({ doc: hung.doc, tableName: tables.rateLimits, logger, clock }) }),
    key: KEYS.limited,
    expected: { status: 200 },
    boundMs: DYNAMO_CALL_MS,
  },
  {
    name: 'response cache: 200, a miss',
    hung: ({ hung, tables, clock, logger }) => ({ cache: new ResponseCache({ doc: hung.doc, tableName: tables.cache, clock, logger }) }),
    key: KEYS.cached,
    expected: { status: 200 },
    boundMs: DYNAMO_CALL_MS,
  },
  {
    name: 'breaker store: 200 on the in-container breaker',
    hung: ({ hung, tables, clock, logger }) => ({
      breakers: new CircuitBreakers({ store: new DynamoBreakerStore(hung.doc, tables.breakers), clock, logger }),
    }),
    key: KEYS.plain,
    expected: { status: 200 },
    boundMs: DYNAMO_CALL_MS,
  },
];

describe('gateway integration: a store that accepts connections and never answers (20 concurrent requests per service)', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let hungStore: HungStore;
  const hungClients: DynamoClients[] = [];
  const gateways: StatefulGateway[] = [];
  /** The slowest request of each case, for the report. */
  const slowest: Record<string, number> = {};

  const config = (settings: Record<string, unknown> = {}): BreakwaterConfigInput => ({
    providers: { upstream: openaiProvider(mock) },
    routes: {
      main: { strategy: { mode: 'single' }, retry: fastRetry(0), targets: [{ provider: 'upstream', override_params: { model: MODEL } }] },
      cached: {
        strategy: { mode: 'single' },
        retry: fastRetry(0),
        cache: { mode: 'simple', max_age: 3600 },
        targets: [{ provider: 'upstream', override_params: { model: MODEL } }],
      },
    },
    tenants: {
      plain: { route: 'main', keys: [KEYS.plain] },
      capped: { route: 'main', keys: [KEYS.capped], daily_budget_usd: 100 },
      open: { route: 'main', keys: [KEYS.open], daily_budget_usd: 100, budget_fail_open: true },
      limited: { route: 'main', keys: [KEYS.limited], rpm_limit: 100_000, tpm_limit: 100_000_000 },
      cached: { route: 'cached', keys: [KEYS.cached] },
    },
    prices: PRICES,
    settings: testSettings(settings),
  });

  /** A gateway whose named services talk to the hung store. */
  async function gatewayWith(
    hung: Case['hung'],
    extra: { secrets?: SecretsManagerSource; settings?: Record<string, unknown> } = {},
  ): Promise<StatefulGateway> {
    const clients = createDynamoClients({ endpoint: hungStore.endpoint });
    hungClients.push(clients);
    const gateway = await startStatefulGateway({
      config: config(extra.settings),
      dynamo,
      ...(extra.secrets ? { secrets: extra.secrets } : {}),
      overrideServices: (built, context) => ({ ...built, ...hung({ ...context, hung: clients, built }) }),
    });
    gateways.push(gateway);
    return gateway;
  }

  /** `count` requests at once; each one's status, code and wall time. */
  async function concurrently(count: number, send: (i: number) => Promise<RawResponse>) {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const started = performance.now();
        const response = await send(i);
        return { response, ms: performance.now() - started };
      }),
    );
  }

  function assertBounded(
    name: string,
    results: Array<{ response: RawResponse; ms: number }>,
    expected: Expected,
    boundMs: number,
    marginMs = MARGIN_MS,
  ) {
    const max = Math.max(...results.map((result) => result.ms));
    slowest[name] = Math.round(max);
    for (const { response, ms } of results) {
      assert.equal(response.status, expected.status, `${name}: ${response.text.slice(0, 300)}`);
      if (expected.code) assert.equal((response.json as { error?: { code?: string } })?.error?.code, expected.code, response.text);
      assert.ok(ms <= boundMs + marginMs, `${name}: a request took ${Math.round(ms)} ms, past the bound's ${boundMs} ms + ${marginMs} ms`);
    }
  }

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    hungStore = await startHungStore();
  });

  after(async () => {
    for (const gateway of gateways) await gateway.close();
    for (const clients of hungClients) clients.client.destroy();
    await hungStore?.close();
    await mock?.close();
    await dynamo?.stop();
    console.log(`hung store: slowest request per case (ms): ${JSON.stringify(slowest)}`);
  });

  for (const stream of [false, true]) {
    for (const testCase of CHAT_CASES) {
      it(`guarantee: ${stream ? 'streamed' : 'buffered'}: ${testCase.name}, every request within ${testCase.boundMs} ms + margin`, { timeout: TEST_TIMEOUT_MS }, async () => {
        mock.reset();
        if (stream) mock.setDefault({ sse: openAiStreamFrames({ text: ['hel', 'lo'], model: MODEL }) });
        const gateway = await gatewayWith(testCase.hung);
        const connectionsBefore = hungStore.connections;
        const results = await concurrently(CONCURRENCY, (i) =>
          raw(`${gateway.url}/v1/chat/completions`, {
            body: { model: 'client-model', messages: hello, max_tokens: 10, ...(stream ? { stream: true } : {}) },
            auth: testCase.key,
            headers: testCase.idempotent ? { 'idempotency-key': `hung-${stream}-${i}-${Date.now()}` } : {},
          }),
        );
        assertBounded(`${stream ? 'stream' : 'buffered'}: ${testCase.name}`, results, testCase.expected, testCase.boundMs);
        if (testCase.expected.status === 200 && stream) {
          for (const { response } of results) assert.match(response.text, /data: \[DONE\]/, 'the stream ran to its end');
        }
        assert.ok(hungStore.connections > connectionsBefore, 'the service did call the hung store');
      });
    }
  }

  it('guarantee: Secrets Manager hangs: the target is unavailable, 503 all_targets_failed within 2 s + margin', { timeout: TEST_TIMEOUT_MS }, async () => {
    mock.reset();
    const client = createSecretsManagerClient({ endpoint: hungStore.endpoint });
    try {
      const gateway = await gatewayWith(() => ({}), { secrets: new SecretsManagerSource({ client }) });
      const connectionsBefore = hungStore.connections;
      const results = await concurrently(CONCURRENCY, () =>
        raw(`${gateway.url}/v1/chat/completions`, { body: { model: 'client-model', messages: hello }, auth: KEYS.plain }),
      );
      assertBounded('secrets', results, { status: 503, code: 'all_targets_failed' }, SECRETS_MANAGER_TIMEOUTS.callTimeoutMs);
      assert.equal(mock.requests.length, 0, 'no credential, no upstream call');
      assert.ok(hungStore.connections > connectionsBefore, 'the secret was asked of the hung store');
    } finally {
      client.destroy();
    }
  });

  it("guarantee: a store call ends by the request's deadline: max_request_ms 800 and a hung breaker store give 504 deadline_exceeded by 800 ms + 500 ms", { timeout: TEST_TIMEOUT_MS }, async () => {
    mock.reset();
    // An upstream slower than the deadline: whatever time the store leaves, the answer is a 504.
    mock.setDefault({ delayMs: 2_000 });
    const deadlineMs = 800;
    const gateway = await gatewayWith(CHAT_CASES.find((c) => c.name.startsWith('breaker store'))!.hung, { settings: { max_request_ms: deadlineMs } });
    const results = await concurrently(CONCURRENCY, () =>
      raw(`${gateway.url}/v1/chat/completions`, { body: { model: 'client-model', messages: hello }, auth: KEYS.plain }),
    );
    // Tighter than the store's own 2 s bound: only the deadline can have ended the breaker read.
    assertBounded('deadline', results, { status: 504, code: 'deadline_exceeded' }, deadlineMs, 500);
  });

  const taskBody = { request: { model: MODEL, messages: hello } };
  const queueUrls = { high: 'http://sqs.local/000000000000/high', normal: 'http://sqs.local/000000000000/normal' };

  it(`guarantee: the task queue hangs: POST /v1/tasks is 503 task_queue_unavailable within ${SQS_CALL_MS} ms + margin`, { timeout: TEST_TIMEOUT_MS }, async () => {
    const sqs = createSqsClient({ endpoint: hungStore.endpoint });
    try {
      const gateway = await gatewayWith(({ clients, tables, clock, logger }) => ({
        tasks: new TaskService({ store: new DynamoTaskStore(clients.doc, tables.tasks), queue: new SqsTaskQueue(sqs, queueUrls), clock, logger }),
      }));
      const results = await concurrently(CONCURRENCY, () => raw(`${gateway.url}/v1/tasks`, { body: taskBody, auth: KEYS.plain }));
      assertBounded('task queue', results, { status: 503, code: 'task_queue_unavailable' }, SQS_CALL_MS);
    } finally {
      sqs.destroy();
    }
  });

  it(`guarantee: the task store hangs: POST /v1/tasks is 503 task_queue_unavailable within ${DYNAMO_CALL_MS} ms + margin`, { timeout: TEST_TIMEOUT_MS }, async () => {
    let sends = 0;
    const gateway = await gatewayWith(({ hung, tables, clock, logger }) => ({
      tasks: new TaskService({
        store: new DynamoTaskStore(hung.doc, tables.tasks),
        queue: { send: async () => void sends++ },
        clock,
        logger,
      }),
    }));
    const results = await concurrently(CONCURRENCY, () => raw(`${gateway.url}/v1/tasks`, { body: taskBody, auth: KEYS.plain }));
    assertBounded('task store', results, { status: 503, code: 'task_queue_unavailable' }, DYNAMO_CALL_MS);
    assert.equal(sends, 0, 'nothing enqueued for a task that was not stored');
  });

  for (const [method, path] of [
    ['GET', '/v1/tasks'],
    ['GET', `/v1/tasks/${randomTaskId()}`],
    ['DELETE', `/v1/tasks/${randomTaskId()}`],
  ] as const) {
    it(`guarantee: the task store hangs: ${method} ${path.replace(/task_\w+/, '{id}')} is 503 task_queue_unavailable (Retry-After) within ${DYNAMO_CALL_MS} ms + margin, not a 500`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const gateway = await gatewayWith(({ hung, tables, clock, logger }) => ({
        tasks: new TaskService({ store: new DynamoTaskStore(hung.doc, tables.tasks), queue: { send: async () => undefined }, clock, logger }),
      }));
      const connectionsBefore = hungStore.connections;
      const results = await concurrently(CONCURRENCY, () => raw(`${gateway.url}${path}`, { method, auth: KEYS.plain }));
      assertBounded(`task store: ${method} ${path}`, results, { status: 503, code: 'task_queue_unavailable' }, DYNAMO_CALL_MS);
      for (const { response } of results) assert.equal(response.headers.get('retry-after'), '1');
      assert.ok(hungStore.connections > connectionsBefore, 'the task store was asked');
    });
  }

  // Before these were bounded by the request's deadline, both waited out the store's own 2 s bound.
  const shortDeadlineCases = [
    { name: 'key store', hung: CHAT_CASES.find((c) => c.name.startsWith('key store'))!.hung, idempotent: false, code: 'auth_unavailable' },
    { name: 'idempotency store', hung: CHAT_CASES.find((c) => c.name.startsWith('idempotency store'))!.hung, idempotent: true, code: 'idempotency_unavailable' },
  ];
  for (const testCase of shortDeadlineCases) {
    it(`guarantee: the ${testCase.name} hangs and max_request_ms is 800: 503 ${testCase.code} by 800 ms + 500 ms, the upstream never called`, { timeout: TEST_TIMEOUT_MS }, async () => {
      mock.reset();
      const deadlineMs = 800;
      const gateway = await gatewayWith(testCase.hung, { settings: { max_request_ms: deadlineMs } });
      const results = await concurrently(CONCURRENCY, (i) =>
        raw(`${gateway.url}/v1/chat/completions`, {
          body: { model: 'client-model', messages: hello },
          auth: KEYS.plain,
          headers: testCase.idempotent ? { 'idempotency-key': `hung-deadline-${i}-${Date.now()}` } : {},
        }),
      );
      // Tighter than the store's own 2 s bound: only the request's deadline can have ended the wait.
      assertBounded(`deadline: ${testCase.name}`, results, { status: 503, code: testCase.code }, deadlineMs, 500);
      assert.equal(mock.requests.length, 0, 'nothing ran upstream');
    });
  }

  it('guarantee: once the calls have ended, the gateway holds no connection to the hung store', async () => {
    const deadline = Date.now() + 2_000;
    while (hungStore.open > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(hungStore.open, 0, `${hungStore.open} sockets still open to the hung store`);
  });
});
