import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BreakwaterConfigInput } from '../../../shared/config';
import { DYNAMO_TIMEOUTS } from '../../../shared/stores/dynamo/createClients';
import { startDynamoLocal, type DynamoLocal } from '../../support/dynamoLocal';
import { fastRetry, hello, openaiProvider, raw, testSettings, type RawResponse } from '../../support/e2eHarness';
import { openAiStreamFrames, startMockUpstream, type MockUpstream } from '../../support/mockUpstream';
import { startStatefulGateway, type StatefulGateway } from '../../support/startStatefulGateway';

/*
 * The real thing frozen: AWS's DynamoDB Local (a child process) gets SIGSTOP while requests of
 * every kind are in flight against a gateway whose every fleet-wide service lives on it. The
 * kernel still accepts connections for the frozen process; nothing answers. Every request ends
 * within one store call's bound plus a margin, with each feature's documented answer, and
 * after SIGCONT the gateway serves normally again.
 */

const DYNAMO_CALL_MS = DYNAMO_TIMEOUTS.callTimeoutMs;
const MARGIN_MS = 1_500;
const PER_KIND = 4;

const MODEL = 'priced-model';
const PRICES = { [MODEL]: { input: 1, output: 2, cache_read: 1, cache_write: 1, max_output_tokens: 100 } };
const KEYS = {
  plain: 'bw_test_frozen_plain_0001_xxxxxx',
  capped: 'bw_test_frozen_capped_001_xxxxxx',
  open: 'bw_test_frozen_open_00001_xxxxxx',
  limited: 'bw_test_frozen_limited_01_xxxxxx',
  cached: 'bw_test_frozen_cached_001_xxxxxx',
} as const;

interface Kind {
  name: string;
  key: () => string;
  headers?: (i: number) => Record<string, string>;
  expected: { status: number; code?: string };
}

describe('gateway integration: DynamoDB Local frozen with SIGSTOP under concurrent requests', () => {
  let dynamo: DynamoLocal;
  let mock: MockUpstream;
  let gateway: StatefulGateway;
  /** Made before each freeze, never used before it: its look-up must go to the frozen store. */
  let coldKey: string;
  let frozen = false;

  const config = (): BreakwaterConfigInput => ({
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
    settings: testSettings(),
  });

  const chat = (key: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
    raw(`${gateway.url}/v1/chat/completions`, {
      body: { model: 'client-model', messages: hello, max_tokens: 10, ...extra },
      auth: key,
      headers,
    });

  const freeze = () => {
    process.kill(dynamo.pid, 'SIGSTOP');
    frozen = true;
  };
  const thaw = () => {
    if (frozen) process.kill(dynamo.pid, 'SIGCONT');
    frozen = false;
  };

  before(async () => {
    dynamo = await startDynamoLocal();
    mock = await startMockUpstream();
    gateway = await startStatefulGateway({ config: config(), dynamo });
  });

  after(async () => {
    thaw();
    await gateway?.close();
    await mock?.close();
    await dynamo?.stop();
  });

  const kinds: Kind[] = [
    { name: 'cold key: 503 auth_unavailable', key: () => coldKey, expected: { status: 503, code: 'auth_unavailable' } },
    {
      name: 'Idempotency-Key: 503 idempotency_unavailable',
      key: () => KEYS.plain,
      headers: (i) => ({ 'idempotency-key': `frozen-${i}-${Date.now()}` }),
      expected: { status: 503, code: 'idempotency_unavailable' },
    },
    { name: 'daily cap: 503 budget_unavailable', key: () => KEYS.capped, expected: { status: 503, code: 'budget_unavailable' } },
    { name: 'daily cap with budget_fail_open: 200', key: () => KEYS.open, expected: { status: 200 } },
    { name: 'rpm and tpm limits: 200, let through', key: () => KEYS.limited, expected: { status: 200 } },
    { name: 'cached route: 200, a miss', key: () => KEYS.cached, expected: { status: 200 } },
    { name: 'no caps (breakers only): 200 on the in-container breaker', key: () => KEYS.plain, expected: { status: 200 } },
  ];

  for (const stream of [false, true]) {
    it(
      `guarantee: ${stream ? 'streamed' : 'buffered'}: ${kinds.length * PER_KIND} concurrent requests of every kind end within ${DYNAMO_CALL_MS} ms + ${MARGIN_MS} ms with the documented answer; after SIGCONT they are served again`,
      { timeout: 60_000 },
      async () => {
        // Warm keys (cached per container) so each request meets the feature it is about; the
        // cold key stays cold. Breaker reads are trusted for a second: wait that out too.
        for (const key of Object.values(KEYS)) assert.equal((await chat(key)).status, 200);
        coldKey = (await gateway.keys.create({ tenant: 'plain' })).key;
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        mock.setDefault(stream ? { sse: openAiStreamFrames({ text: ['hel', 'lo'], model: MODEL }) } : {});

        freeze();
        let results: Array<{ kind: Kind; response: RawResponse; ms: number }>;
        try {
          results = await Promise.all(
            kinds.flatMap((kind) =>
              Array.from({ length: PER_KIND }, async (_, i) => {
                const started = performance.now();
                const response = await chat(kind.key(), kind.headers?.(i) ?? {}, stream ? { stream: true } : {});
                return { kind, response, ms: performance.now() - started };
              }),
            ),
          );
        } finally {
          thaw();
        }

        const slowest = Math.max(...results.map((result) => result.ms));
        console.log(`frozen DynamoDB Local (${stream ? 'streamed' : 'buffered'}): ${results.length} requests, slowest ${Math.round(slowest)} ms`);
        for (const { kind, response, ms } of results) {
          assert.equal(response.status, kind.expected.status, `${kind.name}: ${response.text.slice(0, 300)}`);
          if (kind.expected.code) assert.equal((response.json as { error?: { code?: string } }).error?.code, kind.expected.code, response.text);
          if (stream && kind.expected.status === 200) assert.match(response.text, /data: \[DONE\]/);
          assert.ok(ms <= DYNAMO_CALL_MS + MARGIN_MS, `${kind.name}: ${Math.round(ms)} ms, past ${DYNAMO_CALL_MS} ms + ${MARGIN_MS} ms`);
        }

        // Thawed: the fail-closed features answer again (the cold key included).
        mock.setDefault({});
        for (const key of [coldKey, KEYS.capped]) {
          const response = await chat(key);
          assert.equal(response.status, 200, response.text);
        }
      },
    );
  }
});
