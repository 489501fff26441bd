import { startLocalSqs, type LocalSqs } from '../../bin/local/localSqs';
import type { BreakwaterConfigInput } from '../../shared/config';
import { createServices } from '../../shared/gateway/createServices';
import { capturingLogger, type CapturedLogs } from '../support/capturingLogger';
import { startDynamoLocal, type DynamoLocal } from '../support/dynamoLocal';
import { fastRetry, hello, openaiProvider, testSettings } from '../support/e2eHarness';
import { startMockUpstream, type MockUpstream } from '../support/mockUpstream';
import { offsetClock, type OffsetClock } from '../support/offsetClock';
import { startStatefulGateway, type StatefulGateway } from '../support/startStatefulGateway';
import { startMockToolServer, type MockToolServer } from '../support/toolServers/mockToolServer';

/** Fake keys: an admin (the `ops` tenant's config key has `"role": "admin"`), a user, and a capped tenant's. */
export const CONSOLE_KEYS = {
  ADMIN: 'bw_test_console_admin_000000000001',
  USER: 'bw_test_console_user_0000000000001',
  CAPPED: 'bw_test_console_capped_00000000001',
} as const;

export const PRIMARY_MODEL = 'model-primary';
export const BACKUP_MODEL = 'model-backup';
/** $100 per million tokens in, $2,000 out: the mock's 5 + 4 tokens cost $0.0085 a request. */
const PRICE = { input: 100, output: 2_000, cache_read: 100, cache_write: 100, max_output_tokens: 100 };

export const chatBody = { model: 'any', messages: hello, max_tokens: 10 };

export interface ConsoleStack {
  dynamo: DynamoLocal;
  upstream: MockUpstream;
  toolApi: MockToolServer;
  queues: LocalSqs;
  gateway: StatefulGateway;
  logs: CapturedLogs;
  clock: OffsetClock;
  /** The breaker keys of the route's two targets (`provider|model|base_url`). */
  targetKeys: { primary: string; backup: string };
  /** `fetch` on the gateway with a key. */
  call(path: string, key: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  close(): Promise<void>;
}

/**
 * A whole gateway for the console's tests: the real Lambda handler behind the local API Gateway
 * server, every fleet-wide service on DynamoDB Local, the task queues and their DLQ on in-process
 * fauxqs, a scripted OpenAI-compatible upstream (a fallback route over two models) and a tool API
 * whose refunds above $100 need a person's approval. Every log line is captured (the audit lines).
 */
export async function startConsoleStack(): Promise<ConsoleStack> {
  // Noon UTC of a coming day: no test straddles midnight, when the spend ledger's day changes.
  const clock = offsetClock();
  const DAY_MS = 86_400_000;
  clock.jumpTo(Math.ceil((Date.now() - DAY_MS / 2) / DAY_MS) * DAY_MS + DAY_MS / 2);
  const [dynamo, upstream, toolApi, queues] = await Promise.all([startDynamoLocal(), startMockUpstream(), startMockToolServer(), startLocalSqs({ env: {}, prefix: `console-${Date.now().toString(36)}` })]);
  const logs = capturingLogger({ logLevel: 'INFO' });
  const config: BreakwaterConfigInput = {
    providers: { upstream: openaiProvider(upstream) },
    routes: {
      main: {
        strategy: { mode: 'fallback' },
        retry: fastRetry(0),
        targets: [
          { provider: 'upstream', override_params: { model: PRIMARY_MODEL } },
          { provider: 'upstream', override_params: { model: BACKUP_MODEL } },
        ],
      },
    },
    services: {
      pay: { base_url: toolApi.url, high_stakes: [{ method: 'POST', path: '/v1/refunds', amount_field: 'amount', threshold: 10_000 }] },
    },
    tenants: {
      ops: { route: 'main', keys: [CONSOLE_KEYS.ADMIN], role: 'admin' },
      acme: { route: 'main', keys: [CONSOLE_KEYS.USER] },
      capped: { route: 'main', keys: [CONSOLE_KEYS.CAPPED], daily_budget_usd: 1, monthly_budget_usd: 20 },
    },
    prices: { [PRIMARY_MODEL]: PRICE, [BACKUP_MODEL]: PRICE },
    settings: testSettings(),
  } as BreakwaterConfigInput;
  const gateway = await startStatefulGateway({
    config,
    dynamo,
    clock,
    logger: logs.logger,
    // The services the handler builds when it has queues, with the DLQ, and breaker reads trusted
    // for 1 ms so a forced state is seen by the very next request.
    overrideServices: (_built, context) =>
      createServices({
        dynamo: context.clients,
        tables: context.tables,
        config: context.config,
        clock: context.clock,
        logger: context.logger,
        breakerCacheTtlMs: 1,
        queues: { sqs: queues.sqs, urls: { high: queues.queues.high.url, normal: queues.queues.normal.url }, dlqUrls: [queues.queues.dlq.url] },
      }),
  });
  const where = upstream.baseUrl;
  return {
    dynamo,
    upstream,
    toolApi,
    queues,
    gateway,
    logs,
    clock,
    targetKeys: { primary: `upstream|${PRIMARY_MODEL}|${where}`, backup: `upstream|${BACKUP_MODEL}|${where}` },
    async call(path, key, init = {}) {
      const body = init.body === undefined ? undefined : JSON.stringify(init.body);
      const response = await fetch(`${gateway.url}${path}`, {
        method: init.method ?? (body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body,
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, json, text };
    },
    async close() {
      await gateway.close();
      await Promise.all([upstream.close(), toolApi.close(), queues.close()]);
      await dynamo.stop();
    },
  };
}
